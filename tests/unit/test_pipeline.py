"""One apply pipeline, whatever the plan's source: a plan made now (apply_files) or a reviewed
plan file (apply_reviewed), over the fake cluster. Each outcome's result, what was sent, what
the audit log holds and what the callbacks heard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from osaccess import errors
from osaccess.cluster.clients import Overrides
from osaccess.cluster.security import SecurityApi
from osaccess.model import ClusterSpec, MappingFile
from osaccess.run.audit_log import Result
from osaccess.run.orchestrator import apply_files, apply_reviewed, plan_files
from osaccess.run.plandoc import dump
from tests.unit.fakecluster import FakeCluster, status
from tests.unit.loading import loaded

ALICE = "arn:aws:iam::111111111111:user/alice"
HEAD = "cluster: {endpoint: https://fake.test, auth: basic, username: admin}\n"


def setup(tmp_path: Path, roles: str) -> tuple[FakeCluster, MappingFile, Any]:
    fake = FakeCluster(
        mappings={"all_access": {"users": ["admin"]}, "old": {"users": ["carol"]}},
        roles={"all_access", "readall", "old"},
    )

    def connector(spec: ClusterSpec, overrides: Overrides) -> SecurityApi:
        assert spec.endpoint == "https://fake.test"
        return fake.api()

    return fake, loaded(tmp_path, HEAD + "roles:\n" + roles), connector


def audit_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_plan_made_now_is_asked_once_written_verified_and_audited(tmp_path: Path) -> None:
    fake, file, connector = setup(tmp_path, f"  readall: [{ALICE}]\n")
    asked: list[list[str]] = []
    done: list[Result] = []
    log = tmp_path / "audit.jsonl"
    (outcome,) = apply_files(
        [file],
        Overrides(),
        confirm=lambda outcomes: asked.append([o.file for o in outcomes]) or True,
        on_done=lambda o: done.append(o.result),
        audit_log=log,
        connector=connector,
    )
    assert outcome.result is Result.APPLIED and outcome.error is None
    assert outcome.writes == ("mappings",)
    assert asked == [[file.path]] and done == [Result.APPLIED]
    assert fake.mappings["readall"]["users"] == [ALICE]
    (record,) = audit_records(log)
    assert (record["result"], record["applied"]) == ("applied", ["mappings"])
    assert record["changes"][0]["name"] == "readall"


def test_nothing_to_do_declined_and_refused_never_write(tmp_path: Path) -> None:
    fake, file, connector = setup(tmp_path, "  all_access: {users: [admin]}\n")
    (same,) = apply_files([file], Overrides(), connector=connector)
    assert same.result is Result.NOTHING_TO_DO
    _, wanted, _ = setup(tmp_path, f"  readall: [{ALICE}]\n")
    (declined,) = apply_files([wanted], Overrides(), confirm=lambda _: False, connector=connector)
    assert declined.result is Result.DECLINED
    _, deleting, _ = setup(tmp_path, "  old: {state: absent}\n")
    (refused,) = apply_files([deleting], Overrides(), connector=connector)
    assert refused.result is Result.REFUSED
    assert isinstance(refused.error, errors.Refused) and "mapping-deletion" in str(refused.error)
    assert fake.requests_of("PATCH") == []
    (forced,) = apply_files([deleting], Overrides(), force=True, connector=connector)
    assert forced.result is Result.APPLIED and "old" not in fake.mappings


def test_a_failed_write_is_failed_and_audited_with_its_error(tmp_path: Path) -> None:
    fake, file, connector = setup(tmp_path, f"  readall: [{ALICE}]\n")
    fake.fault("PATCH rolesmapping", status(400, "Invalid configuration"))
    log = tmp_path / "audit.jsonl"
    (outcome,) = apply_files([file], Overrides(), audit_log=log, connector=connector)
    assert outcome.result is Result.FAILED
    assert outcome.exit_code() == errors.exit_code(outcome.error)  # type: ignore[arg-type]
    (record,) = audit_records(log)
    assert record["result"] == "failed" and "Invalid configuration" in record["error"]


def reviewed_plan(tmp_path: Path, file: MappingFile, connector: Any) -> Path:
    (outcome,) = plan_files([file], Overrides(), connector=connector)
    assert outcome.plan is not None and outcome.context is not None
    path = tmp_path / "plan.json"
    path.write_text(dump([(outcome.plan, outcome.context)]))
    return path


def test_a_reviewed_plan_goes_through_the_same_pipeline(tmp_path: Path) -> None:
    fake, file, connector = setup(tmp_path, f"  readall: [{ALICE}]\n")
    path = reviewed_plan(tmp_path, file, connector)
    log = tmp_path / "audit.jsonl"
    asked: list[int] = []
    (outcome,) = apply_reviewed(
        path,
        [file],
        Overrides(),
        confirm=lambda outcomes: asked.append(len(outcomes)) or True,
        audit_log=log,
        connector=connector,
    )
    assert outcome.result is Result.APPLIED and outcome.reviewed and asked == [1]
    assert fake.mappings["readall"]["users"] == [ALICE]
    (record,) = audit_records(log)
    assert record["plan_file"] == str(path) and record["result"] == "applied"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda fake: fake.mappings.update(readall={"users": ["mallory"]}), "changed since"),
        (lambda fake: fake.mappings.update(other={"users": ["x"]}), None),  # not the file's
    ],
    ids=["stale", "elsewhere"],
)
def test_a_reviewed_plan_is_refused_when_what_it_names_moved(
    tmp_path: Path, change: Any, expected: str | None
) -> None:
    fake, file, connector = setup(tmp_path, f"  readall: [{ALICE}]\n")
    path = reviewed_plan(tmp_path, file, connector)
    change(fake)
    (outcome,) = apply_reviewed(path, [file], Overrides(), connector=connector)
    if expected is None:
        assert outcome.result is Result.APPLIED
        return
    assert outcome.result is Result.REFUSED and expected in str(outcome.error)
    assert fake.requests_of("PATCH") == []


def test_a_reviewed_plan_for_another_cluster_or_file_is_refused_before_asking(
    tmp_path: Path,
) -> None:
    fake, file, connector = setup(tmp_path, f"  readall: [{ALICE}]\n")
    path = reviewed_plan(tmp_path, file, connector)
    asked: list[int] = []
    (elsewhere,) = apply_reviewed(
        path,
        [file],
        Overrides(endpoint="https://other.test"),
        confirm=lambda outcomes: asked.append(len(outcomes)) or True,
        connector=connector,
    )
    assert elsewhere.result is Result.REFUSED and "another cluster" in str(elsewhere.error)
    other = MappingFile("other.yaml", file.cluster, file.entries)
    (wrong_file,) = apply_reviewed(path, [other], Overrides(), connector=connector)
    assert wrong_file.result is Result.REFUSED and "not among the files" in str(wrong_file.error)
    assert asked == [] and fake.requests_of("PATCH") == []
