"""Every registered kind goes through the same life, as a Terraform provider's acceptance
template takes each resource: plan a new entry, apply it, plan again (nothing left), import the
cluster, and plan the imported file (nothing to do). A kind registered without a sample here
fails the first test, so no kind joins the house untried."""

from __future__ import annotations

from pathlib import Path

import pytest

from osaccess import kinds
from osaccess.file.importer import render_import
from osaccess.kinds.base import Action
from osaccess.run import secrets
from osaccess.run.engine import execute, make_plan
from tests.unit.fakecluster import FakeCluster
from tests.unit.loading import loaded

HEAD = "cluster: {endpoint: https://fake.test, auth: basic, username: admin}\n"
HASH = "$2y$12$" + "a" * 53  # the shape of a bcrypt hash (the fake node keeps it as given)

# kind name -> the file's section holding one new entry
SAMPLES = {
    "mappings": "roles:\n  readall: [arn:aws:iam::111111111111:user/alice]\n",
    "roles": "role_definitions:\n  team:\n    cluster_permissions: [cluster_monitor]\n",
    "action_groups": "action_groups:\n  team_read: {type: index, allowed_actions: [read]}\n",
    "tenants": "tenants:\n  team: {description: The team's tenant}\n",
    "internal_users": "internal_users:\n  shipper:\n    backend_roles: [shippers]\n"
    "    hash: {env: SHIPPER_HASH}\n",
    "audit": "audit:\n  enabled: true\n",
}
AUDIT = {"enabled": False, "audit": {}, "compliance": {"enabled": False}}


def cluster() -> FakeCluster:
    fake = FakeCluster(
        mappings={"all_access": {"users": ["admin"]}}, roles={"all_access", "readall"}
    )
    fake.documents["audit"] = {"config": dict(AUDIT)}  # the node always has one
    return fake


def test_every_registered_kind_has_a_sample() -> None:
    assert sorted(kind.name for kind in kinds.registered()) == sorted(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_plan_apply_plan_import_plan(name: str, tmp_path: Path) -> None:
    kind = kinds.by_name(name)
    sources = secrets.Sources(lambda: pytest.fail("no AWS"), tmp_path, {"SHIPPER_HASH": HASH})
    file = secrets.resolve_file(loaded(tmp_path, HEAD + SAMPLES[name]), sources)
    fake = cluster()
    with fake.api() as api:
        planned = make_plan(api, file)
        (change,) = planned.plan.changes
        assert (change.kind, change.action) == (
            name,
            Action.UPDATE if kind.single_document else Action.CREATE,
        )
        result = execute(api, file, planned, sleep=False)
        assert result.verified and result.writes == (name,)
        assert make_plan(api, file).plan.empty
        live = api.read_state()
    text = render_import(live, file.cluster, source="test", include=(kind.include,))
    (tmp_path / "imported").mkdir()
    imported = loaded(tmp_path / "imported", text)
    assert imported.of(name), text
    with fake.api() as api:
        again = make_plan(api, imported).plan
    assert again.empty, [(c.kind, c.name, c.lines()) for c in again.changes]
