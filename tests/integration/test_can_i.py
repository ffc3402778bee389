"""can-i against the real node: for every REST form osaccess knows, a user whose role grants
exactly the actions osaccess says the node checks is let through, and a user whose role lacks
any one of them is refused (403) — and osaccess's answer agrees with the node each time."""

from __future__ import annotations

import fcntl
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from osaccess import api
from osaccess.access.cani import REST_FORMS
from osaccess.model import ClusterSpec
from osaccess.overrides import Overrides
from tests.integration.conftest import ROOT, STATE, Sandbox, admin

ROLES = "/_plugins/_security/api/roles"
USERS = "/_plugins/_security/api/internalusers"


def admin_hash() -> str:
    """The sandbox admin's bcrypt hash (cost 4): the node checks a user's password again after
    every role change, and at the default cost 12 that is most of this test's time."""
    text = (ROOT / "sandbox/opensearch-security/internal_users.yml").read_text()
    return next(line.split('"')[1] for line in text.splitlines() if "hash:" in line)


@pytest.fixture(scope="module")
def who(sandbox: Sandbox) -> Iterator[tuple[str, str]]:
    """An internal user holding one role directly (the role changes per case); the tests that
    write internal users take turns (tests/integration/test_internal_users.py)."""
    name, role = f"cani-{uuid.uuid4().hex[:8]}", f"cani_{uuid.uuid4().hex[:8]}"
    assert admin(sandbox, "PUT", f"{ROLES}/{role}", {"cluster_permissions": []}).ok
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "internal-users.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        body = {"hash": admin_hash(), "opendistro_security_roles": [role]}
        assert admin(sandbox, "PUT", f"{USERS}/{name}", body).ok
    yield name, role
    admin(sandbox, "DELETE", f"/cani-{name}")
    admin(sandbox, "DELETE", f"{USERS}/{name}")
    admin(sandbox, "DELETE", f"{ROLES}/{role}")


def grant(sandbox: Sandbox, role: str, index: str, cluster: list[str], actions: list[str]) -> None:
    body: dict[str, Any] = {"cluster_permissions": cluster}
    if actions:
        body["index_permissions"] = [{"index_patterns": [index], "allowed_actions": actions}]
    assert admin(sandbox, "PUT", f"{ROLES}/{role}", body).ok


def attempt(sandbox: Sandbox, user: str, method: str, path: str, index: str) -> tuple[int, str]:
    """The REST form as the user: the status the node answers (set-up done as admin)."""
    doc = f"/{index}/_doc/seed"
    admin(sandbox, "PUT", f"/{index}", {"settings": {"number_of_replicas": 0}})
    admin(sandbox, "PUT", doc, {"a": 1})
    concrete = path.replace("{index}", index).replace("{id}", "seed")
    if path == "/{index}" and method == "PUT":
        admin(sandbox, "DELETE", f"/{index}")
    if path == "/{index}/_create/{id}":
        concrete = concrete.replace("seed", uuid.uuid4().hex[:8])
    body: Any = None
    data: str | None = None
    if (method in ("PUT", "POST") and "_doc" in path) or "_create" in path:
        body = {"a": 2}
    elif "_update" in path:
        body = {"doc": {"a": 3}}
    elif "_bulk" in path:
        data = '{"index": {}}\n{"a": 4}\n'
    elif "_msearch/template" in path:
        data = '{}\n{"source": {"query": {"match_all": {}}}}\n'
    elif "_msearch" in path:
        data = '{}\n{"query": {"match_all": {}}}\n'
    elif "_mget" in path:
        body = {"ids": ["seed"]}
    elif "_search/template" in path:
        body = {"source": {"query": {"match_all": {}}}}
    elif "point_in_time" in path:
        concrete += "?keep_alive=1m"
    elif "_field_caps" in path:
        concrete += "?fields=a"
    elif method == "POST":
        body = {}
    response = requests.request(
        method,
        sandbox.node_url + concrete,
        json=body,
        data=data,
        headers={"content-type": "application/x-ndjson"} if data else None,
        verify=sandbox.ca_certs,
        auth=(user, sandbox.password),
        timeout=30,
    )
    return refused_inside(response), response.text[:300]


