"""Reviewed plans: written with a checksum, read back exactly, refused when altered."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from osaccess.errors import Refused
from osaccess.kinds.base import Desired
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.mappings import RoleMapping
from osaccess.model import ClusterSpec, LiveState, Safety
from osaccess.run.engine import plan
from osaccess.run.plandoc import PlanContext, dump, fingerprint
from osaccess.run.plandoc import read as load_reviewed
from tests.unit.states import mapping as mapping_entry
from tests.unit.states import state as cluster_state

SPEC = ClusterSpec(
    "https://search-x.eu-west-1.es.amazonaws.com",
    auth="aws",
    region="eu-west-1",
    assume_role="arn:aws:iam::111111111111:role/deployer",
)


def write_plan(tmp_path: Path) -> Path:
    live = cluster_state(
        {"readall": LiveDefinition(RoleMapping.of(users=["bob"]))}, frozenset({"readall", "logs"})
    )
    plan_ = plan(
        [
            mapping_entry("readall", RoleMapping.of(users=["alice"])),
            mapping_entry("logs", RoleMapping.of(backend_roles=["x"])),
        ],
        live,
    )
    context = PlanContext(
        "mappings/x.yaml",
        SPEC.endpoint,
        "_plugins/_security",
        cluster=SPEC,
        safety=Safety(protect=frozenset({"admin"})),
        fingerprint=fingerprint(live, plan_),
    )
    path = tmp_path / "plan.json"
    path.write_text(dump([(plan_, context)]))
    return path


def test_a_plan_reads_back_as_it_was_written(tmp_path: Path) -> None:
    ((reviewed, context),) = load_reviewed(write_plan(tmp_path))
    assert context.cluster == SPEC
    assert context.safety is not None and context.safety.protect == {"admin"}
    assert [c.name for c in reviewed.changes] == ["logs", "readall"]
    readall = reviewed.changes[1]
    assert readall.before == RoleMapping.of(users=["bob"])
    assert readall.operation() == {
        "op": "add",
        "path": "/readall",
        "value": {"users": ["alice"], "backend_roles": [], "and_backend_roles": [], "hosts": []},
    }


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["plans"][0]["changes"][1]["after"]["users"].append("mallory"),
        lambda d: d["plans"][0]["connection"].update(endpoint="https://elsewhere"),
        lambda d: d["plans"][0]["safety"]["protect"].clear(),
    ],
    ids=["principal-added", "endpoint-changed", "protection-dropped"],
)
def test_an_altered_plan_is_refused(tmp_path: Path, edit: object) -> None:
    path = write_plan(tmp_path)
    document = json.loads(path.read_text())
    edit(document)  # type: ignore[operator]
    path.write_text(json.dumps(document))
    with pytest.raises(Refused, match="altered after it was made"):
        load_reviewed(path)


def test_something_else_is_not_taken_for_a_plan(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("{not json")
    with pytest.raises(Refused, match="not a plan written by osaccess"):
        load_reviewed(path)


def test_the_fingerprint_changes_with_what_the_file_names_only() -> None:
    from osaccess.kinds.base import Unchanged
    from osaccess.kinds.live import LiveDefinition
    from osaccess.kinds.roles import RoleDefinition
    from osaccess.run.plan import Plan

    reviewed = Plan((), (Unchanged("mappings", "readall"), Unchanged("roles", "team")))

    def state(users: list[str], extra: bool = False, team: str = "x") -> LiveState:
        mappings = {"readall": LiveDefinition(RoleMapping.of(users=users))}
        if extra:
            mappings["other"] = LiveDefinition(RoleMapping())
        team_role = LiveDefinition(RoleDefinition(frozenset({team})))
        return cluster_state(mappings, definitions={"roles": {"team": team_role}})

    assert fingerprint(state(["a"]), reviewed) != fingerprint(state(["a", "b"]), reviewed)
    assert fingerprint(state(["a"]), reviewed) != fingerprint(state(["a"], team="y"), reviewed)
    assert fingerprint(state(["a"]), reviewed) == fingerprint(state(["a"], True), reviewed)


# -- the plan document is lossless ------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from osaccess.run.plandoc import load  # noqa: E402
from osaccess.run.safety import Refusal  # noqa: E402
from tests.unit.test_plan import scenarios  # noqa: E402

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
contexts = st.builds(
    PlanContext,
    file=text,
    endpoint=text,
    api_prefix=st.sampled_from(["_plugins/_security", "_opendistro/_security"]),
    cluster=st.builds(
        ClusterSpec,
        endpoint=text,
        auth=st.sampled_from(["aws", "basic", "cert", "none"]),
        region=st.one_of(st.none(), text),
        assume_role=st.one_of(st.none(), text),
        username=st.one_of(st.none(), text),
        iam_lookup_roles=st.lists(text, max_size=2).map(tuple),
        domain=st.one_of(st.none(), text),
        account=st.one_of(st.none(), text),
    ),
    safety=st.builds(
        Safety,
        admin_roles=st.lists(text, min_size=1, max_size=3).map(tuple),
        protect=st.frozensets(text, max_size=3),
        removal_percent=st.floats(0, 100),
        removal_minimum=st.integers(0, 100),
    ),
    fingerprint=st.one_of(st.none(), text),
    caller=st.one_of(st.none(), text),
    refusals=st.lists(st.builds(Refusal, text, text, st.booleans()), max_size=3).map(tuple),
)


@settings(max_examples=200)
@given(
    scenario=scenarios(),
    protect=st.frozensets(text, max_size=3),
    context=contexts,
    names=st.dictionaries(text, text, max_size=3),
)
def test_load_of_dump_is_the_plan(
    scenario: tuple[list[Desired], LiveState],
    protect: frozenset[str],
    context: PlanContext,
    names: dict[str, str],
) -> None:
    desired, state = scenario
    plan_ = replace(plan(desired, state, protect), names=names)
    assert load(dump([(plan_, context)])) == [(plan_, context)]


def test_shared_and_protected_lines_survive_the_plan_file() -> None:
    """What the reviewer saw (left alone, protected) is what apply --plan shows."""
    import io

    from osaccess.kinds.mappings import Ownership
    from osaccess.run.render import render_text

    live = cluster_state(
        {
            "all_access": LiveDefinition(RoleMapping.of(users=["master", "other"])),
            "readall": LiveDefinition(RoleMapping.of(users=["breakglass", "bob"])),
            "quiet": LiveDefinition(RoleMapping.of(users=["someone"])),
        },
        frozenset({"all_access", "readall", "quiet"}),
    )
    plan_ = plan(
        [
            mapping_entry("all_access", RoleMapping.of(users=["alice"]), Ownership.SHARED),
            mapping_entry("readall", RoleMapping.of(users=["alice"])),
            mapping_entry("quiet", RoleMapping.of(), Ownership.SHARED),
        ],
        live,
        frozenset({"breakglass"}),
    )
    context = PlanContext(
        "f.yaml", "https://x", "_plugins/_security", cluster=SPEC, safety=Safety()
    )
    ((loaded, loaded_context),) = load(dump([(plan_, context)]))
    before, after = io.StringIO(), io.StringIO()
    render_text(plan_, context, before)
    render_text(loaded, loaded_context, after)
    assert "left alone" in before.getvalue() and "protected" in before.getvalue()
    assert after.getvalue() == before.getvalue()
