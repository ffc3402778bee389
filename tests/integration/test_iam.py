"""IAM checks against the sandbox's local AWS endpoint (moto, seeded from principals.yml)."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import ROOT, Sandbox, admin
from tests.integration.helpers import ALICE, MASTER, SSO, run, write

MAPPINGS = "/_plugins/_security/api/rolesmapping"
WRONG_PATH = "arn:aws:iam::111111111111:role/AWSReservedSSO_Admin_0123456789abcdef"
WRONG_CASE = "arn:aws:iam::111111111111:user/Alice"
GHOST = "arn:aws:iam::111111111111:role/ghost"
OTHER_ACCOUNT = "arn:aws:iam::222222222222:role/analytics"


def principals_file(tmp_path: Path, sandbox: Sandbox, role: str) -> Path:
    values = [MASTER, ALICE, SSO, WRONG_PATH, WRONG_CASE, GHOST, OTHER_ACCOUNT]
    return write(tmp_path, sandbox, "sigv4-master", f"  {role}: [{', '.join(values)}]\n")


def test_validate_iam_says_which_principals_exist(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    result = run(
        sandbox,
        "sigv4-master",
        "validate",
        "--iam",
        str(principals_file(tmp_path, sandbox, roles[0])),
    )
    assert result.returncode == 1
    err = result.stderr
    assert (
        f"error: {WRONG_PATH}: no such role; a role named "
        f"AWSReservedSSO_Admin_0123456789abcdef exists under another path; use {SSO}" in err
    )
    assert f"error: {WRONG_CASE}: no such user; the name differs in case; use {ALICE}" in err
    assert f"error: {GHOST}: no such role in account 111111111111" in err
    assert (
        f"note: {OTHER_ACCOUNT}: not checked (the credentials belong to account 111111111111" in err
    )
    assert "IAM: 3 principal(s) exist exactly" in err


def test_plan_warns_of_missing_principals_and_orphans_and_only_reads(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    admin(
        sandbox,
        "PUT",
        f"{MAPPINGS}/{roles[1]}",
        {"users": ["arn:aws:iam::111111111111:user/departed"]},
    )
    path = principals_file(tmp_path, sandbox, roles[0])
    result = run(sandbox, "sigv4-master", "plan", str(path))
    assert result.returncode == 0, result.stderr
    assert f"warning: IAM: {GHOST}: no such role in account 111111111111" in result.stdout
    assert (
        f"warning: IAM: the mapping of '{roles[1]}' on the cluster names "
        "arn:aws:iam::111111111111:user/departed: no such user in account 111111111111 (an orphan)"
    ) in result.stdout
    assert f"warning: IAM: {OTHER_ACCOUNT}" not in result.stdout  # not checked is no warning
    doctor = run(sandbox, "sigv4-master", "doctor", str(path))
    assert "[FAIL] IAM principals: 4 principal(s) do not exist as written" in doctor.stdout


def test_the_aws_calls_of_a_plan_only_read(
    sandbox: Sandbox, roles: list[str], tmp_path: Path, aws_env: Sandbox, monkeypatch: object
) -> None:
    import boto3

    from osaccess import api

    calls: list[str] = []
    original = boto3.Session.client

    def recording(self: boto3.Session, service: str, *args: object, **kwargs: object) -> object:
        client = original(self, service, *args, **kwargs)
        client.meta.events.register(
            "before-call.*.*", lambda model, **_: calls.append(f"{service}:{model.name}")
        )
        return client

    monkeypatch.setattr(boto3.Session, "client", recording)  # type: ignore[attr-defined]
    monkeypatch.setenv("AWS_PROFILE", "sandbox-master")  # type: ignore[attr-defined]
    file = api.load(principals_file(tmp_path, sandbox, roles[0]))
    api.plan(file)
    assert calls, "the plan made no AWS call"
    readonly = ("Get", "List")
    assert all(c.split(":")[1].startswith(readonly) for c in calls), calls
    documented = (ROOT / "docs" / "iam-policy.md").read_text()
    for call in set(calls):
        assert f'"{call}"' in documented, f"{call} is not in docs/iam-policy.md"
