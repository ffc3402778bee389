"""Planning is a pure function: desired + live -> the changes, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osaccess.errors import PlanError
from osaccess.kinds.base import Action, Desired
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.mappings import (
    FIELDS,
    Ownership,
    RoleMapping,
    added,
    description_change,
    detail_of,
    removed,
)
from osaccess.kinds.planning import applied
from osaccess.model import LiveState
from osaccess.run.engine import plan
from tests.unit.states import mapping, state
from tests.unit.states import mapping as mapping_of

ALICE = "arn:aws:iam::111111111111:user/alice"
ADMIN_ROLE = "arn:aws:iam::111111111111:role/platform-admin"
MASTER = "arn:aws:iam::111111111111:role/master"


def live(
    mappings: dict[str, RoleMapping],
    roles: set[str] | None = None,
    reserved: set[str] = frozenset(),
) -> LiveState:  # type: ignore[assignment]
    return state(
        {n: LiveDefinition(m, reserved=n in reserved) for n, m in mappings.items()},
        roles if roles is not None else set(mappings) | {"all_access", "readall", "new_role"},
    )


def role(
    name: str,
    ownership: Ownership = Ownership.EXCLUSIVE,
    absent: bool = False,
    description: str | None = None,
    **fields: list[str],
) -> Desired:
    return mapping(name, RoleMapping.of(description, **fields), ownership, absent, f"f.yaml:{name}")


def test_creating_a_mapping() -> None:
    p = plan([role("readall", users=[ALICE])], live({}))
    (change,) = p.changes
    assert change.action is Action.CREATE
    assert added(change, "users") == {ALICE}
    assert change.operation() == {
        "op": "add",
        "path": "/readall",
        "value": {"users": [ALICE], "backend_roles": [], "and_backend_roles": [], "hosts": []},
    }


def test_exclusive_roles_remove_principals_not_in_the_file() -> None:
    current = RoleMapping.of(users=[ALICE, "bob"], backend_roles=[ADMIN_ROLE])
    p = plan([role("readall", users=[ALICE])], live({"readall": current}))
    (change,) = p.changes
    assert change.action is Action.UPDATE
    assert removed(change, "users") == {"bob"}
    assert removed(change, "backend_roles") == {ADMIN_ROLE}
    assert p.removed_count == 2


def test_shared_roles_only_add_and_leave_others_alone() -> None:
    current = RoleMapping.of(users=["admin"], backend_roles=[MASTER])
    p = plan(
        [role("all_access", Ownership.SHARED, backend_roles=[ADMIN_ROLE])],
        live({"all_access": current}),
    )
    (change,) = p.changes
    assert change.principals[1] == 0
    assert change.after is not None
    assert change.after.backend_roles == {MASTER, ADMIN_ROLE}
    assert detail_of(change).left_alone == {
        "users": frozenset({"admin"}),
        "backend_roles": frozenset({MASTER}),
    }


def test_order_duplicates_and_flags_make_no_difference() -> None:
    current = RoleMapping.from_wire(
        {
            "users": ["b", "a", "a"],
            "backend_roles": [],
            "reserved": False,
            "hidden": False,
            "hosts": [],
        }
    )
    p = plan([role("readall", users=["a", "b"])], live({"readall": current}))
    assert p.empty
    assert [u.name for u in p.unchanged] == ["readall"]


def test_roles_not_in_the_file_are_never_touched() -> None:
    others = {"kibana_user": RoleMapping.of(users=["x"]), "readall": RoleMapping.of(users=["y"])}
    p = plan([role("readall", users=["z"])], live(others))
    assert [c.name for c in p.changes] == ["readall"]


def test_an_unset_description_keeps_the_live_one_and_a_set_one_replaces_it() -> None:
    current = RoleMapping.of("kept", users=["a"])
    assert plan([role("readall", users=["a"])], live({"readall": current})).empty
    p = plan([role("readall", description="new", users=["a"])], live({"readall": current}))
    assert description_change(p.changes[0]) == ("kept", "new")


def test_absent_deletes_the_mapping() -> None:
    p = plan([role("readall", absent=True)], live({"readall": RoleMapping.of(users=["a"])}))
    (change,) = p.changes
    assert change.action is Action.DELETE
    assert change.operation() == {"op": "remove", "path": "/readall"}
    assert plan([role("readall", absent=True)], live({})).empty


def test_missing_roles_and_reserved_mappings_are_errors_before_anything_is_sent() -> None:
    state = live(
        {"kibana_server": RoleMapping.of(users=["k"])},
        roles={"kibana_server"},
        reserved={"kibana_server"},
    )
    with pytest.raises(PlanError) as error:
        plan([role("kibana_server", users=["x"]), role("no_such_role", users=["x"])], state)
    text = str(error.value)
    assert "'kibana_server' is reserved" in text
    assert "role 'no_such_role' does not exist" in text


def test_names_are_escaped_as_json_pointers() -> None:
    p = plan([role("team~ops", users=["a"])], live({}, roles={"team~ops"}))
    assert p.changes[0].operation()["path"] == "/team~0ops"


# -- properties ---------------------------------------------------------------------------------

values = st.sampled_from(["a", "b", "c", ALICE, ADMIN_ROLE, MASTER, "*", "ldap-x"])
mappings = st.builds(
    lambda u, b, ab, h, d: RoleMapping(frozenset(u), frozenset(b), frozenset(ab), frozenset(h), d),
    st.sets(values, max_size=4),
    st.sets(values, max_size=4),
    st.sets(values, max_size=2),
    st.sets(values, max_size=2),
    st.none() | st.sampled_from(["d1", "d2"]),
)
names = st.sampled_from(["r1", "r2", "r3", "r4", "r5"])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Desired], LiveState]:
    live_maps = draw(st.dictionaries(names, mappings, max_size=5))
    desired_names = draw(st.sets(names, max_size=5))
    desired = []
    for name in sorted(desired_names):
        ownership = draw(st.sampled_from(list(Ownership)))
        absent = ownership is Ownership.EXCLUSIVE and draw(st.booleans()) and draw(st.booleans())
        value = RoleMapping() if absent else draw(mappings)
        desired.append(mapping_of(name, value, ownership, absent))
    return desired, state(live_maps, ["r1", "r2", "r3", "r4", "r5"])


@settings(max_examples=300)
@given(scenarios())
def test_applying_a_plan_reaches_the_desired_state_and_then_plans_nothing(
    scenario: tuple[list[Desired], LiveState],
) -> None:
    desired, live_state = scenario
    first = plan(desired, live_state)
    done = applied(live_state, first.changes)
    after = done.models("mappings")
    for wanted in desired:
        current = after.get(wanted.name)
        if wanted.definition is None:
            assert current is None
            continue
        assert current is not None
        for name in FIELDS:
            if wanted.definition.ownership is Ownership.EXCLUSIVE:
                assert current.values(name) == wanted.definition.mapping.values(name)
            else:
                assert wanted.definition.mapping.values(name) <= current.values(name)
    second = plan(desired, done)
    assert second.empty


@settings(max_examples=300)
@given(scenarios())
def test_unmanaged_roles_and_shared_strangers_are_never_touched(
    scenario: tuple[list[Desired], LiveState],
) -> None:
    desired, live_state = scenario
    after = applied(live_state, plan(desired, live_state).changes).models("mappings")
    before = live_state.models("mappings")
    managed = {d.name for d in desired}
    for name, value in before.items():
        if name not in managed:
            assert after[name] == value
    for wanted in desired:
        shared = wanted.definition is not None and wanted.definition.ownership is Ownership.SHARED
        if shared and wanted.name in before:
            for field_name in FIELDS:
                assert before[wanted.name].values(field_name) <= after[wanted.name].values(
                    field_name
                )


def test_plans_are_the_same_bytes_whatever_the_hash_seed() -> None:
    """Sets iterate in a different order under another PYTHONHASHSEED; no output may depend
    on it (golden files and plan checksums would flicker)."""
    import os
    import subprocess
    import sys

    program = (
        "from osaccess.model import *\n"
        "from osaccess.kinds.mappings import *\n"
        "from tests.unit.states import mapping, state\n"
        "from osaccess.run.engine import plan\n"
        "from osaccess.run.plandoc import PlanContext, dump\n"
        "from osaccess.run.render import render_markdown, render_text\n"
        "import io\n"
        "names = [f'user-{i}' for i in range(40)]\n"
        "live = state({'r': RoleMapping.of(users=names[:30], hosts=names),"
        " 's': RoleMapping.of(backend_roles=names)}, {'r', 's', 't'})\n"
        "desired = [mapping('r', RoleMapping.of(users=names[10:])),"
        " mapping('s', RoleMapping.of(backend_roles=names[:5]), Ownership.SHARED),"
        " mapping('t', RoleMapping.of(and_backend_roles=names))]\n"
        "p = plan(desired, live, frozenset(names[:3]))\n"
        "c = PlanContext('f.yaml', 'https://x', '_plugins/_security')\n"
        "out = io.StringIO(); render_text(p, c, out); render_markdown(p, c, out)\n"
        "print(dump([(p, c)]).replace('\"osaccess_version\"', 'v') + out.getvalue())\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", program],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