def refused_inside(response: requests.Response) -> int:
    """The status, or 403 when a composite request answers 200 and refuses part by part (bulk
    items, mget documents, msearch responses)."""
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        return response.status_code
    data = response.json()
    parts = [next(iter(item.values())) for item in data.get("items", [])]
    parts += data.get("docs", []) + data.get("responses", [])
    parts += [f.get("reason", {}) for f in data.get("_shards", {}).get("failures", [])]
    for part in parts:
        error = part.get("error") if isinstance(part, dict) else None
        if part.get("status") == 403 or "security_exception" in (
            part.get("type"),
            (error.get("type") if isinstance(error, dict) else None),
        ):
            return 403
    return response.status_code


def osaccess_says(sandbox: Sandbox, user: str, form: str) -> bool:
    cluster = ClusterSpec(
        endpoint=sandbox.node_url,
        auth="basic",
        username=sandbox.username,
        ca_certs=sandbox.ca_certs,
    )
    return api.can_i(user, form, None, cluster, Overrides(password=sandbox.password)).allowed


# a scroll needs a scroll open first: test_a_scroll_is_checked_at_cluster_level_only
@pytest.mark.parametrize(
    ("method", "path", "cluster", "actions"), [f for f in REST_FORMS if "scroll" not in f[1]]
)
def test_the_actions_osaccess_names_are_the_ones_the_node_checks(
    sandbox: Sandbox,
    who: tuple[str, str],
    method: str,
    path: str,
    cluster: tuple[str, ...],
    actions: tuple[str, ...],
) -> None:
    user, role = who
    # one index per worker, but a fresh one for the forms that create or delete it
    index = f"cani-{uuid.uuid4().hex[:8]}" if path == "/{index}" else f"cani-{user}"
    form = f"{method} {path.replace('{index}', index).replace('{id}', 'seed')}"
    try:
        grant(sandbox, role, index, list(cluster), list(actions))
        status, said = attempt(sandbox, user, method, path, index)
        assert status != 403, f"{form}: the node refused {cluster} + {actions}: {said}"
        assert osaccess_says(sandbox, user, form) is True
        for missing in (*cluster, *actions):
            grant(
                sandbox,
                role,
                index,
                [a for a in cluster if a != missing],
                [a for a in actions if a != missing],
            )
            status, said = attempt(sandbox, user, method, path, index)
            assert status == 403, f"{form}: without {missing} the node answered {status}: {said}"
            assert osaccess_says(sandbox, user, form) is False
    finally:
        if path == "/{index}":
            admin(sandbox, "DELETE", f"/{index}")


@pytest.mark.parametrize(
    "form", ["PUT /.opendistro_security/_doc/x", "DELETE /.opendistro_security"]
)
def test_the_security_index_refuses_even_all_access_as_can_i_says(
    sandbox: Sandbox, form: str
) -> None:
    method, path = form.split(" ", 1)
    response = requests.request(
        method,
        sandbox.node_url + path,
        json={"a": 1} if method == "PUT" else None,
        verify=sandbox.ca_certs,
        auth=(sandbox.username, sandbox.password),
        timeout=30,
    )
    assert response.status_code == 403, response.text
    assert osaccess_says(sandbox, sandbox.username, form) is False


@pytest.mark.parametrize(
    ("method", "action"),
    [("POST", "indices:data/read/scroll"), ("DELETE", "indices:data/read/scroll/clear")],
)
def test_a_scroll_is_checked_at_cluster_level_only(
    sandbox: Sandbox, who: tuple[str, str], method: str, action: str
) -> None:
    """The search that opens a scroll needs search on the index; going on with it (or clearing
    it) names no index and needs only the cluster permission."""
    user, role = who
    index = f"cani-{user}"
    admin(sandbox, "PUT", f"/{index}", {"settings": {"number_of_replicas": 0}})
    admin(sandbox, "PUT", f"/{index}/_doc/seed?refresh=true", {"a": 1})
    form = f"{method} /_search/scroll"
    for cluster, expected in (([], 403), ([action], 200)):
        grant(sandbox, role, index, cluster, ["indices:data/read/search"])
        opened = requests.get(
            f"{sandbox.node_url}/{index}/_search?scroll=1m&size=1",
            verify=sandbox.ca_certs,
            auth=(user, sandbox.password),
            timeout=30,
        )
        assert opened.ok, opened.text
        response = requests.request(
            method,
            f"{sandbox.node_url}/_search/scroll",
            json={
                "scroll_id": opened.json()["_scroll_id"],
                **({"scroll": "1m"} if method == "POST" else {}),
            },
            verify=sandbox.ca_certs,
            auth=(user, sandbox.password),
            timeout=30,
        )
        assert response.status_code == expected, (cluster, response.text)
        assert osaccess_says(sandbox, user, form) is (expected == 200)
