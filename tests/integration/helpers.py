"""Helpers of the integration tests: mapping files for each way of authenticating, and running
the osaccess command line against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.integration.conftest import ROOT, Sandbox, admin

ALICE = "arn:aws:iam::111111111111:user/alice"
ANALYTICS = "arn:aws:iam::222222222222:role/analytics"
SSO = (
    "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
    "AWSReservedSSO_Admin_0123456789abcdef"
)
MASTER = "arn:aws:iam::111111111111:role/sandbox-master"
MODES = ["basic", "sigv4-master", "sigv4-assumed"]


def cluster_block(sandbox: Sandbox, mode: str) -> str:
    if mode == "basic":
        return (
            f"cluster:\n  endpoint: {sandbox.node_url}\n  auth: basic\n"
            f"  username: {sandbox.username}\n  ca_certs: {sandbox.ca_certs}\n"
        )
    block = (
        f"cluster:\n  endpoint: {sandbox.gateway_url}\n  auth: aws\n  region: eu-west-1\n"
        f"  ca_certs: {sandbox.ca_certs}\n"
    )
    if mode == "sigv4-assumed":
        block += f"  assume_role: {MASTER}\n  external_id: osaccess-test\n"
    return block


def env_for(sandbox: Sandbox, mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OSACCESS_"))}
    env.update(
        AWS_CONFIG_FILE=sandbox.aws_config_file,
        AWS_SHARED_CREDENTIALS_FILE=sandbox.aws_credentials_file,
        OSACCESS_PASSWORD=sandbox.password,
    )
    env["AWS_PROFILE"] = "sandbox-alice" if mode == "sigv4-assumed" else "sandbox-master"
    return env


def write(tmp_path: Path, sandbox: Sandbox, mode: str, roles_yaml: str) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(cluster_block(sandbox, mode) + "roles:\n" + roles_yaml, encoding="utf-8")
    return path


def run(
    sandbox: Sandbox, mode: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "osaccess", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or env_for(sandbox, mode),
        timeout=120,
    )


def live(sandbox: Sandbox, name: str) -> dict[str, Any] | None:
    response = admin(sandbox, "GET", f"/_plugins/_security/api/rolesmapping/{name}")
    return response.json()[name] if response.status_code == 200 else None
