"""docker-compose.yml gives Docker users the same sandbox that scripts/sandbox.sh assembles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))


def versions() -> dict[str, str]:
    lines = (ROOT / "sandbox" / "versions.env").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_image_is_the_version_the_local_node_is_built_from() -> None:
    image = compose()["services"]["opensearch"]["image"]
    assert image == f"opensearchproject/opensearch:{versions()['OPENSEARCH_VERSION']}"
    assert versions()["SECURITY_PLUGIN_VERSION"] == versions()["OPENSEARCH_VERSION"] + ".0"


def test_every_mounted_path_exists_in_the_repository() -> None:
    mounts = []
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith("./"), f"{volume}: mount repository files only"
            mounts.append(source)
            assert (ROOT / source).exists(), f"{volume}: {source} does not exist"
    for service in compose()["services"].values():
        env_file = service.get("env_file")
        if env_file:
            assert (ROOT / env_file).exists()
    # The node gets exactly the configuration the local sandbox copies into place.
    assert {"./sandbox/opensearch.yml", "./sandbox/opensearch-security", "./sandbox/certs"} <= set(
        mounts
    )


def test_the_gateway_shares_the_nodes_network_and_serves_sigv4() -> None:
    services = compose()["services"]
    gateway = services["gateway"]
    assert gateway["network_mode"] == "service:opensearch"
    assert gateway["command"][:2] == ["sandbox", "gateway"]
    assert "--upstream=https://127.0.0.1:9200" in gateway["command"]
    ports = services["opensearch"]["ports"]
    assert {"127.0.0.1:9200:9200", "127.0.0.1:9201:9201", "127.0.0.1:9202:9202"} <= set(ports)
    assert (ROOT / "Dockerfile").exists()


def test_the_node_listens_where_compose_and_the_script_say() -> None:
    node_config = (ROOT / "sandbox" / "opensearch.yml").read_text(encoding="utf-8")
    assert "network.host: ${OSACCESS_SANDBOX_HOST}" in node_config
    env = compose()["services"]["opensearch"]["environment"]
    assert env["OSACCESS_SANDBOX_HOST"] == "0.0.0.0"
    script = (ROOT / "scripts" / "sandbox.sh").read_text(encoding="utf-8")
    assert "OSACCESS_SANDBOX_HOST=127.0.0.1" in script
