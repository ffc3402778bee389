"""Errors carry their meaning: the documented tree is complete, exit codes are a lookup."""

from __future__ import annotations

import inspect

import pytest

from osaccess import errors


def error_classes() -> list[type[errors.OsaccessError]]:
    return [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.OsaccessError)
    ]


def test_the_docstring_shows_every_class_under_its_parent() -> None:
    doc = errors.__doc__ or ""
    lines = [line for line in doc.splitlines() if "─ " in line or line.startswith("Osaccess")]
    depth = {}
    for line in lines:
        name = line.split("─ ")[-1].split()[0] if "─ " in line else line.split()[0]
        depth[name] = (len(line) - len(line.lstrip("│ ├└─"))) if "─ " in line else 0
    for cls in error_classes():
        assert cls.__name__ in depth, f"{cls.__name__} is missing from the errors docstring"
        parent = cls.__mro__[1]
        if parent is not Exception:
            assert depth[parent.__name__] < depth[cls.__name__], cls.__name__


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.Refused("x"), 3),
        (errors.ConfigError("x"), 1),
        (errors.CredentialsError("x"), 1),
        (errors.Conflict("x"), 1),
        (ValueError("a bug"), 1),
    ],
)
def test_exit_codes_come_from_the_class(exc: BaseException, code: int) -> None:
    assert errors.exit_code(exc) == code


def test_credential_failures_have_their_own_class() -> None:
    assert issubclass(errors.CredentialsError, errors.ConfigError)
    assert errors.CredentialsError is not errors.ConfigError


def test_the_exit_code_docs_say_what_the_code_does() -> None:
    """A stale or altered plan is a safety refusal (exit 3), and only that."""
    from pathlib import Path

    table = (Path(__file__).resolve().parents[2] / "docs" / "exit-codes.md").read_text()
    rows = {
        line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")
    }
    assert "stale plan" in rows["3"] and "altered plan" in rows["3"]
    assert "stale" not in rows["1"] and "altered" not in rows["1"]
    assert errors.Refused.exit_code == 3


def test_every_known_difference_is_in_the_compatibility_table() -> None:
    from pathlib import Path

    from osaccess.cluster.compat import DIFFERENCES, applicable

    table = (Path(__file__).resolve().parents[2] / "docs" / "compatibility.md").read_text()
    for difference in DIFFERENCES:
        assert f"| `{difference.key}` |" in table, difference.key
    assert [d.key for d in applicable("2.11.1")] == ["empty-401", "no-op-patch-written"]
    assert [d.key for d in applicable("2.19.4")] == []
    assert [d.key for d in applicable("3.4.0")] == [
        "opendistro-deprecated",
        "blank-values-rejected",
    ]
    assert [d.key for d in applicable("1.3.20")] == ["legacy-rest-layer", "no-op-patch-written"]
