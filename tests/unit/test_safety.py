"""The guards: lockout, protected principals, empty admin roles, mass removal, deletions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osaccess.kinds.base import Action, Desired
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.mappings import Ownership, RoleMapping, detail_of
from osaccess.kinds.planning import applied
from osaccess.model import LiveState, Safety
from osaccess.plugin.matching import Caller, matches, roles_of
from osaccess.run.engine import plan
from osaccess.run.safety import Identity, evaluate
from tests.unit.states import mapping as mapping_entry
from tests.unit.states import state as cluster_state

MASTER = "arn:aws:iam::111111111111:role/sandbox-master"
CI = "arn:aws:iam::111111111111:role/ci-deployer"
ALICE = "arn:aws:iam::111111111111:user/alice"


def state(**mappings: RoleMapping) -> LiveState:
    return cluster_state(
        {n: LiveDefinition(m) for n, m in mappings.items()},
        frozenset(mappings) | {"readall", "all_access", "security_manager"},
    )


def role_identity(arn: str, roles: set[str]) -> Identity:
    return Identity(arn, frozenset({arn}), frozenset(roles))


def desired(
    name: str, ownership: Ownership = Ownership.EXCLUSIVE, absent: bool = False, **fields: list[str]
) -> Desired:
    return mapping_entry(name, RoleMapping.of(**fields), ownership, absent, f"f.yaml:{name}")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:iam::1:role/a", "arn:aws:iam::1:role/a", True),
        ("arn:aws:iam::1:role/a", "arn:aws:iam::1:role/A", False),  # case-sensitive
        ("arn:aws:iam::1:role/*", "arn:aws:iam::1:role/x/y", True),
        ("arn:aws:iam::1:role/?", "arn:aws:iam::1:role/xy", False),
        ("/arn:aws:iam::\\d+:role/ci-.*/", "arn:aws:iam::1:role/ci-deployer", True),
        ("/ci-.*/", "my-ci-x", False),  # a regex must match the whole value
        ("a.b", "axb", False),  # only * and ? are wildcards
    ],
)
def test_patterns_match_like_the_security_plugin(pattern: str, value: str, expected: bool) -> None:
    assert matches(pattern, value) is expected


def test_and_backend_roles_need_every_pattern() -> None:
    mapping = RoleMapping.of(and_backend_roles=["team-a", "on-call"])
    assert roles_of({"r": mapping}, Caller("u", frozenset({"team-a", "on-call"})))
    assert not roles_of({"r": mapping}, Caller("u", frozenset({"team-a"})))


def test_removing_the_caller_from_every_admin_role_is_a_lockout() -> None:
    live = state(
        all_access=RoleMapping.of(backend_roles=[MASTER, CI]),
        security_manager=RoleMapping.of(backend_roles=[MASTER, CI]),
    )
    plan_ = plan(
        [
            desired("all_access", backend_roles=[MASTER]),
            desired("security_manager", backend_roles=[MASTER]),
        ],
        live,
    )
    refusals = evaluate(
        plan_, live, Safety(), role_identity(CI, {"all_access", "security_manager"})
    )
    (lockout,) = [r for r in refusals if r.guard == "lockout"]
    assert not lockout.forcible
    assert CI in lockout.message
    assert "'all_access': the plan removes" in lockout.message
    assert f"'{CI}' from backend_roles" in lockout.message


def test_keeping_one_admin_role_is_not_a_lockout() -> None:
    live = state(
        all_access=RoleMapping.of(backend_roles=[MASTER, CI]),
        security_manager=RoleMapping.of(backend_roles=[MASTER, CI]),
    )
    plan_ = plan([desired("security_manager", backend_roles=[MASTER])], live)
    refusals = evaluate(
        plan_, live, Safety(), role_identity(CI, {"all_access", "security_manager"})
    )
    assert [r.guard for r in refusals if r.guard == "lockout"] == []


def test_a_wildcard_that_still_matches_the_caller_is_not_a_lockout() -> None:
    live = state(all_access=RoleMapping.of(backend_roles=[CI]))
    plan_ = plan(
        [desired("all_access", backend_roles=["arn:aws:iam::111111111111:role/ci-*"])], live
    )
    assert not [
        r
        for r in evaluate(
            plan_, live, Safety(admin_roles=("all_access",)), role_identity(CI, {"all_access"})
        )
        if r.guard == "lockout"
    ]


def test_roles_held_by_other_means_count() -> None:
    # the caller holds all_access through something other than these mappings
    live = state(all_access=RoleMapping.of(users=["admin"], backend_roles=[CI]))
    plan_ = plan([desired("all_access", users=["admin"])], live)
    identity = Identity("admin-by-cert", frozenset(), frozenset({"all_access"}))
    assert not [r for r in evaluate(plan_, live, Safety(), identity) if r.guard == "lockout"]


def test_an_admin_role_left_empty_is_refused_even_with_force() -> None:
    live = state(security_manager=RoleMapping.of(users=["admin"]))
    plan_ = plan([desired("security_manager", users=[])], live)
    refusals = evaluate(plan_, live, Safety(), None)
    assert any(r.guard == "empty-admin-role" and not r.forcible for r in refusals)


def test_mass_removal_needs_force_and_lists_what_goes() -> None:
    users = [f"user-{i}" for i in range(8)]
    live = state(readall=RoleMapping.of(users=users))
    small = plan([desired("readall", users=users[:6])], live)  # 2 of 8 = 25%: allowed
    assert not [r for r in evaluate(small, live, Safety(), None) if r.guard == "removal-threshold"]
    big = plan([desired("readall", users=users[:5])], live)  # 3 of 8 = 37.5%
    (refusal,) = [r for r in evaluate(big, live, Safety(), None) if r.guard == "removal-threshold"]
    assert refusal.forcible
    assert "removes 3 of the 8 principals" in refusal.message
    assert "user-5 (readall), user-6 (readall), user-7 (readall)" in refusal.message


def test_thresholds_are_configurable_and_small_mappings_are_exempt() -> None:
    live = state(readall=RoleMapping.of(users=["a", "b", "c"]))
    shrink = plan([desired("readall", users=["a"])], live)  # 66%, but only 3 principals
    assert not [r for r in evaluate(shrink, live, Safety(), None) if r.guard == "removal-threshold"]
    strict = Safety(removal_percent=10, removal_minimum=2)
    assert [r for r in evaluate(shrink, live, strict, None) if r.guard == "removal-threshold"]


def test_deleting_a_mapping_needs_force() -> None:
    live = state(readall=RoleMapping.of(users=["a"]))
    plan_ = plan([desired("readall", absent=True)], live)
    (refusal,) = evaluate(plan_, live, Safety(), None)
    assert refusal.guard == "mapping-deletion"
    assert refusal.forcible


def test_protected_principals_are_kept_even_when_the_mapping_is_deleted() -> None:
    live = state(all_access=RoleMapping.of(users=["admin", "bob"], backend_roles=[MASTER]))
    protect = frozenset({MASTER, "admin"})
    replaced = plan([desired("all_access", users=["carol"])], live, protect)
    (change,) = replaced.changes
    assert change.after is not None
    assert change.after.users == {"carol", "admin"}
    assert change.after.backend_roles == {MASTER}
    assert detail_of(change).protected == {
        "users": frozenset({"admin"}),
        "backend_roles": frozenset({MASTER}),
    }
    deleted = plan([desired("all_access", absent=True)], live, protect)
    (change,) = deleted.changes
    assert change.action is Action.UPDATE  # not a delete: the protected principals stay
    assert change.after == RoleMapping.of(users=["admin"], backend_roles=[MASTER])


names = st.sampled_from(["r1", "r2", "all_access"])
values = st.sampled_from(["a", "b", MASTER, CI, ALICE, "admin"])
mapping = st.builds(
    lambda u, b: RoleMapping.of(users=u, backend_roles=b),
    st.sets(values, max_size=4),
    st.sets(values, max_size=4),
)


@settings(max_examples=300)
@given(
    st.dictionaries(names, mapping, max_size=3),
    st.dictionaries(names, mapping, max_size=3),
    st.sets(values, max_size=3),
    st.booleans(),
)
def test_protected_principals_are_never_removed(
    live_maps: dict[str, RoleMapping],
    wanted: dict[str, RoleMapping],
    protect: set[str],
    absent: bool,
) -> None:
    live = cluster_state(
        {n: LiveDefinition(m) for n, m in live_maps.items()}, frozenset(["r1", "r2", "all_access"])
    )
    roles = [
        mapping_entry(n, RoleMapping() if absent else m, Ownership.EXCLUSIVE, absent)
        for n, m in wanted.items()
    ]
    after = applied(live, plan(roles, live, frozenset(protect)).changes).models("mappings")
    for name, value in live.models("mappings").items():
        for field_name in ("users", "backend_roles"):
            kept = value.values(field_name) & protect
            assert kept <= (after[name].values(field_name) if name in after else frozenset())


def test_all_access_and_security_manager_are_never_emptied_whatever_admin_roles_says() -> None:
    live = state(all_access=RoleMapping.of(users=["admin"]))
    plan_ = plan([desired("all_access", users=[])], live)
    refusals = evaluate(plan_, live, Safety(admin_roles=("custom_admin",)), None)
    assert any(r.guard == "empty-admin-role" for r in refusals)


def test_explain_evaluates_every_kind_of_entry() -> None:
    from osaccess.access.explain import explain
    from osaccess.access.state import subject_for

    mappings = {
        "by_host": RoleMapping.of(hosts=["10.0.*"]),
        "by_and": RoleMapping.of(and_backend_roles=["team-a", "on-call"]),
        "by_regex": RoleMapping.of(users=["/kiban.*/"]),
    }
    plain = explain(subject_for("kibanaro", ["team-a"], host="10.0.3.4"), mappings)
    assert plain.roles == ["by_host", "by_regex"]
    both = explain(subject_for("x", ["team-a", "on-call"]), mappings)
    assert both.roles == ["by_and"]
    assert both.matches["by_and"][0].field == "and_backend_roles"
