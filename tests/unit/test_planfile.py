"""Reviewed plans: written with a checksum, read back exactly, refused when altered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osaccess.errors import Refused
from osaccess.model import ClusterSpec, DesiredRole, LiveMapping, LiveState, RoleMapping, Safety
from osaccess.plan import plan
from osaccess.planfile import fingerprint, load_reviewed
from osaccess.render import PlanContext, plans_document

SPEC = ClusterSpec(
    "https://search-x.eu-west-1.es.amazonaws.com",
    auth="aws",
    region="eu-west-1",
    assume_role="arn:aws:iam::111111111111:role/deployer",
)


def write_plan(tmp_path: Path) -> Path:
    live = LiveState(
        {"readall": LiveMapping(RoleMapping.of(users=["bob"]))}, frozenset({"readall", "logs"})
    )
    plan_ = plan(
        [
            DesiredRole("readall", RoleMapping.of(users=["alice"])),
            DesiredRole("logs", RoleMapping.of(backend_roles=["x"])),
        ],
        live,
    )
    context = PlanContext(
        "mappings/x.yaml",
        SPEC.endpoint,
        "_plugins/_security",
        cluster=SPEC,
        safety=Safety(protect=frozenset({"admin"})),
        fingerprint=fingerprint(live.mappings, ["readall", "logs"]),
    )
    path = tmp_path / "plan.json"
    path.write_text(plans_document([(plan_, context)]))
    return path


def test_a_plan_reads_back_as_it_was_written(tmp_path: Path) -> None:
    (entry,) = load_reviewed(write_plan(tmp_path))
    assert entry.cluster == SPEC
    assert entry.safety.protect == {"admin"}
    assert [c.role for c in entry.plan.changes] == ["logs", "readall"]
    readall = entry.plan.changes[1]
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


def test_the_fingerprint_changes_with_the_live_mappings() -> None:
    one = {"readall": LiveMapping(RoleMapping.of(users=["a"]))}
    two = {"readall": LiveMapping(RoleMapping.of(users=["a", "b"]))}
    assert fingerprint(one, ["readall"]) != fingerprint(two, ["readall"])
    assert fingerprint(one, ["readall"]) == fingerprint(
        {**one, "other": LiveMapping(RoleMapping())}, ["readall"]
    )
