"""Role definitions, action groups and tenants: planned, guarded and written per type, in
dependency order, one PATCH each; a failure between two PATCHes says what landed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osaccess import errors
from osaccess.file.loader import load
from osaccess.kinds.action_groups import ActionGroup
from osaccess.kinds.base import Action, Desired
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.mappings import RoleMapping
from osaccess.kinds.roles import IndexPermission, RoleDefinition
from osaccess.kinds.tenants import Tenant
from osaccess.model import ClusterSpec, LiveState, MappingFile
from osaccess.run.engine import execute, make_plan, plan, write_order
from osaccess.run.safety import Identity, evaluate
from tests.unit.fakecluster import FakeCluster, status
from tests.unit.states import mapping
from tests.unit.states import state as cluster_state

ANALYTICS = "arn:aws:iam::222222222222:role/analytics"
TEAM = RoleDefinition(
    cluster_permissions=frozenset({"cluster_composite_ops_ro"}),
    index_permissions=frozenset(
        {
            IndexPermission(
                frozenset({"logs-*"}),
                frozenset({"logs_read"}),
                dls='{"term":{"team":"blue"}}',
                fls=frozenset({"~secret"}),
                masked_fields=frozenset({"email"}),
            )
        }
    ),
    description="Read the team's logs",
)
GROUP = ActionGroup(frozenset({"read"}), "index", "read logs")


def file_with(*definitions: Desired, roles: tuple[Desired, ...] = ()) -> MappingFile:
    return MappingFile(
        "f.yaml",
        ClusterSpec("https://fake.test", auth="basic", username="admin"),
        (*roles, *definitions),
    )


def test_the_file_syntax_reads_into_the_model(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(
        "cluster: {endpoint: https://x.example.com, auth: none}\n"
        "roles:\n  logs_team: [" + ANALYTICS + "]\n"
        "role_definitions:\n"
        "  logs_team:\n"
        "    description: Read the team's logs\n"
        "    cluster_permissions: [cluster_composite_ops_ro]\n"
        "    index_permissions:\n"
        "      - index_patterns: [logs-*]\n"
        "        allowed_actions: [logs_read]\n"
        '        dls: \'{"term": {"team": "blue"}}\'\n'
        "        fls: [~secret]\n"
        "        masked_fields: [email]\n"
        "action_groups:\n"
        "  logs_read: {type: index, allowed_actions: [read], description: read logs}\n"
        "tenants:\n  analytics: {description: The analytics team}\n"
    )
    result = load(str(path))
    assert result.problems == []
    assert result.file is not None
    found = {(d.kind, d.name): d.definition for d in result.file.entries if d.kind != "mappings"}
    assert found == {
        ("roles", "logs_team"): TEAM,
        ("action_groups", "logs_read"): GROUP,
        ("tenants", "analytics"): Tenant("The analytics team"),
    }


def test_a_file_of_definitions_alone_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("cluster: {endpoint: https://x.example.com}\ntenants:\n  t: {}\n")
    result = load(str(path))
    assert result.errors == []


@pytest.mark.parametrize(
    ("dls", "expected"),
    [
        ("'[1, 2]'", "dls must be a JSON object"),
        ("'{not json'", "dls is not valid JSON"),
        ("[a, b]", "dls must be a JSON object"),
    ],
)
def test_dls_must_be_a_json_object(tmp_path: Path, dls: str, expected: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(
        "cluster: {endpoint: https://x.example.com}\nrole_definitions:\n  r:\n"
        "    index_permissions:\n      - index_patterns: [a]\n        allowed_actions: [read]\n"
        f"        dls: {dls}\n"
    )
    (error,) = load(str(path)).errors
    assert expected in error.message
    assert error.line == 7


def live(**definitions: dict[str, LiveDefinition]) -> LiveState:
    return cluster_state(definitions={"mappings": {}, **definitions})


def test_definitions_are_planned_in_dependency_order_and_unset_descriptions_kept() -> None:
    current = live(roles={"logs_team": LiveDefinition(RoleDefinition(description="kept"))})
    wanted = RoleDefinition(cluster_permissions=frozenset({"cluster_monitor"}))
    result = plan(
        [
            mapping("logs_team", RoleMapping.of(backend_roles=[ANALYTICS])),
            Desired("tenants", "analytics", Tenant("t")),
            Desired("roles", "logs_team", wanted),
            Desired("action_groups", "logs_read", GROUP),
        ],
        current,
    )
    assert [(c.kind, c.action) for c in result.changes] == [
        ("action_groups", Action.CREATE),
        ("roles", Action.UPDATE),
        ("tenants", Action.CREATE),
        ("mappings", Action.CREATE),
    ]
    assert result.changes[1].after == RoleDefinition(
        cluster_permissions=frozenset({"cluster_monitor"}), description="kept"
    )
    assert write_order(result) == ["action_groups", "roles", "tenants", "mappings"]


def test_a_plan_that_only_deletes_writes_in_reverse_order() -> None:
    current = live(roles={"old": LiveDefinition(TEAM)}, action_groups={"g": LiveDefinition(GROUP)})
    state = current.replaced("mappings", {"old": LiveDefinition(RoleMapping.of(users=["u"]))})
    result = plan(
        [
            mapping("old", RoleMapping(), absent=True),
            Desired("roles", "old", None),
            Desired("action_groups", "g", None),
        ],
        state,
    )
    assert write_order(result) == ["mappings", "roles", "action_groups"]
    guards = {
        r.guard for r in evaluate(result, state, MappingFile("f", ClusterSpec("x")).safety, None)
    }
    assert "definition-deletion" in guards


def test_a_mapping_of_a_role_the_file_defines_needs_no_role_on_the_cluster() -> None:
    result = plan(
        [
            mapping("logs_team", RoleMapping.of(backend_roles=[ANALYTICS])),
            Desired("roles", "logs_team", TEAM),
        ],
        live(),
    )
    assert [(c.kind, c.name) for c in result.changes] == [
        ("roles", "logs_team"),
        ("mappings", "logs_team"),
    ]
    with pytest.raises(errors.PlanError, match="does not define it"):
        plan([mapping("nowhere", RoleMapping.of(users=["u"]))], live())


def test_reserved_definitions_on_the_cluster_are_refused_at_plan_time() -> None:
    current = live(roles={"security_manager": LiveDefinition(TEAM, reserved=True)})
    with pytest.raises(errors.PlanError, match="is reserved on this cluster"):
        plan([Desired("roles", "security_manager", TEAM)], current)


def test_deleting_the_admin_role_the_caller_relies_on_is_a_lockout() -> None:
    admin_role = RoleDefinition(
        cluster_permissions=frozenset({"cluster:admin/opendistro_security/*"})
    )
    current = live(roles={"all_access_team": LiveDefinition(admin_role)})
    result = plan([Desired("roles", "all_access_team", None)], current)
    from osaccess.model import Safety

    safety = Safety(admin_roles=("all_access_team",))
    me = Identity("me", frozenset(), frozenset({"all_access_team"}))
    refusals = evaluate(result, current, safety, me)
    assert any(r.guard == "lockout" and not r.forcible for r in refusals)


def test_definitions_are_written_one_patch_per_type_in_order() -> None:
    cluster = FakeCluster(mappings={"all_access": {"users": ["admin"]}}, roles={"all_access"})
    file = file_with(
        Desired("roles", "logs_team", TEAM),
        Desired("action_groups", "logs_read", GROUP),
        Desired("tenants", "analytics", Tenant("t")),
        roles=(mapping("logs_team", RoleMapping.of(backend_roles=[ANALYTICS])),),
    )
    with cluster.api() as api:
        planned = make_plan(api, file)
        assert api.requests == 7  # mappings, roles, action groups, tenants, users, audit, whoami
        result = execute(api, file, planned)
    patches = [s.path.rsplit("/", 1)[-1] for s in cluster.requests_of("PATCH")]
    assert patches == ["actiongroups", "roles", "tenants", "rolesmapping"]
    assert cluster.documents["roles"]["logs_team"] == TEAM.to_wire()
    assert result.verified
    with cluster.api() as api:
        assert make_plan(api, file).plan.empty


def test_a_failure_between_two_patches_says_what_landed_and_the_next_plan_converges() -> None:
    cluster = FakeCluster(mappings={"all_access": {"users": ["admin"]}}, roles={"all_access"})
    file = file_with(
        Desired("roles", "logs_team", TEAM),
        roles=(mapping("logs_team", RoleMapping.of(backend_roles=[ANALYTICS])),),
    )
    cluster.fault("PATCH rolesmapping", status(400, "Invalid configuration"))
    with cluster.api() as api, pytest.raises(errors.PartiallyApplied) as caught:
        execute(api, file, make_plan(api, file))
    assert caught.value.applied == ("roles",)
    assert caught.value.failed == "mappings"
    assert "applied roles; then writing mappings failed" in str(caught.value)
    with cluster.api() as api:
        again = make_plan(api, file).plan
    assert [(c.kind, c.name) for c in again.changes] == [("mappings", "logs_team")]
    with cluster.api() as api:
        execute(api, file, make_plan(api, file))
    assert json.loads(cluster.requests_of("PATCH")[-1].body or b"")[0]["path"] == "/logs_team"


def test_plan_warns_of_actions_the_cluster_does_not_know() -> None:
    current = live(action_groups={"read": LiveDefinition(GROUP), "crud": LiveDefinition(GROUP)})
    wanted = RoleDefinition(
        index_permissions=frozenset(
            {IndexPermission(frozenset({"a"}), frozenset({"raed", "crud", "indices:data/read*"}))}
        )
    )
    result = plan([Desired("roles", "r", wanted, "f.yaml:3")], current)
    (warning,) = result.warnings
    assert "f.yaml:3: role 'r' names 'raed'" in warning
    assert "did you mean 'read'?" in warning
