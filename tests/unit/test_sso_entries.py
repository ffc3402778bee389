"""`sso: PermissionSet` entries in a mapping file: what the loader takes and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from osaccess.file.loader import load
from osaccess.file.principals import SsoRef
from tests.unit.states import roles as roles_of

HEAD = "cluster:\n  endpoint: https://search-logs-abc.eu-west-1.es.amazonaws.com\nroles:\n"


def load_roles(tmp_path: Path, roles: str) -> tuple[list[str], object]:
    path = tmp_path / "f.yaml"
    path.write_text(HEAD + roles, encoding="utf-8")
    result = load(str(path))
    return [p.render() for p in result.errors], result


def test_sso_entries_are_kept_for_plan_time(tmp_path: Path) -> None:
    roles = (
        "  all_access:\n"
        "    - arn:aws:iam::111111111111:user/alice\n"
        "    - sso: AdminAccess\n"
        "  readall:\n"
        "    principals:\n"
        "      - {sso: ReadOnly, account: 222222222222}\n"
        "      - {sso: ReadOnly, account: '333333333333'}\n"
    )
    errors, result = load_roles(tmp_path, roles)
    assert errors == []
    file = result.file  # type: ignore[attr-defined]
    by_name = {r.name: r for r in roles_of(file)}
    assert by_name["all_access"].sso == (SsoRef("AdminAccess", None, f"{tmp_path}/f.yaml:6"),)
    assert by_name["all_access"].mapping.users == {"arn:aws:iam::111111111111:user/alice"}
    assert [r.account for r in by_name["readall"].sso] == ["222222222222", "333333333333"]
    assert by_name["readall"].mapping.backend_roles == frozenset()


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{account: '111111111111'}", "must name a permission set: {sso: Name}"),
        ("{sso: 'Admin Access'}", "sso 'Admin Access' is not a permission set name"),
        ("{sso: Admin, account: 1234}", "account '1234' is not a 12-digit AWS account id"),
        ("{sso: Admin, acount: '111111111111'}", "unknown key 'acount' in an sso entry"),
        ("{sso: [Admin]}", "sso must be a string"),
    ],
)
def test_bad_sso_entries_name_the_line(tmp_path: Path, entry: str, expected: str) -> None:
    errors, _ = load_roles(tmp_path, f"  all_access:\n    - {entry}\n")
    assert len(errors) == 1 and expected in errors[0], errors
    assert errors[0].startswith(f"{tmp_path}/f.yaml:5:")


def test_an_absent_role_with_an_sso_entry_is_refused(tmp_path: Path) -> None:
    roles = "  readall:\n    state: absent\n    principals: [{sso: ReadOnly}]\n"
    errors, _ = load_roles(tmp_path, roles)
    assert any("'absent' but lists principals" in e for e in errors), errors


def test_the_cluster_account_is_read_quoted_or_not(tmp_path: Path) -> None:
    for written in ("222222222222", "'222222222222'"):
        path = tmp_path / "c.yaml"
        path.write_text(
            f"cluster:\n  endpoint: https://x.example.com\n  account: {written}\n"
            "roles:\n  readall: [{sso: ReadOnly}]\n"
        )
        result = load(str(path))
        assert result.file is not None and result.file.cluster.account == "222222222222"
    path.write_text(
        "cluster:\n  endpoint: https://x.example.com\n  account: 42\nroles:\n  r: [{sso: A}]\n"
    )
    (error,) = [p.render() for p in load(str(path)).errors]
    assert "cluster.account '42' is not a 12-digit AWS account id" in error
    assert "account: '111111111111'" in error
