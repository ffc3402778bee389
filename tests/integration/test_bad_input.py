"""Broken mapping files, tried for real: a clear message naming file and line, a non-zero exit,
no traceback, and not one request to the cluster (the endpoint is a proxy that counts)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Sandbox
from tests.integration.helpers import run
from tests.integration.proxy import FaultProxy, Forward

GOOD_HEAD = "cluster:\n  endpoint: https://127.0.0.1:9200\n  auth: basic\n  username: admin\n"


def _alias_bomb(path: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    path.write_text("\n".join(lines) + "\ncluster: *a8\n")


def _huge(path: Path) -> None:
    with path.open("w") as handle:
        handle.write(GOOD_HEAD + "roles:\n  r:\n    users:\n")
        line = "      - " + "x" * 90 + "\n"
        handle.write(line * (50 * 1024 * 1024 // len(line)))


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "malformed-yaml": (lambda p: p.write_text(GOOD_HEAD + "roles: [\n  r: x\n"), ":"),
    "tabs": (
        lambda p: p.write_text(GOOD_HEAD + "roles:\n\treadall: [x]\n"),
        ":6:1: error: invalid YAML",
    ),
    "duplicate-keys": (
        lambda p: p.write_text(
            GOOD_HEAD + "roles:\n  r: [arn:aws:iam::111111111111:user/a]\n"
            "  r: [arn:aws:iam::111111111111:user/b]\n"
        ),
        ":7:3: error: duplicate key",
    ),
    "unknown-keys": (
        lambda p: p.write_text(GOOD_HEAD + "roles:\n  r:\n    user: [a]\n"),
        ":7:5: error: unknown key 'user'",
    ),
    "wrong-types": (
        lambda p: p.write_text(GOOD_HEAD + "roles:\n  r:\n    users: 42\n"),
        ":7:12: error: users must be a list",
    ),
    "alias-bomb": (_alias_bomb, ":1:1: error: the document expands"),
    "fifty-megabytes": (_huge, "limited to 5 MiB"),
    "not-utf8": (
        lambda p: p.write_bytes(GOOD_HEAD.encode() + b"roles:\n  r: [\xff\xfe]\n"),
        ":6:0: error: the file is not UTF-8",
    ),
    "empty": (lambda p: p.write_text(""), "error: the file is empty"),
    "very-long-arn": (
        lambda p: p.write_text(
            GOOD_HEAD + "roles:\n  r: [arn:aws:iam::111111111111:user/" + "a" * 5000 + "]\n"
        ),
        ":6:7: error: a value of 5031 characters",
    ),
    "control-characters": (
        lambda p: p.write_text(
            GOOD_HEAD + 'roles:\n  r: ["arn:aws:iam::111111111111:user/a\\u0000b"]\n'
        ),
        "contains control characters",
    ),
    "star-in-principals": (
        lambda p: p.write_text(GOOD_HEAD + "roles:\n  r: ['*']\n"),
        ":6:7: error: '*' is not an IAM ARN",
    ),
    "hostile-arn": (
        lambda p: p.write_text(
            GOOD_HEAD + 'roles:\n  r: [\'arn:aws:iam::111111111111:role/x"},{"op":"remove"\']\n'
        ),
        "malformed or unsupported ARN",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_file_is_refused_before_any_request(
    sandbox: Sandbox, tmp_path: Path, case: str
) -> None:
    make, expected = CASES[case]
    path = tmp_path / f"{case}.yaml"
    make(path)
    with FaultProxy(sandbox.node_url, sandbox.ca_certs, lambda m, p: Forward()) as proxy:
        for command in ("validate", "plan", "apply"):
            args = [command, str(path)]
            if command != "validate":
                args += (
                    ["--endpoint", proxy.url, "--yes"]
                    if command == "apply"
                    else ["--endpoint", proxy.url]
                )
            result = run(sandbox, "basic", *args)
            assert result.returncode == 1, (command, result.stderr[-500:])
            assert str(path) in result.stderr
            assert expected in result.stderr, (command, result.stderr[-800:])
            assert "Traceback" not in result.stderr
    assert proxy.seen == []


def test_a_directory_without_mapping_files(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("no yaml here")
    with FaultProxy(sandbox.node_url, sandbox.ca_certs, lambda m, p: Forward()) as proxy:
        result = run(sandbox, "basic", "plan", str(tmp_path), "--endpoint", proxy.url)
    assert result.returncode == 1
    assert (
        f"{tmp_path}:0:0: error: no mapping files (*.yaml, *.yml) in this directory"
        in result.stderr
    )
    assert proxy.seen == []
