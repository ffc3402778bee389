"""Integration tests run against the local sandbox (`make sandbox`), a real OpenSearch node."""

from __future__ import annotations

import fcntl
import os
import shlex
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from sandbox.principals import PrincipalTable, load_principals

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Sandbox:
    node_url: str
    gateway_url: str
    sts_url: str
    ca_certs: str
    username: str
    password: str
    aws_config_file: str
    aws_credentials_file: str
    principals: PrincipalTable


# where scripts/sandbox.sh keeps the sandbox (OSACCESS_SANDBOX_STATE, as for the script)
STATE = Path(os.environ.get("OSACCESS_SANDBOX_STATE", ROOT / ".sandbox"))


def _read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            values[name] = shlex.split(value)[0] if value else ""
    return values


def running_version() -> tuple[int, int, int]:
    """The OpenSearch version of the sandbox the tests run against."""
    from osaccess.cluster.compat import parse

    version = _read_env(STATE / "env").get("OSACCESS_SANDBOX_VERSION", "")
    return parse(version) or (0, 0, 0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """@pytest.mark.opensearch(since="2.16", until="3.0", reason=...): a test of behaviour that
    only some versions have. On the others it is skipped, saying why (shown by -ra), never
    silently."""
    from osaccess.cluster.compat import parse

    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.integration)
    if not (STATE / "env").exists():
        return
    version = running_version()
    for item in items:
        marker = item.get_closest_marker("opensearch")
        if marker is None:
            continue
        since = parse(marker.kwargs.get("since", "0"))
        until = parse(marker.kwargs.get("until", "999"))
        assert since is not None and until is not None
        if not since <= version < until:
            shown = ".".join(map(str, version))
            item.add_marker(
                pytest.mark.skip(
                    reason=f"OpenSearch {shown} does not have this behaviour "
                    f"(since {marker.kwargs.get('since', 'the start')}, until "
                    f"{marker.kwargs.get('until', 'now')}): {marker.kwargs.get('reason', '')}"
                )
            )


def sandbox_settings() -> dict[str, str]:
    """The environment that starts this same sandbox again (version, port, state)."""
    env = _read_env(STATE / "env")
    names = ("OSACCESS_SANDBOX_VERSION", "OSACCESS_SANDBOX_PORT", "OSACCESS_SANDBOX_STATE")
    return {name: env[name] for name in names if name in env}


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    env_file = STATE / "env"
    if not env_file.exists():
        pytest.fail("the sandbox is not set up: run `make sandbox` (make test does it for you)")
    env = _read_env(env_file)
    box = Sandbox(
        node_url=env["OSACCESS_SANDBOX_URL"],
        gateway_url=env["OSACCESS_GATEWAY_URL"],
        sts_url=env["OSACCESS_STS_URL"],
        ca_certs=env["OSACCESS_CA_CERTS"],
        username=env["OSACCESS_USERNAME"],
        password=env["OSACCESS_PASSWORD"],
        aws_config_file=env["AWS_CONFIG_FILE"],
        aws_credentials_file=env["AWS_SHARED_CREDENTIALS_FILE"],
        principals=load_principals(ROOT / "sandbox" / "principals.yml"),
    )
    try:
        requests.get(box.node_url, verify=box.ca_certs, timeout=5)
        requests.get(box.gateway_url, verify=box.ca_certs, timeout=5)
    except requests.RequestException as exc:
        pytest.fail(f"the sandbox does not answer ({exc}); run `make sandbox`")
    _reset_once_per_run(box)
    return box


def _reset_once_per_run(box: Sandbox) -> None:
    """Start from the sandbox's initial mappings, whatever the demo or a user applied before.

    Alone on the sandbox (the serial part, or a run without workers) this is one reset. Parallel
    workers reset once per run, before any of them runs an integration test: every worker takes
    a lock on its first integration test, and only the first to take it resets (a reset later
    would wipe the mappings another worker's test had just created).
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if "PYTEST_XDIST_WORKER" not in os.environ or run is None:
        reset_mappings(box)
        return
    done = STATE / f"reset-{run}"
    with (STATE / "reset.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                for stale in STATE.glob("reset-*"):
                    stale.unlink(missing_ok=True)
                reset_mappings(box)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def admin(box: Sandbox, method: str, path: str, body: object = None) -> requests.Response:
    """A request to the node as the sandbox's basic-auth admin (set-up and checks only). A write
    that meets another worker's write to the same security document (409) is sent again."""
    for attempt in range(8):
        response = requests.request(
            method,
            box.node_url + path,
            json=body,
            verify=box.ca_certs,
            auth=(box.username, box.password),
            timeout=30,
        )
        if response.status_code != 409 or method == "GET":
            return response
        time.sleep(0.1 * (attempt + 1))
    return response


def reset_mappings(box: Sandbox) -> None:
    """Put the role mappings back to the sandbox's initial ones (whatever the demo applied)."""
    initial = yaml.safe_load(
        (ROOT / "sandbox" / "opensearch-security" / "roles_mapping.yml").read_text("utf-8")
    )
    wanted = {
        name: body for name, body in initial.items() if name != "_meta" and not body.get("reserved")
    }
    current = admin(box, "GET", "/_plugins/_security/api/rolesmapping").json()
    ops: list[dict[str, object]] = [
        {"op": "remove", "path": f"/{name}"}
        for name, body in current.items()
        if name not in wanted and not body.get("reserved") and not body.get("hidden")
    ]
    for name, body in wanted.items():
        value = {
            k: body.get(k, []) for k in ("users", "backend_roles", "and_backend_roles", "hosts")
        }
        value["description"] = body.get("description", "")
        ops.append({"op": "add", "path": f"/{name}", "value": value})
    response = admin(box, "PATCH", "/_plugins/_security/api/rolesmapping", ops)
    assert response.status_code == 200, response.text


@pytest.fixture()
def aws_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Point boto3 at the sandbox's profiles, as `source .sandbox/env` does."""
    monkeypatch.setenv("AWS_CONFIG_FILE", sandbox.aws_config_file)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", sandbox.aws_credentials_file)
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return sandbox


@pytest.fixture()
def roles(sandbox: Sandbox) -> Iterator[list[str]]:
    """Three fresh roles on the cluster (mappings of them are removed afterwards)."""
    names = [f"it_{uuid.uuid4().hex[:8]}_{i}" for i in range(3)]
    for name in names:
        body = {"cluster_permissions": ["cluster_monitor"], "description": "integration test"}
        assert admin(sandbox, "PUT", f"/_plugins/_security/api/roles/{name}", body).ok
    yield names
    for name in names:
        admin(sandbox, "DELETE", f"/_plugins/_security/api/rolesmapping/{name}")
        admin(sandbox, "DELETE", f"/_plugins/_security/api/roles/{name}")
