"""The audit configuration against the real node: plan, apply in one request, import, and an
empty plan after import; the node's document is restored afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import Sandbox, admin
from tests.integration.helpers import cluster_block, run

AUDIT = "/_plugins/_security/api/audit"


@pytest.fixture()
def original(sandbox: Sandbox) -> Iterator[dict[str, Any]]:
    """A known starting point (the node's document with the settings the test changes reset),
    and the node's own document back afterwards."""
    config: dict[str, Any] = admin(sandbox, "GET", AUDIT).json()["config"]
    start = {
        **config,
        "enabled": False,
        "audit": {**config["audit"], "ignore_users": ["kibanaserver"], "log_request_body": True},
        "compliance": {**config["compliance"], "read_watched_fields": {}},
    }
    assert admin(sandbox, "PUT", f"{AUDIT}/config", start).ok
    yield start
    assert admin(sandbox, "PUT", f"{AUDIT}/config", config).ok


def test_the_audit_configuration_round_trip(
    sandbox: Sandbox, original: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "audit.yaml"
    path.write_text(
        cluster_block(sandbox, "basic")
        + "audit:\n  enabled: true\n  audit:\n    ignore_users: [kibanaserver, log-shipper]\n"
        "    log_request_body: false\n  compliance:\n    read_watched_fields: {logs-*: [email]}\n"
    )
    planned = run(sandbox, "basic", "plan", str(path))
    assert planned.returncode == 0, planned.stderr
    assert "+ audit.log_request_body false" in planned.stdout
    before = len(admin(sandbox, "GET", AUDIT).json()["config"])
    result = run(sandbox, "basic", "apply", "-y", str(path))
    assert result.returncode == 0, result.stderr
    assert "in one request" in result.stdout
    live = admin(sandbox, "GET", AUDIT).json()["config"]
    assert live["enabled"] is True
    assert live["audit"]["ignore_users"] == ["kibanaserver", "log-shipper"]
    assert live["audit"]["log_request_body"] is False
    assert live["compliance"]["read_watched_fields"] == {"logs-*": ["email"]}
    # what the file leaves out keeps the cluster's value
    assert live["audit"]["enable_rest"] == original["audit"]["enable_rest"]
    assert len(live) == before
    assert "No changes" in run(sandbox, "basic", "plan", str(path)).stdout
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(cluster_block(sandbox, "basic") + "internal_users: {}\n")
    imported = run(sandbox, "basic", "import", "-c", str(cluster), "--include", "audit")
    assert imported.returncode == 0, imported.stderr
    assert yaml.safe_load(imported.stdout)["audit"] == live
    again = tmp_path / "imported.yaml"
    again.write_text(imported.stdout)
    planned = run(sandbox, "basic", "plan", "--detailed-exitcode", str(again))
    assert planned.returncode == 0, planned.stdout + planned.stderr
