"""Effective permissions: roles, expanded action groups with their chain, tenants; and what a
plan changes, principal by principal."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from osaccess.access.impact import access_changes
from osaccess.access.permissions import Evaluator, Expander, Source, subjects_of
from osaccess.kinds.action_groups import ActionGroup
from osaccess.kinds.mappings import RoleMapping
from osaccess.kinds.roles import IndexPermission, RoleDefinition, TenantPermission
from osaccess.plugin.matching import Caller, MappingIndex, roles_of

ANALYTICS = "arn:aws:iam::222222222222:role/analytics"
GROUPS = {
    "read": ActionGroup(frozenset({"indices:data/read*"})),
    "write": ActionGroup(frozenset({"indices:data/write*"})),
    "crud": ActionGroup(frozenset({"read", "write"})),
    "team_ops": ActionGroup(frozenset({"crud", "indices:admin/refresh*"})),
    "kibana_all_read": ActionGroup(frozenset({"kibana:saved_objects/*/read"})),
    "kibana_all_write": ActionGroup(frozenset({"kibana:saved_objects/*/write"})),
}


def role(actions: set[str], *, dls: str | None = None, tenant: str | None = None) -> RoleDefinition:
    return RoleDefinition(
        cluster_permissions=frozenset({"cluster:monitor/health"}),
        index_permissions=frozenset(
            {IndexPermission(frozenset({"logs-*"}), frozenset(actions), dls=dls)}
        ),
        tenant_permissions=frozenset(
            {TenantPermission(frozenset({tenant}), frozenset({"kibana_all_read"}))}
        )
        if tenant
        else frozenset(),
    )


def test_nested_groups_expand_with_the_chain_behind_each_action() -> None:
    expanded = Expander(GROUPS).expand("team_ops")
    assert expanded == {
        "indices:data/read*": ("team_ops", "crud", "read"),
        "indices:data/write*": ("team_ops", "crud", "write"),
        "indices:admin/refresh*": ("team_ops",),
    }


def test_a_cycle_on_the_cluster_does_not_hang() -> None:
    groups = {"a": ActionGroup(frozenset({"b", "x"})), "b": ActionGroup(frozenset({"a"}))}
    assert Expander(groups).expand("a") == {"x": ("a",)}


def test_a_principal_gets_what_its_roles_allow_and_why() -> None:
    evaluator = Evaluator(
        {"logs_team": RoleMapping.of(backend_roles=[ANALYTICS])},
        {"logs_team": role({"crud"}, dls='{"term":{"team":"blue"}}', tenant="analytics")},
        GROUPS,
    )
    permissions = evaluator.of(Caller(ANALYTICS, frozenset({ANALYTICS})))
    assert permissions.roles == ("logs_team",)
    (grant,) = permissions.index
    assert grant.patterns == ("logs-*",)
    assert grant.actions["indices:data/write*"] == (Source("logs_team", ("crud", "write")),)
    assert grant.dls == '{"term":{"team":"blue"}}'
    assert permissions.data()["tenants"] == {"analytics": "read"}
    assert permissions.data()["cluster"] == ["cluster:monitor/health"]
    assert evaluator.of(Caller("arn:aws:iam::111111111111:user/alice")).roles == ()


def test_read_replaced_by_crud_shows_who_now_may_write() -> None:
    mappings = {"logs_team": RoleMapping.of(backend_roles=[ANALYTICS], users=["bob"])}
    before = Evaluator(mappings, {"logs_team": role({"read"})}, GROUPS)
    after = Evaluator(mappings, {"logs_team": role({"crud"})}, GROUPS)
    changes = access_changes(before, after, subjects_of(mappings["logs_team"]))
    assert [c.principal for c in changes] == [ANALYTICS, "bob"]
    for change in changes:
        assert change.gains.index == ((("logs-*",), ("indices:data/write*",)),)
        assert not change.loses


def test_a_removed_mapping_is_a_loss_and_patterns_are_reported_as_patterns() -> None:
    definitions = {"logs_team": role({"read"}, tenant="analytics")}
    before = Evaluator(
        {"logs_team": RoleMapping.of(backend_roles=["arn:aws:iam::222222222222:role/*"])},
        definitions,
        GROUPS,
    )
    after = Evaluator({"logs_team": RoleMapping()}, definitions, GROUPS)
    (change,) = access_changes(before, after, subjects_of(before.mappings["logs_team"]))
    assert change.principal == "anyone matching arn:aws:iam::222222222222:role/*"
    assert change.loses.roles == ("logs_team",)
    assert change.loses.tenants == (("analytics", "read"),)
    assert not change.gains


values = st.sampled_from(
    ["alice", "bob", "arn:aws:iam::1:role/a", "arn:aws:iam::1:role/*", "/b.*/", "*", "team-?"]
)
mappings_strategy = st.dictionaries(
    st.sampled_from(["r1", "r2", "r3", "r4"]),
    st.builds(
        RoleMapping.of,
        users=st.lists(values, max_size=3),
        backend_roles=st.lists(values, max_size=3),
        and_backend_roles=st.lists(values, max_size=2),
        hosts=st.lists(st.sampled_from(["10.0.0.*", "10.0.0.1", "host"]), max_size=2),
    ),
    max_size=4,
)
callers = st.builds(
    Caller,
    st.sampled_from(["alice", "bob", "", "arn:aws:iam::1:role/a", "team-1"]),
    st.frozensets(values, max_size=3),
    st.one_of(st.none(), st.sampled_from(["10.0.0.1", "host"])),
)


@settings(max_examples=300)
@given(mappings=mappings_strategy, caller=callers)
def test_the_index_holds_the_same_roles_as_the_plugins_matching(
    mappings: dict[str, RoleMapping], caller: Caller
) -> None:
    assert MappingIndex(mappings).roles_for(caller) == set(roles_of(mappings, caller))


def test_access_changes_name_action_groups_as_the_roles_write_them() -> None:
    """A reviewer reads `crud`, not its expansion; JSON keeps the expansion whole."""
    mappings = {"logs_team": RoleMapping.of(users=["bob"])}
    before = Evaluator(mappings, {"logs_team": role({"read"})}, GROUPS)
    after = Evaluator(mappings, {"logs_team": role({"crud"})}, GROUPS)
    (change,) = access_changes(before, after, subjects_of(mappings["logs_team"]))
    assert change.gains.shown_index == ((("logs-*",), ("crud",)),)
    assert change.gains.index == ((("logs-*",), ("indices:data/write*",)),)
    assert not change.loses  # crud still reads: losing the name `read` loses nothing
    data = change.data()["gains"]
    assert data["index"] == [{"patterns": ["logs-*"], "actions": ["indices:data/write*"]}]
    assert data["as_written"]["index"] == [{"patterns": ["logs-*"], "actions": ["crud"]}]


def test_a_lost_role_shows_the_groups_it_named() -> None:
    mappings = {"logs_team": RoleMapping.of(users=["bob"])}
    before = Evaluator(mappings, {"logs_team": role({"team_ops"})}, GROUPS)
    after = Evaluator({"logs_team": RoleMapping()}, {"logs_team": role({"team_ops"})}, GROUPS)
    (change,) = access_changes(before, after, subjects_of(mappings["logs_team"]))
    assert change.loses.shown_index == ((("logs-*",), ("team_ops",)),)
    assert change.loses.shown_cluster == ("cluster:monitor/health",)
    assert len(change.loses.index[0][1]) == 3  # the node's view: three concrete patterns


def test_when_a_group_itself_changes_the_expansion_is_the_difference_shown() -> None:
    mappings = {"logs_team": RoleMapping.of(users=["bob"])}
    wider = {**GROUPS, "read": ActionGroup(frozenset({"indices:data/read*", "indices:admin/get"}))}
    before = Evaluator(mappings, {"logs_team": role({"read"})}, GROUPS)
    after = Evaluator(mappings, {"logs_team": role({"read"})}, wider)
    (change,) = access_changes(before, after, subjects_of(mappings["logs_team"]))
    assert change.gains.shown_index == ((("logs-*",), ("indices:admin/get",)),)


def test_the_plan_document_keeps_both_forms() -> None:
    from osaccess.access.impact import AccessChange

    mappings = {"logs_team": RoleMapping.of(users=["bob"])}
    before = Evaluator(mappings, {"logs_team": role({"read"})}, GROUPS)
    after = Evaluator(mappings, {"logs_team": role({"team_ops"})}, GROUPS)
    (change,) = access_changes(before, after, subjects_of(mappings["logs_team"]))
    assert AccessChange.from_data(change.data()) == change
