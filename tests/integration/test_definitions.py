"""Role definitions, action groups and tenants through osaccess, against the real node."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Sandbox, admin
from tests.integration.helpers import ANALYTICS, cluster_block, run
from tests.integration.proxy import Answer, FaultProxy, Forward

API = "/_plugins/_security/api"


@pytest.fixture()
def names(sandbox: Sandbox) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:8]
    found = {"role": f"def_{tag}_team", "group": f"def_{tag}_read", "tenant": f"def_{tag}_t"}
    yield found
    admin(sandbox, "DELETE", f"{API}/rolesmapping/{found['role']}")
    admin(sandbox, "DELETE", f"{API}/roles/{found['role']}")
    admin(sandbox, "DELETE", f"{API}/actiongroups/{found['group']}")
    admin(sandbox, "DELETE", f"{API}/tenants/{found['tenant']}")


def definitions_file(tmp_path: Path, sandbox: Sandbox, mode: str, n: dict[str, str]) -> Path:
    path = tmp_path / "definitions.yaml"
    path.write_text(
        cluster_block(sandbox, mode)
        + f"roles:\n  {n['role']}: [{ANALYTICS}]\n"
        + "role_definitions:\n"
        + f"  {n['role']}:\n"
        + "    description: Read the team's logs\n"
        + "    cluster_permissions: [cluster_composite_ops_ro]\n"
        + "    index_permissions:\n"
        + "      - index_patterns: [deflogs-*]\n"
        + f"        allowed_actions: [{n['group']}]\n"
        + "        dls: {term: {team: blue}}\n"
        + "        fls: ['~secret']\n"
        + "        masked_fields: [email]\n"
        + "    tenant_permissions:\n"
        + f"      - tenant_patterns: [{n['tenant']}]\n"
        + "        allowed_actions: [kibana_all_read]\n"
        + "action_groups:\n"
        + f"  {n['group']}:\n    type: index\n    allowed_actions: [read]\n"
        + "    description: read the team's logs\n"
        + f"tenants:\n  {n['tenant']}:\n    description: the team's tenant\n",
        encoding="utf-8",
    )
    return path


def test_definitions_applied_through_the_gateway_are_what_the_node_holds(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path
) -> None:
    path = definitions_file(tmp_path, sandbox, "sigv4-master", names)
    applied = run(sandbox, "sigv4-master", "apply", str(path), "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"+ role {names['role']}" in applied.stdout
    role = admin(sandbox, "GET", f"{API}/roles/{names['role']}").json()[names["role"]]
    (index,) = role["index_permissions"]
    assert index["index_patterns"] == ["deflogs-*"]
    assert index["allowed_actions"] == [names["group"]]
    assert json.loads(index["dls"]) == {"term": {"team": "blue"}}
    assert index["fls"] == ["~secret"]
    assert index["masked_fields"] == ["email"]
    assert role["tenant_permissions"] == [
        {"tenant_patterns": [names["tenant"]], "allowed_actions": ["kibana_all_read"]}
    ]
    group = admin(sandbox, "GET", f"{API}/actiongroups/{names['group']}").json()[names["group"]]
    assert (group["allowed_actions"], group["type"]) == (["read"], "index")
    tenant = admin(sandbox, "GET", f"{API}/tenants/{names['tenant']}").json()[names["tenant"]]
    assert tenant["description"] == "the team's tenant"
    mapping = admin(sandbox, "GET", f"{API}/rolesmapping/{names['role']}").json()
    assert mapping[names["role"]]["backend_roles"] == [ANALYTICS]
    again = run(sandbox, "sigv4-master", "plan", str(path), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout


def test_a_failure_between_two_patches_is_reported_and_the_next_plan_converges(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path
) -> None:
    path = definitions_file(tmp_path, sandbox, "basic", names)
    audit_log = tmp_path / "audit.jsonl"
    broken = Answer(400, {"status": "error", "reason": "Invalid configuration"})

    def rule(method: str, request_path: str) -> object:
        if method == "PATCH" and request_path.endswith("/rolesmapping"):
            return broken
        return Forward()

    with FaultProxy(sandbox.node_url, sandbox.ca_certs, rule) as proxy:
        failed = run(
            sandbox,
            "basic",
            "apply",
            str(path),
            "--yes",
            "--endpoint",
            proxy.url,
            "--audit-log",
            str(audit_log),
        )
    assert failed.returncode == 1
    assert "applied action_groups, roles, tenants; then writing mappings failed" in failed.stderr
    (record,) = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert record["result"] == "partially applied"
    assert (record["applied"], record["failed"]) == (
        ["action_groups", "roles", "tenants"],
        "mappings",
    )
    assert admin(sandbox, "GET", f"{API}/roles/{names['role']}").status_code == 200
    assert admin(sandbox, "GET", f"{API}/rolesmapping/{names['role']}").status_code == 404
    plan = run(sandbox, "basic", "plan", str(path), "-f", "json")
    (entry,) = json.loads(plan.stdout)["plans"]
    assert [(c["kind"], c["name"]) for c in entry["changes"]] == [("mappings", names["role"])]
    finished = run(sandbox, "basic", "apply", str(path), "--yes")
    assert finished.returncode == 0, finished.stderr
    assert run(sandbox, "basic", "plan", str(path), "--detailed-exitcode").returncode == 0


def signed(sandbox: Sandbox, name: str, method: str, path: str, body: object = None) -> Any:
    """A request through the IAM gateway, signed as the sandbox principal ``name``."""
    import requests

    from tests.signing import sign

    principal = sandbox.principals.by_name(name)
    url = sandbox.gateway_url + path
    data = json.dumps(body).encode() if body is not None else b""
    headers = sign(
        method,
        url,
        key=principal.access_key_id,
        secret=principal.secret_access_key,
        body=data,
        headers={"Content-Type": "application/json"} if body is not None else {},
    )
    return requests.request(
        method, url, data=data or None, headers=headers, verify=sandbox.ca_certs, timeout=30
    )


@pytest.mark.serial
def test_explain_agrees_with_what_the_node_allows(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path
) -> None:
    tag = names["role"].split("_")[1]
    granted, other = f"deflogs-{tag}", f"defother-{tag}"
    for index in (granted, other):
        assert admin(sandbox, "PUT", f"/{index}", {"settings": {"number_of_replicas": 0}}).ok
    for team in ("blue", "red"):
        doc = {"team": team, "message": f"from {team}", "secret": "s", "email": "e@x"}
        assert admin(sandbox, "POST", f"/{granted}/_doc?refresh=true", doc).ok
    try:
        path = definitions_file(tmp_path, sandbox, "sigv4-master", names)
        assert run(sandbox, "sigv4-master", "apply", str(path), "--yes").returncode == 0
        explained = run(
            sandbox, "sigv4-master", "explain", ANALYTICS, "-c", str(path), "-f", "json"
        )
        assert explained.returncode == 0, explained.stderr
        permissions = json.loads(explained.stdout)["permissions"]
        (grant,) = [g for g in permissions["index"] if g["patterns"] == ["deflogs-*"]]
        assert "indices:data/read*" in grant["actions"]
        assert not any(a.startswith("indices:data/write") for a in grant["actions"])
        assert json.loads(grant["dls"]) == {"term": {"team": "blue"}}
        assert (grant["fls"], grant["masked_fields"]) == (["~secret"], ["email"])
        assert not any(
            p == "*" or p.startswith("defother")
            for g in permissions["index"]
            for p in g["patterns"]
        )
        assert permissions["tenants"] == {names["tenant"]: "read"}

        search = signed(
            sandbox, "analytics", "POST", f"/{granted}/_search", {"query": {"match_all": {}}}
        )
        assert search.status_code == 200, search.text
        hits = [h["_source"] for h in search.json()["hits"]["hits"]]
        assert [h["team"] for h in hits] == ["blue"]  # DLS: only the matching documents
        assert "secret" not in hits[0]  # FLS
        assert hits[0]["email"] != "e@x"  # masked
        write = signed(sandbox, "analytics", "POST", f"/{granted}/_doc", {"team": "blue"})
        assert write.status_code == 403, write.text  # explain shows no write grant
        elsewhere = signed(sandbox, "analytics", "POST", f"/{other}/_search", {})
        assert elsewhere.status_code == 403, elsewhere.text  # not a granted pattern
    finally:
        for index in (granted, other):
            admin(sandbox, "DELETE", f"/{index}")


@pytest.mark.serial
def test_access_review_of_the_live_cluster(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path
) -> None:
    path = definitions_file(tmp_path, sandbox, "sigv4-master", names)
    assert run(sandbox, "sigv4-master", "apply", str(path), "--yes").returncode == 0
    result = run(sandbox, "sigv4-master", "access-review", "-c", str(path), "-f", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["source"].endswith("(live)")
    by_name = {p["principal"]: p for p in document["principals"]}
    analytics = by_name[ANALYTICS]
    assert names["role"] in analytics["roles"]
    (grant,) = [g for g in analytics["index"] if g["patterns"] == ["deflogs-*"]]
    assert f"{names['role']} via {names['group']} > read" in grant["granted_by"]
    master = by_name["arn:aws:iam::111111111111:role/sandbox-master"]
    assert {"all_access", "security_manager"} <= set(master["roles"])


@pytest.mark.serial
def test_import_of_definitions_then_plan_is_empty(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path
) -> None:
    path = definitions_file(tmp_path, sandbox, "sigv4-master", names)
    assert run(sandbox, "sigv4-master", "apply", str(path), "--yes").returncode == 0
    out = tmp_path / "imported.yaml"
    result = run(
        sandbox,
        "sigv4-master",
        "import",
        "-c",
        str(path),
        "--include",
        "mappings,roles,action-groups,tenants",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "role_definitions:" in text and f"  {names['role']}:" in text
    assert f"  {names['group']}:" in text and f"  {names['tenant']}:" in text
    assert "# Left out of role_definitions, built in or reserved:" in text
    assert "\n  all_access:\n    description" not in text
    plan = run(sandbox, "sigv4-master", "plan", str(out), "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr
    assert "No changes" in plan.stdout


def test_a_reviewed_plan_with_definitions_applies_exactly(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path
) -> None:
    path = definitions_file(tmp_path, sandbox, "basic", names)
    plan_file = tmp_path / "plan.json"
    planned = run(sandbox, "basic", "plan", str(path), "--out", str(plan_file))
    assert planned.returncode == 0, planned.stderr
    assert "Access changes (who gains, who LOSES):" in planned.stdout
    applied = run(sandbox, "basic", "apply", "--plan", str(plan_file), "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.count("Access changes") == 1  # the reviewed plan, shown again
    assert admin(sandbox, "GET", f"{API}/actiongroups/{names['group']}").status_code == 200
    again = run(sandbox, "basic", "apply", "--plan", str(plan_file), "--yes")
    assert again.returncode == 3  # the cluster moved: the plan no longer describes it
    assert "changed since the plan was made" in again.stderr
