"""The command line contract: exit codes, messages on stderr, no heavy imports offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


def osaccess(
    *args: str, env: dict[str, str | None] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run osaccess; ``env`` adds variables to this environment (None removes one)."""
    merged = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "osaccess", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={name: value for name, value in merged.items() if value is not None},
        input=stdin,
        timeout=60,
    )


def test_version_and_help() -> None:
    assert osaccess("--version").stdout.strip().startswith("osaccess ")
    help_text = osaccess("--help").stdout
    assert "Exit codes: 0 success" in help_text
    for command in ("validate", "plan", "apply"):
        assert command in help_text


def test_validate_ok_exits_0() -> None:
    result = osaccess("validate", "mappings/")
    assert result.returncode == 0, result.stderr
    assert "mappings/sandbox.yaml: OK (5 mapping(s)" in result.stderr


def test_validate_errors_exit_1_with_locations_and_no_traceback() -> None:
    result = osaccess("validate", str(DATA / "mistakes.yaml"))
    assert result.returncode == 1
    assert (
        "mistakes.yaml:17:21: error: 'arn:aws:iam::111111111111:user/bob' is an IAM user ARN"
        in result.stderr
    )
    assert "12 error(s); nothing was sent." in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_64() -> None:
    assert osaccess("plan", "--no-such-option").returncode == 64
    assert osaccess("plan", "--format", "yaml").returncode == 64


def test_plan_of_a_broken_file_sends_nothing(tmp_path: Path) -> None:
    # The endpoint is unroutable: had osaccess tried to connect, the error would say so.
    result = osaccess("plan", str(DATA / "mistakes.yaml"), "--endpoint", "https://192.0.2.1:9")
    assert result.returncode == 1
    assert "nothing was sent" in result.stderr
    assert "cannot connect" not in result.stderr


def test_apply_off_a_terminal_needs_yes() -> None:
    result = osaccess("apply", "mappings/", stdin="")
    assert result.returncode == 1
    assert "needs --yes" in result.stderr


@pytest.mark.parametrize("args", [["validate", "mappings/"], ["--help"], ["plan", "--help"]])
def test_validate_and_help_do_not_import_the_http_stack(args: list[str]) -> None:
    probe = (
        "import sys\n"
        "from osaccess.cli import main\n"
        f"sys.argv = ['osaccess', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('boto3', 'botocore', 'opensearchpy', 'requests') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "HEAVY []" in result.stderr, result.stderr


def test_serverless_endpoints_are_refused_with_an_explanation(tmp_path: Path) -> None:
    path = tmp_path / "serverless.yaml"
    path.write_text(
        "cluster:\n  endpoint: https://abc.eu-west-1.aoss.amazonaws.com\n"
        "roles:\n  readall: [arn:aws:iam::111111111111:user/a]\n"
    )
    result = osaccess(
        "plan",
        str(path),
        env={"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE000000000", "AWS_SECRET_ACCESS_KEY": "x"},
    )
    assert result.returncode == 1
    assert "OpenSearch Serverless collection, which has no security plugin" in result.stderr


def test_version_eras() -> None:
    from osaccess.doctor import era

    assert era("opensearch", "2.19.4") == "security REST API of 2.10 and later"
    assert era("opensearch", "2.9.0") == "legacy security REST layer (before 2.10)"
    assert era("elasticsearch", "7.10.2") == "Elasticsearch/OpenDistro: legacy _opendistro API"


@pytest.mark.parametrize("command", ["plan", "whoami"])
def test_every_command_takes_the_region_from_aws_region(command: str, tmp_path: Path) -> None:
    """Environment credentials and AWS_REGION (what `source .sandbox/env` gives) are enough."""
    path = tmp_path / "x.yaml"
    path.write_text(
        "cluster: {endpoint: https://search-x.example.com}\nroles: {r: [x]}\n".replace(
            "[x]", "{users: [x]}"
        )
    )
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
        "AWS_SECRET_ACCESS_KEY": "secret-example",
        "AWS_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_DEFAULT_REGION": None,
        "AWS_PROFILE": None,
    }
    args = [str(path)] if command == "plan" else ["-c", str(path)]
    result = osaccess(command, *args, "--endpoint", "https://127.0.0.1:1", env=env)
    assert "no AWS region" not in result.stderr
    assert "cannot connect" in result.stderr, result.stderr
    assert "secret-example" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["plan", "whoami"])
