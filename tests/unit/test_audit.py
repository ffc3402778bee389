"""The audit configuration kind: the file's section, what the file leaves out keeps the
cluster's value, read-only settings refused, and a cluster without the API refused only for a
file that has an audit section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osaccess import errors
from osaccess.file.loader import load
from osaccess.kinds.audit import AUDIT, AuditConfig
from osaccess.kinds.live import LiveDefinition
from osaccess.model import LiveState, MappingFile
from osaccess.run.engine import make_plan, plan
from tests.unit.fakecluster import FakeCluster
from tests.unit.loading import loaded
from tests.unit.states import state as cluster_state

HEAD = "cluster: {endpoint: https://fake.test, auth: basic, username: admin}\n"
LIVE = {
    "enabled": False,
    "audit": {"ignore_users": ["kibanaserver"], "log_request_body": True},
    "compliance": {"enabled": True},
}


def file_of(tmp_path: Path, text: str) -> MappingFile:
    return loaded(tmp_path, HEAD + text)


def live(readonly: tuple[str, ...] = ()) -> LiveState:
    config = LiveDefinition(AuditConfig.of(LIVE, readonly))
    return cluster_state(definitions={"audit": {"config": config}})


def test_what_the_file_leaves_out_keeps_the_clusters_value(tmp_path: Path) -> None:
    file = file_of(tmp_path, "audit:\n  enabled: true\n  audit:\n    log_request_body: false\n")
    (change,) = plan(file.entries, live()).changes
    assert change.after.data == {
        "enabled": True,
        "audit": {"ignore_users": ["kibanaserver"], "log_request_body": False},
        "compliance": {"enabled": True},
    }
    assert change.operation() == {"op": "add", "path": "/config", "value": change.after.data}
    same = file_of(tmp_path, "audit:\n  audit:\n    ignore_users: [kibanaserver]\n")
    assert plan(same.entries, live()).empty


def test_mistakes_are_reported_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(HEAD + "audit:\n  enabled: yes please\n  audit:\n    log_body: true\n")
    found = [p.render() for p in load(str(path)).errors]
    assert any(":3:" in p and "audit.enabled must be true or false" in p for p in found), found
    assert any(":5:" in p and "unknown key 'log_body'" in p for p in found), found


def test_a_setting_the_cluster_fixes_is_refused(tmp_path: Path) -> None:
    file = file_of(tmp_path, "audit:\n  audit:\n    log_request_body: false\n")
    with pytest.raises(errors.PlanError) as caught:
        plan(file.entries, live(readonly=("/audit/log_request_body",)))
    assert "fixes these audit settings" in "\n".join(caught.value.problems)


def test_a_cluster_without_the_api_fails_only_a_file_with_an_audit_section(tmp_path: Path) -> None:
    cluster = FakeCluster()  # answers no handler for the audit endpoint
    with cluster.api() as api:
        assert make_plan(api, file_of(tmp_path, "tenants:\n  t: {}\n")).plan is not None
        with pytest.raises(errors.PlanError) as caught:
            make_plan(api, file_of(tmp_path, "audit:\n  enabled: true\n"))
    (problem,) = caught.value.problems
    assert "f.yaml:3: the cluster refuses the audit configuration API" in problem
    assert "enable audit logs for the domain first" in problem
    assert AUDIT.optional


def test_every_result_an_outcome_can_have_is_one_of_the_documented_ones() -> None:
    from osaccess.run.audit_log import AuditRecord, Result

    documented = Path(__file__).resolve().parents[2].joinpath("docs", "safety.md").read_text()
    for result in Result:
        if result is not Result.PLANNED:
            assert f"`{result.value}`" in documented, result
    record = AuditRecord("f.yaml", "https://c", result=Result.PARTIALLY_APPLIED)
    assert record.data()["result"] == "partially applied"
    assert json.loads(json.dumps(record.data()))["result"] == "partially applied"
