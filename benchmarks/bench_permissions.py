"""Benchmark: access impact and access review at scale, CPU only (no cluster needed).

1,000 role definitions and 1,000 mappings with 20 principals each, drawn from 5,000 distinct
principals; 200 action groups nested three deep; 2,000 internal users with backend roles from
the same pool and a direct role each. Measures the osaccess CPU of:
- a plan that changes every definition's action group (read -> crud), a tenth of the mappings and
  a tenth of the internal users (new backend roles and direct roles), access impact included;
- an access review of every principal, internal users included.
The number of reads of a plan is constant (7: mappings, roles, action groups, tenants, internal
users, audit, authinfo);
tests/unit/test_definitions.py and tests/integration/test_reconciler.py count them.
Run with `make bench`; docs/benchmarks.md records one run.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from osaccess import collector
from osaccess.access.review import review
from osaccess.file.loader import load
from osaccess.kinds.action_groups import ActionGroup, builtin_groups
from osaccess.kinds.base import Desired
from osaccess.kinds.internal_users import InternalUser
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.mappings import RoleMapping
from osaccess.kinds.roles import IndexPermission, RoleDefinition, TenantPermission
from osaccess.model import LiveState
from osaccess.run.engine import plan

ROLES, PER_ROLE, PRINCIPALS, GROUPS, USERS = 1000, 20, 5000, 200, 2000


def groups() -> dict[str, ActionGroup]:
    """200 groups nested three deep: 100 leaves, 60 in the middle, 40 at the top."""
    found = {}
    for i in range(100):
        found[f"leaf_{i}"] = ActionGroup(frozenset({f"indices:data/read/x{i}*", "read"}), "index")
    for i in range(60):
        found[f"mid_{i}"] = ActionGroup(frozenset({f"leaf_{i}", f"leaf_{(i + 40) % 100}"}))
    for i in range(40):
        found[f"top_{i}"] = ActionGroup(frozenset({f"mid_{i}", f"mid_{(i + 20) % 60}", "write"}))
    return found


def definition(i: int, group: str) -> RoleDefinition:
    return RoleDefinition(
        cluster_permissions=frozenset({"cluster_composite_ops_ro"}),
        index_permissions=frozenset(
            {
                IndexPermission(frozenset({f"logs-{i}-*"}), frozenset({group})),
                IndexPermission(
                    frozenset({f"metrics-{i % 50}-*"}),
                    frozenset({"read"}),
                    dls=json.dumps({"term": {"team": f"t{i % 7}"}}, separators=(",", ":")),
                ),
            }
        ),
        tenant_permissions=frozenset(
            {TenantPermission(frozenset({f"tenant-{i % 30}"}), frozenset({"kibana_all_read"}))}
        ),
    )


def principal(n: int) -> tuple[str, str]:
    if n % 2:
        return "users", f"arn:aws:iam::111111111111:user/u{n}"
    return "backend_roles", f"arn:aws:iam::222222222222:role/team/r{n}"


def user(rng: random.Random, roles: list[str]) -> InternalUser:
    """An internal user: backend roles from the principal pool, one role held directly."""
    backend = frozenset(principal(rng.randrange(PRINCIPALS))[1] for _ in range(rng.randint(1, 3)))
    return InternalUser(backend, frozenset({rng.choice(roles)}), (("team", "t"),), "bench")


def mapping(rng: random.Random) -> RoleMapping:
    fields: dict[str, list[str]] = {"users": [], "backend_roles": []}
    for n in rng.sample(range(PRINCIPALS), PER_ROLE):
        field, value = principal(n)
        fields[field].append(value)
    return RoleMapping.of(None, **fields)


def main() -> None:
    collector.tune()  # as the command line runs
    for users in (0, USERS):  # without internal users (as before they counted), and with
        run(users)


def run(users: int) -> None:
    rng = random.Random(7)
    all_groups = groups()

    live_groups = {**builtin_groups(), **all_groups}
    names = [f"role_{i}" for i in range(ROLES)]
    live = LiveState(
        definitions={
            "mappings": {name: LiveDefinition(mapping(rng)) for name in names},
            "roles": {
                n: LiveDefinition(definition(i, f"mid_{i % 60}")) for i, n in enumerate(names)
            },
            "action_groups": {n: LiveDefinition(g) for n, g in live_groups.items()},
            "tenants": {},
            "internal_users": {f"user_{i}": LiveDefinition(user(rng, names)) for i in range(users)},
        },
    )
    current = live.models("mappings")
    desired_roles = {
        name: mapping(rng) if i % 10 == 0 else current[name] for i, name in enumerate(names)
    }
    desired_definitions = [
        Desired("roles", n, definition(i, f"top_{i % 40}")) for i, n in enumerate(names)
    ] + [Desired("action_groups", n, g) for n, g in all_groups.items()]
    desired_definitions += [
        Desired("internal_users", f"user_{i}", user(rng, names)) for i in range(0, users, 10)
    ]
    file_text = mapping_file(desired_roles, desired_definitions)
    answers = wire(live)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "big.yaml")
        path.write_text(file_text, encoding="utf-8")
        started = time.process_time()
        loaded = load(str(path))
        load_cpu = time.process_time() - started
    assert loaded.file is not None, loaded.errors[:3]
    started = time.process_time()
    parsed = parse(answers)
    parse_cpu = time.process_time() - started
    started = time.process_time()
    result = plan(loaded.file.entries, parsed, frozenset())
    plan_cpu = time.process_time() - started
    distinct = {
        v for m in current.values() for f in ("users", "backend_roles") for v in m.values(f)
    }
    started = time.process_time()
    entries = review(
        current,
        {n: e.definition for n, e in live.defined("roles").items()},
        live_groups,
        {n: e.definition for n, e in live.defined("internal_users").items()},
    )
    review_cpu = time.process_time() - started
    print(
        f"{ROLES} roles and mappings x {PER_ROLE} principals ({len(distinct)} distinct), "
        f"{len(all_groups)} action groups nested 3 deep, {users} internal users"
    )
    print(
        f"whole plan: {load_cpu + parse_cpu + plan_cpu:.2f}s CPU = load the file "
        f"{load_cpu:.2f}s + parse the 5 answers {parse_cpu:.2f}s + plan {plan_cpu:.2f}s"
    )
    print(
        f"plan with access impact: {plan_cpu:.2f}s CPU "
        f"({len(result.of('mappings'))} mapping changes, "
        f"{len(result.changes) - len(result.of('mappings'))} definition changes, "
        f"{len(result.access_changes)} principals whose access changes)"
    )
    print(f"access review: {review_cpu:.2f}s CPU ({len(entries)} principals)")
    if users:
        questions(live, sorted(distinct), rng)


def questions(live: LiveState, principals: list[str], rng: random.Random) -> None:
    """can-i for every principal, who-can, and 200 access tests, over one evaluator."""
    from osaccess.access.assertions import run as run_tests
    from osaccess.access.cani import can_i, request_for
    from osaccess.access.state import evaluated, live_state, subject_for
    from osaccess.access.whocan import who_can
    from osaccess.file.access_tests import AccessTest, Probe

    started = time.process_time()
    evaluator = evaluated(live_state(live, "bench"))
    build_cpu = time.process_time() - started
    asked = [request_for(f"GET /logs-{rng.randrange(ROLES)}-a/_search", None) for _ in principals]
    started = time.process_time()
    allowed = 0
    for name, request in zip(principals, asked, strict=True):
        caller = subject_for(name).caller
        allowed += can_i(evaluator.of(caller), caller, request).allowed
    per_question = (time.process_time() - started) / len(principals) * 1000
    print(
        f"can-i: {per_question:.2f} ms CPU per question over {len(principals)} principals "
        f"({allowed} yes; the evaluator built in {build_cpu:.2f}s)"
    )
    started = time.process_time()
    found = who_can(evaluator, "indices:data/read/search", "logs-7-a")
    grouped = who_can(evaluator, "write", "metrics-*")
    print(
        f"who-can: {(time.process_time() - started) / 2:.2f}s CPU per question "
        f"({len(found.principals)} may search logs-7-a, {len(grouped.principals)} may write "
        "to metrics-*)"
    )
    tests = [
        AccessTest(
            "principal",
            i,
            principal=rng.choice(principals),
            can=(Probe(f"GET /logs-{rng.randrange(ROLES)}-a/_search", None, i),),
            cannot=(Probe("DELETE /metrics-1-a", None, i),),
        )
        for i in range(190)
    ]
    tests += [AccessTest("only", 190 + i, role=f"role_{i}") for i in range(5)]
    tests += [
        AccessTest("nobody", 195 + i, probe=Probe("indices:admin/delete", f"logs-{i}-*", 0))
        for i in range(5)
    ]
    started = time.process_time()
    report = run_tests(tests, evaluator, "bench.yaml")
    print(
        f"osaccess test, {len(tests)} tests (190 of principals, 5 only, 5 nobody): "
        f"{time.process_time() - started:.2f}s CPU ({len(report.failures)} failures)"
    )


def mapping_file(roles: dict[str, RoleMapping], definitions: list[Desired]) -> str:
    """The desired state as a mapping file, written the way import writes one."""
    from osaccess import kinds
    from osaccess.file.importer import emit

    document: dict[str, Any] = {
        "cluster": {"endpoint": "https://search-bench.eu-west-1.es.amazonaws.com"},
        "roles": {
            name: {f: sorted(value.values(f)) for f in ("users", "backend_roles")}
            for name, value in roles.items()
        },
        "role_definitions": {},
        "action_groups": {},
        "internal_users": {},
    }
    for wanted in definitions:
        assert wanted.definition is not None
        section = "role_definitions" if wanted.kind == "roles" else wanted.kind
        document[section][wanted.name] = kinds.by_name(wanted.kind).import_body(wanted.definition)
    return emit(document)


def wire(live: LiveState) -> dict[str, str]:
    """The GET answers as the cluster sends them (JSON text), by kind."""
    return {
        kind: json.dumps({n: e.definition.to_wire() for n, e in live.defined(kind).items()})
        for kind in ("mappings", "roles", "action_groups", "tenants", "internal_users")
    }


def parse(answers: dict[str, str]) -> LiveState:
    """Each answer read as the cluster read reads it (each kind's from_document)."""
    from osaccess import kinds

    return LiveState(
        definitions={
            kind: kinds.by_name(kind).from_document(json.loads(body))
            for kind, body in answers.items()
        }
    )


if __name__ == "__main__":
    main()
