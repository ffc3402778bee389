"""can-i agrees with the node, measured. Seeded random action groups (nested), role definitions
(with every index-pattern form: wildcards, ?, /regex/, ${user.name}, ${user.roles},
${attr.internal.team}, date math), internal users with backend roles, attributes and roles
held directly, and mappings (users, wildcards, backend_roles, and_backend_roles) are written to
the sandbox. Each user then sends real requests for a spread of operations, and every answer of
can-i (over the state osaccess reads from the cluster) must be the node's: at least 500 probes
per version. A disagreement prints the case, reduced to what decides it, ready to become a unit
test. The DLS/FLS test checks that the documents and fields the node returns are the ones
can-i's restrictions imply."""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from osaccess import api
from osaccess.access.cani import Answer, request_for
from osaccess.access.state import State
from osaccess.model import ClusterSpec
from osaccess.overrides import Overrides
from osaccess.plugin.matching import Caller
from osaccess.run.answer_state import state_for
from tests.integration.conftest import STATE, Sandbox, admin
from tests.integration.test_can_i import admin_hash, refused_inside

SECURITY = "/_plugins/_security/api"
SEEDS = [int(s) for s in os.environ.get("OSACCESS_AGREEMENT_SEEDS", "11").split(",")]
USERS, ROLES, PROBES_PER_USER = 12, 14, 45

INDEX_ACTIONS = [
    "read", "write", "crud", "search", "get", "index", "delete", "manage", "indices_all",
    "create_index", "indices:data/read/search", "indices:data/read/get",
    "indices:data/write/index", "indices:data/write/bulk[s]", "indices:data/write/delete",
    "indices:data/write/update", "indices:admin/create", "indices:admin/delete",
    "indices:admin/mappings/get", "indices:data/read/mget[shard]", "indices:data/read/*",
    "indices:data/write*", "indices:data/read/point_in_time/create",
    "indices:data/read/search/template",
    "indices:data/read/field_caps*", "indices:monitor/settings/get", "indices:admin/refresh*",
]  # fmt: skip
CLUSTER_ACTIONS = [
    "cluster_monitor", "cluster:monitor/health", "indices:data/write/bulk",
    "indices:data/read/mget", "indices:data/read/msearch", "cluster_composite_ops",
    "cluster_composite_ops_ro", "cluster:monitor/*", "indices:data/read/msearch/template",
]  # fmt: skip
FORMS = [
    ("GET", "/{i}/_search"), ("GET", "/{i}/_doc/seed"), ("PUT", "/{i}/_doc/{new}"),
    ("POST", "/{i}/_bulk"), ("DELETE", "/{i}/_doc/nope"), ("POST", "/{i}/_update/seed"),
    ("GET", "/{i}/_mapping"), ("GET", "/{i}/_count"), ("PUT", "/{fresh}"), ("DELETE", "/{gone}"),
    ("GET", "/_cluster/health"), ("GET", "/{i}/_mget"), ("GET", "/{i}/_msearch"),
    ("POST", "/{i}/_search/point_in_time"), ("GET", "/{i}/_search/template"),
    ("GET", "/{i}/_msearch/template"),
    ("GET", "/{i}/_field_caps"), ("GET", "/{i}/_settings"), ("POST", "/{i}/_refresh"),
    ("GET", "/{dated}/_search"),
    ("GET", "/{i},{j}/_search"), ("GET", "/{i},{j}/_count"),  # comma lists: every name checked
    ("PUT", "/{fresh}/_doc/1"),  # a write creates its index: indices:admin/create too
]  # fmt: skip


