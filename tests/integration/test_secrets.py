"""No password, secret key, session token, signature or Authorization header ever appears in
any output, log, error, plan file or audit record — not even with --debug."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Sandbox
from tests.integration.helpers import ALICE, MODES, run, write

MARKERS = ("signature=", "authorization", "x-amz-security-token", "basic ", "fqogzxivyxdz")


@pytest.mark.parametrize("mode", MODES)
def test_no_command_shows_a_secret(
    sandbox: Sandbox, roles: list[str], tmp_path: Path, mode: str
) -> None:
    path = write(tmp_path, sandbox, mode, f"  {roles[0]}: [{ALICE}]\n")
    plan_file, audit = tmp_path / "plan.json", tmp_path / "audit.jsonl"
    commands = [
        ["validate", str(path), "--debug"],
        ["plan", str(path), "--debug"],
        ["plan", str(path), "--debug", "--format", "json", "--out", str(plan_file)],
        ["plan", str(path), "--debug", "--format", "markdown"],
        ["apply", "--plan", str(plan_file), "-y", "--debug", "--audit-log", str(audit)],
        ["apply", str(path), "-y", "--debug", "--audit-log", str(audit)],
        ["import", "-c", str(path), "--debug"],
        ["explain", ALICE, "-c", str(path), "--debug", "-f", "json"],
        ["explain", "--role", roles[0], "-c", str(path), "--debug"],
        ["whoami", "-c", str(path), "--debug"],
        ["doctor", str(path), "--debug"],
        # failures too: an unreachable cluster
        ["plan", str(path), "--debug", "--endpoint", "https://127.0.0.1:1"],
        ["whoami", "-c", str(path), "--debug", "--endpoint", "https://127.0.0.1:1"],
    ]
    seen = []
    for command in commands:
        result = run(sandbox, mode, *command)
        seen.append(result.stdout + result.stderr)
    assert "-> PATCH" in "".join(seen)  # --debug did log requests
    seen += [plan_file.read_text(), audit.read_text()]
    secrets = [sandbox.password] + [p.secret_access_key for p in sandbox.principals.principals]
    for text in seen:
        for secret in secrets:
            assert secret not in text
        for marker in MARKERS:
            assert marker not in text.lower(), marker


def test_a_wrong_password_is_not_echoed(sandbox: Sandbox, roles: list[str], tmp_path: Path) -> None:
    from tests.integration.helpers import env_for

    path = write(tmp_path, sandbox, "basic", f"  {roles[0]}: [{ALICE}]\n")
    env = env_for(sandbox, "basic") | {"OSACCESS_PASSWORD": "Not-The-Password-42"}
    result = run(sandbox, "basic", "plan", str(path), "--debug", env=env)
    assert result.returncode == 1
    assert "the cluster did not accept the credentials" in result.stderr
    assert "Not-The-Password-42" not in result.stdout + result.stderr