def test_without_any_region_the_hint_names_the_option(command: str, tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("cluster: {endpoint: https://search-x.example.com}\nroles: {r: {users: [x]}}\n")
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
        "AWS_SECRET_ACCESS_KEY": "secret-example",
        "AWS_REGION": "",
        "AWS_DEFAULT_REGION": None,
        "AWS_PROFILE": None,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    args = [str(path)] if command == "plan" else ["-c", str(path)]
    result = osaccess(command, *args, "--endpoint", "https://127.0.0.1:1", env=env)
    assert result.returncode == 1
    assert "error: " in result.stderr and "no AWS region for https://127.0.0.1:1" in result.stderr
    assert "hint: give --region" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_endpoint_on_the_command_line_is_refused_before_any_request() -> None:
    result = osaccess("whoami", "--endpoint", "https://search-x.eu-west-1.es.amazonaws.com ]")
    assert result.returncode == 1
    assert (
        "error: --endpoint 'https://search-x.eu-west-1.es.amazonaws.com ]' contains a space"
        in result.stderr
    )
    assert "hint: write it as https://host[:port]" in result.stderr
    assert "Traceback" not in result.stderr and "ValueError" not in result.stderr


def test_a_missing_ca_bundle_is_named_not_an_unexpected_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "cluster:\n  endpoint: https://127.0.0.1:1\n  auth: none\n  ca_certs: nothere.pem\n"
        "roles:\n  readall: {users: [x]}\n"
    )
    result = osaccess("plan", str(path), env={"OSACCESS_CA_CERTS": None})
    assert result.returncode == 1
    assert f"cluster.ca_certs: {tmp_path / 'nothere.pem'} is not a file" in result.stderr
    assert "unexpected" not in result.stderr


ANALYTICS = "arn:aws:iam::222222222222:role/analytics"
SANDBOX = "mappings/sandbox.yaml"


@pytest.mark.parametrize(
    ("action", "index", "verdict", "code"),
    [
        ("indices:data/read/search", "logs-app-1", "yes", 0),
        ("indices:data/write/index", "logs-app-1", "no", 4),
        ("indices:data/read/search", ".kibana", "depends", 5),  # the system-index settings
    ],
)
def test_can_i_answers_with_an_exit_code_of_its_own_for_no_and_depends(
    action: str, index: str, verdict: str, code: int
) -> None:
    asked = osaccess("can-i", ANALYTICS, action, index, "--from", "mappings/sandbox.yaml")
    assert asked.stdout.splitlines()[0] == verdict, asked.stdout + asked.stderr
    assert asked.returncode == code


def test_who_can_exits_0_when_someone_may_and_4_when_nobody_may() -> None:
    someone = osaccess("who-can", "indices:data/read/search", "logs-app-1", "--from", SANDBOX)
    assert someone.returncode == 0, someone.stderr
    # the security index refuses writes whatever the roles (all_access included)
    nobody = osaccess(
        "who-can", "indices:data/write/index", ".opendistro_security", "--from", SANDBOX
    )
    assert nobody.stdout.startswith("nobody known to"), nobody.stdout + nobody.stderr
    assert nobody.returncode == 4


@pytest.mark.parametrize(
    "command",
    [
        ["can-i", ANALYTICS, "indices:data/read/search", "logs"],
        ["who-can", "indices:data/read/search", "logs"],
        ["explain", ANALYTICS],
        ["test", "--offline", "mappings/sandbox.yaml"],
    ],
)
def test_commands_refuse_a_format_they_do_not_render(command: list[str]) -> None:
    extra = [] if command[0] == "test" else ["--from", "mappings/sandbox.yaml"]
    asked = osaccess(*command, *extra, "--format", "markdown")
    assert asked.returncode == 64
    assert "'markdown' is not one of 'text', 'json'" in asked.stderr
    assert asked.stdout == ""