@dataclass
class World:
    """One seed's random state, named under its own prefix."""

    prefix: str
    rng: random.Random
    groups: dict[str, list[str]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    mappings: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # (user, pattern, index, whether the node lets the user search it): one per pattern form
    cases: list[tuple[str, str, str, bool]] = field(default_factory=list)

    @property
    def today(self) -> str:
        return f"{self.prefix}d-{datetime.now(timezone.utc):%Y.%m.%d}"

    def indices(self) -> list[str]:
        p = self.prefix
        names = [
            "a1",
            "a2",
            "b1",
            "b22",
            "c7",
            "blue-1",
            "red-1",
            "u0-x",
            "u1-x",
            "u2-x",
            "f3-x",
            "f7-x",
        ]
        names.append("rzx")
        return [p + n for n in names] + [f"{role}x" for role in self.backend_roles()] + [self.today]

    def backend_roles(self) -> list[str]:
        return [f"{self.prefix}r{k}" for k in range(3)]


def patterns(world: World) -> list[str]:
    p = world.prefix
    return [
        f"{p}a*", f"{p}b?", f"/{re.escape(p)}b[0-9]+/", "${user.name}-*",
        f"{p}${{attr.internal.team}}-*", "${user.roles}x", f"<{p}d-{{now/d}}>", f"{p}*1",
        f"{p}c*", f"{p}blue-*", "*",
    ]  # fmt: skip


def build(seed: int) -> World:
    rng = random.Random(seed)
    world = World(f"ag{uuid.uuid4().hex[:6]}{seed}-", rng)
    p = world.prefix
    g0, g1, g2 = f"{p}g0", f"{p}g1", f"{p}g2"
    world.groups[g0] = rng.sample(INDEX_ACTIONS, 2)
    world.groups[g1] = [g0, rng.choice(INDEX_ACTIONS)]  # nested
    world.groups[g2] = rng.sample(CLUSTER_ACTIONS, 2)
    index_actions = [*INDEX_ACTIONS, g0, g1]
    for k in range(ROLES):
        body: dict[str, Any] = {
            "cluster_permissions": rng.sample([*CLUSTER_ACTIONS, g2], rng.choice([0, 1, 1, 2])),
            "index_permissions": [
                {
                    "index_patterns": rng.sample(patterns(world), rng.choice([1, 1, 2])),
                    "allowed_actions": rng.sample(index_actions, rng.choice([1, 2, 3])),
                }
                for _ in range(rng.choice([1, 1, 2]))
            ],
        }
        world.roles[f"{p}role{k}"] = body
    role_names = list(world.roles)
    user_names = [f"{p}u{i}" for i in range(USERS)]
    for name in user_names:
        user: dict[str, Any] = {
            "hash": admin_hash(),
            "backend_roles": rng.sample(world.backend_roles(), rng.choice([0, 1, 1, 2])),
        }
        team = rng.choice(["blue", "red", None])
        if team:
            user["attributes"] = {"team": team}
        if rng.random() < 0.3:
            user["opendistro_security_roles"] = [rng.choice(role_names)]
        world.users[name] = user
    for role in role_names:
        choice = rng.random()
        mapping: dict[str, list[str]] = {}
        if choice < 0.3:
            mapping["users"] = rng.sample(user_names, rng.choice([1, 2]))
        elif choice < 0.45:
            mapping["users"] = [f"{p}u{rng.randrange(USERS)}*"]
        elif choice < 0.75:
            mapping["backend_roles"] = [rng.choice(world.backend_roles())]
        elif choice < 0.9:
            mapping["and_backend_roles"] = rng.sample(world.backend_roles(), 2)
        if mapping:
            world.mappings[role] = mapping
    return world


def pattern_cases(world: World) -> None:
    """The random probes may miss a form: each form gets a user holding only it, an index it
    matches and one it does not."""
    p = world.prefix
    # a backend role no random mapping names, so that the form's own role decides
    r0, r1 = f"{p}rz", world.backend_roles()[1]
    forms = {  # pattern: (user's backend roles, attributes, index it matches, index it does not)
        f"{p}a*": ([], {}, f"{p}a1", f"{p}b1"),
        f"{p}b?": ([], {}, f"{p}b1", f"{p}b22"),
        f"/{re.escape(p)}b[0-9]{{2,}}/": ([], {}, f"{p}b22", f"{p}b1"),
        "${user.name}-*": ([], {}, f"{p}f3-x", f"{p}u1-x"),
        f"{p}${{attr.internal.team}}-*": ([], {"team": "blue"}, f"{p}blue-1", f"{p}red-1"),
        "${user.roles}x": ([r0], {}, f"{r0}x", f"{r1}x"),
        f"<{p}d-{{now/d}}>": ([], {}, world.today, f"{p}c7"),
        "${user_name}-*": ([], {}, f"{p}f7-x", f"{p}f3-x"),
    }
    for k, (pattern, (backend, attributes, inside, outside)) in enumerate(forms.items()):
        user, role = f"{p}f{k}", f"{p}form{k}"
        world.roles[role] = {
            "index_permissions": [{"index_patterns": [pattern], "allowed_actions": ["read"]}]
        }
        body: dict[str, Any] = {"hash": admin_hash(), "backend_roles": backend}
        if attributes:
            body["attributes"] = attributes
        world.users[user] = {**body, "opendistro_security_roles": [role]}
        # ${user.roles} is rendered as quoted names ("r0"), which no index name matches
        matched = not pattern.startswith("${user.roles}")
        world.cases += [(user, pattern, inside, matched), (user, pattern, outside, False)]


def patch(sandbox: Sandbox, resource: str, values: dict[str, Any], op: str = "add") -> None:
    operations = [
        {"op": op, "path": f"/{name}", **({"value": value} if op == "add" else {})}
        for name, value in values.items()
    ]
    if operations:
        response = admin(sandbox, "PATCH", f"{SECURITY}/{resource}", operations)
        assert response.ok, response.text


def install(sandbox: Sandbox, world: World, indices: bool = True) -> None:
    patch(sandbox, "actiongroups", {n: {"allowed_actions": a} for n, a in world.groups.items()})
    patch(sandbox, "roles", world.roles)
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "internal-users.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        patch(sandbox, "internalusers", world.users)
    patch(sandbox, "rolesmapping", world.mappings)
    # every index of the world (and any a probe creates) without replicas, created with its
    # seed document by one bulk request
    template = {
        "index_patterns": [f"{world.prefix}*"],
        "template": {"settings": {"number_of_replicas": 0}},
        "priority": 400,
    }
    assert admin(sandbox, "PUT", f"/_index_template/{world.prefix}t", template).ok
    if indices:
        lines = "".join(
            json.dumps({"index": {"_index": index, "_id": "seed"}}) + '\n{"a": 1}\n'
            for index in world.indices()
        )
        response = requests.post(
            f"{sandbox.node_url}/_bulk?refresh=true",
            data=lines,
            headers={"content-type": "application/x-ndjson"},
            verify=sandbox.ca_certs,
            auth=(sandbox.username, sandbox.password),
            timeout=60,
        )
        assert response.ok and not response.json()["errors"], response.text[:500]


def uninstall(sandbox: Sandbox, world: World) -> None:
    patch(sandbox, "rolesmapping", world.mappings, "remove")
    with (STATE / "internal-users.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        patch(sandbox, "internalusers", world.users, "remove")
    patch(sandbox, "roles", world.roles, "remove")
    patch(sandbox, "actiongroups", world.groups, "remove")
    admin(sandbox, "DELETE", f"/{world.prefix}*")
    admin(sandbox, "DELETE", f"/_index_template/{world.prefix}t")


def read_state(sandbox: Sandbox) -> State:
    cluster = ClusterSpec(
        endpoint=sandbox.node_url,
        auth="basic",
        username=sandbox.username,
        ca_certs=sandbox.ca_certs,
    )
    return state_for(cluster, Overrides(password=sandbox.password), offline=False)


@dataclass(frozen=True)
class Probe:
    user: str
    method: str
    path: str  # as sent
    form: str  # as can-i is asked

    def send(self, sandbox: Sandbox, password: str) -> tuple[int, str]:
        body: Any = None
        data: str | None = None
        url = self.path
        if self.method in ("PUT", "POST") and "/_doc/" in url:
            body = {"a": 2}
        elif "_update" in url:
            # a change: an update that changes nothing is a "noop", which needs no bulk write
            body = {"doc": {"a": random.randrange(10**9)}}
        elif "_bulk" in url:
            data = '{"index": {}}\n{"a": 4}\n'
        elif "_msearch/template" in url:
            data = '{}\n{"source": {"query": {"match_all": {}}}}\n'
        elif "_search/template" in url:
            body = {"source": {"query": {"match_all": {}}}}
        elif "_msearch" in url:
            data = '{}\n{"query": {"match_all": {}}}\n'
        elif "_mget" in url:
            body = {"ids": ["seed"]}
        elif "point_in_time" in url:
            url += "?keep_alive=1m"
        elif "_field_caps" in url:
            url += "?fields=a"
        elif self.method == "PUT" and url.count("/") == 1:
            body = {"settings": {"number_of_replicas": 0}}
        response = requests.request(
            self.method,
            sandbox.node_url + url,
            json=body,
            data=data,
            headers={"content-type": "application/x-ndjson"} if data else None,
            verify=sandbox.ca_certs,
            auth=(self.user, password),
            timeout=30,
        )
        return refused_inside(response), response.text[:400]


def probes(world: World) -> Iterator[Probe]:
    rng = random.Random(world.rng.random())
    indices = world.indices()
    stems = ["a", "b", "c", "blue-", "u0-", "zz"]
    for user in [u for u in world.users if u.startswith(f"{world.prefix}u")]:
        for k in range(PROBES_PER_USER):
            method, template = rng.choice(FORMS)
            index = rng.choice(indices)
            fresh = f"{world.prefix}{rng.choice(stems)}new{k}x{user.rsplit('u', 1)[-1]}"
            names = {
                "i": index,
                "j": rng.choice(indices),
                "new": f"n{k}",
                "fresh": fresh,
                "gone": fresh + "gone",
                "dated": f"<{world.prefix}d-{{now/d}}>",
            }
            form_path = template.format(**names)
            sent = template.format(
                **{**names, "dated": urllib.parse.quote(names["dated"], safe="")}
            )
            yield Probe(user, method, sent, f"{method} {form_path}")


def reduced(world: World, state: State, probe: Probe, answer: Answer, said: str) -> str:
    """The case as a unit test needs it: the user, the roles it holds, the request, both
    answers."""
    user = dict(world.users[probe.user])
    user.pop("hash", None)
    held = {role: world.roles.get(role, "(built-in or shared)") for role in answer.roles}
    groups = {
        name: members
        for name, members in world.groups.items()
        if any(name in json.dumps(body) for body in held.values())
    }
    case = {
        "request": probe.form,
        "user": {probe.user: user},
        "roles held": held,
        "action groups": groups,
        "node": said,
        "osaccess": {"allowed": answer.allowed, "reasons": list(answer.reasons())},
    }
    return json.dumps(case, indent=2, sort_keys=True)


@pytest.fixture(scope="module")
def worlds(sandbox: Sandbox) -> Iterator[list[World]]:
    built = [build(seed) for seed in SEEDS]
    pattern_cases(built[0])
    try:
        for world in built:
            install(sandbox, world)
        yield built
    finally:
        for world in built:
            uninstall(sandbox, world)


def test_can_i_agrees_with_the_node_on_every_probe(sandbox: Sandbox, worlds: list[World]) -> None:
    state = read_state(sandbox)
    asked, disagreements, summary = 0, [], []
    for world in worlds:
        for probe in probes(world):
            status, said = probe.send(sandbox, sandbox.password)
            answer = api.can_i_in(
                state, Caller(probe.user, internal=True), request_for(probe.form, None)
            )
            asked += 1
            node_allows = status != 403
            if status >= 500 or status in (400, 401):  # the probe itself is wrong
                disagreements.append(
                    f"{probe.form} as {probe.user}: the node answered {status}: {said}"
                )
            elif node_allows != answer.allowed:
                disagreements.append(reduced(world, state, probe, answer, f"{status} {said}"))
                summary.append(f"{probe.form} node {status} osaccess {answer.allowed}")
    for world in worlds:
        for user, pattern, index, expected in world.cases:
            probe = Probe(user, "GET", f"/{index}/_search", f"GET /{index}/_search")
            status, said = probe.send(sandbox, sandbox.password)
            answer = api.can_i_in(state, Caller(user, internal=True), request_for(probe.form, None))
            asked += 1
            assert (status != 403) is expected, (pattern, index, status, said)
            if answer.allowed is not expected:
                disagreements.append(reduced(world, state, probe, answer, f"{status} {said}"))
    print(f"agreement: {asked - len(disagreements)} of {asked} answers agree")
    for line in summary:
        print("  " + line)
    assert asked >= 500
    assert not disagreements, f"{len(disagreements)} of {asked} disagree:\n" + "\n".join(
        disagreements[:12]
    )


DOCS = {
    "d0": {"owner": "{u1}", "team": "red", "a": 1, "secret": "s0", "b": 10, "email": "x@a"},
    "d1": {"owner": "other", "team": "blue", "a": 2, "secret": "s1", "b": 11, "email": "y@a"},
    "d2": {"owner": "other", "team": "green", "a": 3, "secret": "s2", "b": 12, "email": "z@a"},
}


def implied(
    answer: Answer, docs: dict[str, dict[str, Any]]
) -> dict[str, tuple[set[str], set[str]]]:
    """What can-i's restrictions say a search returns: document id -> (fields, masked fields)."""
    (check,) = [c for c in answer.checks if c.level == "index"]
    assert check.allowed and check.limits is not None
    limits = check.limits

    def passes(doc: dict[str, Any]) -> bool:
        for text in limits.dls:
            ((kind, clause),) = json.loads(text).items()
            ((name, value),) = clause.items() if kind == "term" else [("", None)]
            if kind == "match_all" or doc.get(name) == value:
                return True
        return not limits.dls

    def shown(doc: dict[str, Any]) -> set[str]:
        hidden = {f[1:] for f in limits.fls if f.startswith("~")}
        shown_only = {f for f in limits.fls if not f.startswith("~")}
        return {f for f in doc if f not in hidden and (not shown_only or f in shown_only)}

    return {
        doc_id: (fields := shown(doc), fields & set(limits.masked))
        for doc_id, doc in docs.items()
        if passes(doc)
    }


def test_dls_fls_and_masking_of_several_roles_are_what_the_node_returns(
    sandbox: Sandbox,
) -> None:
    p = f"dls{uuid.uuid4().hex[:6]}-"
    index = f"{p}docs"
    users = {f"{p}both": [f"{p}r1", f"{p}r2"], f"{p}fls": [f"{p}r3"], f"{p}own": [f"{p}r1"]}
    owner = f"{p}both"
    roles = {
        f"{p}r1": {
            "index_permissions": [
                {
                    "index_patterns": [f"{p}*"],
                    "allowed_actions": ["read"],
                    "dls": '{"term": {"owner": "${user.name}"}}',
                    "fls": ["owner", "a", "team"],
                }
            ]
        },
        f"{p}r2": {
            "index_permissions": [
                {
                    "index_patterns": [index],
                    "allowed_actions": ["read"],
                    "dls": '{"term": {"team": "blue"}}',
                    "fls": ["~secret"],
                    "masked_fields": ["email"],  # masking is for text and keyword fields
                }
            ]
        },
        f"{p}r3": {
            "index_permissions": [
                {"index_patterns": [index], "allowed_actions": ["read"], "fls": ["b"]}
            ]
        },
    }
    docs = {
        k: {**v, "owner": owner if v["owner"] == "{u1}" else v["owner"]} for k, v in DOCS.items()
    }
    keyword = {"type": "keyword"}
    mapping = {
        "owner": keyword,
        "team": keyword,
        "secret": keyword,
        "email": keyword,
        "a": {"type": "integer"},
    }
    body = {"settings": {"number_of_replicas": 0}, "mappings": {"properties": mapping}}
    patch(sandbox, "roles", roles)
    with (STATE / "internal-users.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        patch(
            sandbox,
            "internalusers",
            {u: {"hash": admin_hash(), "opendistro_security_roles": r} for u, r in users.items()},
        )
    try:
        assert admin(sandbox, "PUT", f"/{index}", body).ok
        for doc_id, doc in docs.items():
            assert admin(sandbox, "PUT", f"/{index}/_doc/{doc_id}?refresh=true", doc).ok
        state = read_state(sandbox)
        for user in users:
            response = requests.get(
                f"{sandbox.node_url}/{index}/_search",
                verify=sandbox.ca_certs,
                auth=(user, sandbox.password),
                timeout=30,
            )
            assert response.ok, response.text
            seen = {
                hit["_id"]: (
                    set(hit["_source"]),
                    {f for f, v in hit["_source"].items() if docs[hit["_id"]].get(f) != v},
                )
                for hit in response.json()["hits"]["hits"]
            }
            answer = api.can_i_in(
                state, Caller(user, internal=True), request_for(f"GET /{index}/_search", None)
            )
            assert seen == implied(answer, docs), (user, answer.reasons(), seen)
    finally:
        with (STATE / "internal-users.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            patch(sandbox, "internalusers", dict.fromkeys(users), "remove")
        patch(sandbox, "roles", roles, "remove")
        admin(sandbox, "DELETE", f"/{index}")


def test_aliases_and_data_streams_are_checked_on_the_indices_behind_them(
    sandbox: Sandbox,
) -> None:
    """can-i reads the aliases and data streams live and checks every index behind one, each
    granted by a pattern on the index or on a name that holds it, as the node does."""
    p = f"al{uuid.uuid4().hex[:6]}-"
    for index in (f"{p}one", f"{p}two"):
        assert admin(sandbox, "PUT", f"/{index}", {"settings": {"number_of_replicas": 0}}).ok
    aliased = {"actions": [{"add": {"indices": [f"{p}one", f"{p}two"], "alias": f"{p}both"}}]}
    assert admin(sandbox, "POST", "/_aliases", aliased).ok
    template = {"index_patterns": [f"{p}ds*"], "data_stream": {}, "priority": 500}
    assert admin(sandbox, "PUT", f"/_index_template/{p}ds", template).ok
    assert admin(sandbox, "PUT", f"/_data_stream/{p}ds1").ok
    cases = {  # role pattern -> (request index, what the node should say)
        f"{p}one": (f"{p}both", False),  # one of the two indices behind the alias
        f"{p}*": (f"{p}both", True),
        f"{p}both": (f"{p}both", True),  # a pattern on the alias grants what is behind it
        f"{p}ds*": (f"{p}ds1", True),  # a pattern on the stream grants its backing indices
        f"{p}x*": (f"{p}ds1", False),
    }
    world = World(p, random.Random(0))
    for k, pattern in enumerate(cases):
        world.roles[f"{p}r{k}"] = {
            "index_permissions": [{"index_patterns": [pattern], "allowed_actions": ["read"]}]
        }
        world.users[f"{p}u{k}"] = {"hash": admin_hash(), "opendistro_security_roles": [f"{p}r{k}"]}
    install(sandbox, world, indices=False)
    try:
        state = read_state(sandbox)
        assert state.aliases is not None and state.aliases[f"{p}both"] == {f"{p}one", f"{p}two"}
        for k, (pattern, (index, expected)) in enumerate(cases.items()):
            user = f"{p}u{k}"
            probe = Probe(user, "GET", f"/{index}/_search", f"GET /{index}/_search")
            status, said = probe.send(sandbox, sandbox.password)
            answer = api.can_i_in(state, Caller(user, internal=True), request_for(probe.form, None))
            assert (status != 403) is expected, (pattern, index, status, said)
            assert answer.allowed is expected, (pattern, index, answer.reasons())
    finally:
        uninstall(sandbox, world)
        admin(sandbox, "DELETE", f"/_data_stream/{p}ds1")
        admin(sandbox, "DELETE", f"/_index_template/{p}ds")


def test_a_role_date_math_pattern_and_a_missing_index_follow_the_version(
    sandbox: Sandbox,
) -> None:
    """Before 2.19 a role's date-math pattern matches only indices that exist: creating
    today's index through it is refused there, and allowed from 2.19 on. can-i reads the
    version and the indices, and answers as the node of that version does."""
    p = f"dm{uuid.uuid4().hex[:6]}-"
    today = f"{p}d-{datetime.now(timezone.utc):%Y.%m.%d}"
    world = World(p, random.Random(0))
    world.roles[f"{p}r"] = {
        "index_permissions": [
            {"index_patterns": [f"<{p}d-{{now/d}}>"], "allowed_actions": ["indices:admin/create"]}
        ]
    }
    world.users[f"{p}u"] = {"hash": admin_hash(), "opendistro_security_roles": [f"{p}r"]}
    install(sandbox, world, indices=False)
    try:
        state = read_state(sandbox)
        assert state.known is not None and state.known.version is not None
        answer = api.can_i_in(
            state, Caller(f"{p}u", internal=True), request_for(f"PUT /{today}", None)
        )
        probe = Probe(f"{p}u", "PUT", f"/{today}", f"PUT /{today}")
        status, said = probe.send(sandbox, sandbox.password)
        assert (status != 403) is answer.allowed, (state.known.version, status, said)
        assert answer.allowed is (state.known.version >= (2, 19)), answer.reasons()
    finally:
        uninstall(sandbox, world)
