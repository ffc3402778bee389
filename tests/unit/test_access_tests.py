"""who-can and the file's access tests: who is listed and why, the invariants, their file:line
errors, and that plan shows a failing test and apply refuses it before writing. That the
answers are the node's is tests/integration/test_agreement.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osaccess import errors
from osaccess.access.assertions import run
from osaccess.access.state import evaluated, offline_state
from osaccess.access.whocan import who_can
from osaccess.file.loader import load
from osaccess.kinds.action_groups import builtin_groups
from osaccess.kinds.roles import builtin_roles
from osaccess.run.engine import execute, make_plan
from osaccess.run.plandoc import PlanContext, dump
from osaccess.run.plandoc import load as load_plan
from osaccess.run.render import render_markdown, render_text
from tests.unit.fakecluster import FakeCluster
from tests.unit.loading import loaded, problems

FILE = """\
cluster:
  endpoint: https://search-x-abc.eu-west-1.es.amazonaws.com
role_definitions:
  logs_writer:
    index_permissions:
      - index_patterns: [logs-*]
        allowed_actions: [write]
  ingest:
    cluster_permissions: [indices:data/write/bulk]
    index_permissions:
      - index_patterns: ["audit-2024*"]
        allowed_actions: [crud]
  team_reader:
    index_permissions:
      - index_patterns: ["${attr.internal.team}-*"]
        allowed_actions: [read]
roles:
  logs_writer: [arn:aws:iam::111111111111:role/lambda, "arn:aws:iam::111111111111:role/dev-*"]
  ingest: [arn:aws:iam::111111111111:user/ingest]
  team_reader: {users: [carol], backend_roles: [readers]}
  all_access: [arn:aws:iam::111111111111:role/admin]
internal_users:
  carol:
    password: {env: CAROL_PASSWORD}
    attributes: {team: blue}
"""

TESTS = """\
tests:
  - name: the Lambda indexes logs
    principal: arn:aws:iam::111111111111:role/lambda
    can:
      - action: "PUT /logs-1/_doc/1"
    cannot:
      - {action: "DELETE /logs-1"}
  - principal: carol
    can: [{action: "GET /blue-1/_search"}]
    cannot: [{action: "GET /red-1/_search"}]
  - only: all_access
    principals: [arn:aws:iam::111111111111:role/break-glass]
  - nobody: {action: write, index: "audit-*"}
    except: [arn:aws:iam::111111111111:role/admin]
"""


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def cluster() -> FakeCluster:
    """A cluster with the plugin's built-in action groups and all_access, as a real one has."""
    groups = {name: group.to_wire() for name, group in builtin_groups().items()}
    roles = {"all_access": builtin_roles()["all_access"].to_wire()}
    return FakeCluster(
        mappings={"all_access": {"users": ["admin"]}},
        documents={"actiongroups": groups, "roles": roles},
    )


def state(tmp_path: Path, text: str = FILE):  # type: ignore[no-untyped-def]
    return evaluated(offline_state(loaded(tmp_path, text)))


def test_who_can_lists_values_patterns_internal_users_and_backend_roles(tmp_path: Path) -> None:
    found = who_can(state(tmp_path), "indices:data/write/index", "logs-1")
    assert {(h.principal, h.kind, h.roles) for h in found.principals} == {
        ("arn:aws:iam::111111111111:role/admin", "IAM role", ("all_access",)),
        ("arn:aws:iam::111111111111:role/lambda", "IAM role", ("logs_writer",)),
        ("anyone matching arn:aws:iam::111111111111:role/dev-*", "IAM role", ("logs_writer",)),
    }
    readers = who_can(state(tmp_path), "indices:data/read/search", "blue-x")
    carol = next(h for h in readers.principals if h.value == "carol")
    assert carol.kind == "internal user"
    assert "${attr.internal.team}-* = blue-*" in carol.data()["reasons"][0]
    # a backend role has no attributes of its own: what it may read depends on the user
    (depending,) = readers.depending
    assert depending.principal == "anyone with backend role readers"
    assert "${attr.internal.team}" in depending.data()["depends_on"][0]


def test_who_can_with_a_rest_form_applies_the_bulk_rule(tmp_path: Path) -> None:
    found = who_can(state(tmp_path), "PUT /logs-1/_doc/1", None)
    # logs_writer grants write on logs-*, but not the cluster permission a document write needs
    assert [h.principal for h in found.principals] == ["arn:aws:iam::111111111111:role/admin"]


def test_who_can_with_a_group_and_a_pattern_finds_partial_grants(tmp_path: Path) -> None:
    found = who_can(state(tmp_path), "write", "audit-*")
    ingest = next(h for h in found.principals if h.value.endswith("user/ingest"))
    assert any(
        "the indices of audit-* that audit-2024* matches" in r for r in ingest.data()["reasons"]
    )
    assert not any(h.value.endswith("role/lambda") for h in found.principals)
    with pytest.raises(
        errors.ConfigError, match="not an action name, a REST form or an action group"
    ):
        who_can(state(tmp_path), "wrte", "audit-*")


def test_access_tests_report_each_failure_with_its_line_and_reason(tmp_path: Path) -> None:
    file = loaded(tmp_path, FILE + TESTS)
    report = run(file.tests, evaluated(offline_state(file)), file.path)
    assert report.tests == 4
    by_line = {f.line: f for f in report.failures}
    text = FILE + TESTS
    put, only, nobody = (line_of(text, n) for n in ("PUT /logs-1", "- only:", "- nobody:"))
    assert sorted(by_line) == [put, only, nobody]  # carol's tests hold
    assert "also needs the cluster permission indices:data/write/bulk" in by_line[put].reason
    assert by_line[put].test == "the Lambda indexes logs"
    assert (
        by_line[only].reason == "arn:aws:iam::111111111111:role/admin holds all_access: not listed"
    )
    assert by_line[nobody].reason.startswith(
        "arn:aws:iam::111111111111:user/ingest may write on audit-*"
    )


def test_bad_access_tests_are_refused_at_file_and_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        FILE
        + """\
tests:
  - principal: x
    can: [{action: "GET /x/_foo"}]
  - principal: y
    only: all_access
  - principal: z
  - nobody: {action: indices:data/read/search}
  - only: all_access
    except: [b]
  - principal: q
    can: [{action: indices:data/read/*, index: x}]
""",
    )
    base = len(FILE.splitlines()) + 1  # the line of "tests:"
    expected = {
        base + 2: "'GET /x/_foo' is not a REST form osaccess knows",
        base + 3: "one of principal, only or nobody (this one has principal, only)",
        base + 5: "needs can or cannot",
        base + 6: "is an index action: which index?",
        base + 8: "except does not go with only",
        base + 10: "is a pattern: can-i answers for one action",
    }
    assert len(found) == len(expected), found
    for line, message in expected.items():
        assert any(f":{line}:" in p and message in p for p in found), (line, message, found)


def test_plan_shows_a_failing_test_and_apply_refuses_it_before_writing(tmp_path: Path) -> None:
    file = loaded(tmp_path, FILE + TESTS)
    fake = cluster()
    with fake.api() as api:
        planned = make_plan(api, file)
        failing = [r for r in planned.refusals if r.guard == "access-test"]
        assert len(failing) == 3 and not any(r.forcible for r in failing)
        assert planned.tests is not None and len(planned.tests.failures) == 3
        context = PlanContext(
            file.path,
            api.endpoint,
            "_plugins/_security",
            cluster=file.cluster,
            safety=file.safety,
            refusals=planned.refusals,
            tests=planned.tests,
        )
        with pytest.raises(errors.Refused) as caught:
            execute(api, file, planned, force=True)
    assert caught.value.exit_code == 3
    assert "[access-test]" in str(caught.value)
    assert fake.requests_of("PATCH") == []
    import io

    text, markdown = io.StringIO(), io.StringIO()
    render_text(planned.plan, context, text)
    render_markdown(planned.plan, context, markdown)
    for out in (text.getvalue(), markdown.getvalue()):
        assert "Access tests: 3 of 4 fail" in out
        assert f"f.yaml:{line_of(FILE + TESTS, 'PUT /logs-1')}: the Lambda indexes logs" in out
    document = json.loads(dump([(planned.plan, context)]))
    assert document["plans"][0]["tests"]["failed"] == 3
    ((_, again),) = load_plan(dump([(planned.plan, context)]))
    assert again.tests == planned.tests


def test_a_passing_file_plans_and_says_its_tests_hold(tmp_path: Path) -> None:
    file = loaded(
        tmp_path,
        FILE
        + """\
tests:
  - principal: carol
    can: [{action: "GET /blue-1/_search"}]
  - only: all_access
    principals: [arn:aws:iam::111111111111:role/admin]
""",
    )
    with cluster().api() as api:
        planned = make_plan(api, file)
    assert planned.tests is not None and planned.tests.ok and planned.tests.tests == 2
    assert not [r for r in planned.refusals if r.guard == "access-test"]


def test_validate_and_test_offline_exit_one_naming_the_failure(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from osaccess.cli import app

    path = tmp_path / "f.yaml"
    path.write_text(FILE + TESTS)
    runner = CliRunner()
    for command in (["validate", str(path)], ["test", "--offline", str(path)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, result.output
        assert "3 of 4 access test(s) fail" in result.output
        assert f"{path}:{line_of(FILE + TESTS, 'PUT /logs-1')}: the Lambda" in result.output
    result = runner.invoke(app, ["test", "--offline", "--format", "json", str(path)])
    assert json.loads(result.stdout)["ok"] is False
    assert load(str(path)).file is not None


def test_explain_tells_the_bulk_rule_filled_patterns_and_combined_restrictions(
    tmp_path: Path,
) -> None:
    from osaccess.access.explain import explain
    from osaccess.access.state import internal_subject, subject_for

    file = loaded(
        tmp_path,
        FILE.replace(
            "  team_reader:\n",
            "  masked_reader:\n    index_permissions:\n      - index_patterns: [blue-*]\n"
            "        allowed_actions: [read]\n        masked_fields: [email]\n  team_reader:\n",
        ).replace(
            "team_reader: {users: [carol]",
            "masked_reader: {users: [carol]}\n  team_reader: {users: [carol]",
        ),
    )
    s = offline_state(file)
    lambda_ = explain(
        subject_for("arn:aws:iam::111111111111:role/lambda"), s.mappings, s.definitions, s.groups
    )
    (bulk,) = lambda_.findings
    assert "writes on logs-* are granted, but a document write" in bulk
    assert "needs the cluster permission indices:data/write/bulk" in bulk
    carol = explain(
        internal_subject("carol", s.users["carol"], [], None), s.mappings, s.definitions, s.groups
    )
    assert (
        "the index pattern ${attr.internal.team}-* is blue-* for this principal" in carol.findings
    )
    (combined,) = [f for f in carol.findings if "combine" in f]
    assert "masked email" in combined
    # anyone else with the backend role: the pattern depends on the user's attribute
    other = explain(subject_for("dave", ["readers"]), s.mappings, s.definitions, s.groups)
    assert any("depends on ${attr.internal.team}" in f for f in other.findings)


def test_the_documented_example_runs(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from osaccess.cli import app

    doc = (Path(__file__).resolve().parents[2] / "docs/permissions.md").read_text()
    marker = doc.index("test_the_documented_example_runs")
    example = doc[doc.index("```yaml\n", marker) + 8 : doc.index("```\n", marker + 30)]
    path = tmp_path / "prod.yaml"
    path.write_text(example)
    runner = CliRunner()
    result = runner.invoke(app, ["test", "--offline", str(path)])
    assert result.exit_code == 0, result.output
    assert "all 4 access test(s) hold" in result.output
    # without the cluster permission for bulk, the Lambda's document write is refused
    path.write_text(example.replace("cluster_permissions: [indices:data/write/bulk]", ""))
    result = runner.invoke(app, ["test", "--offline", str(path)])
    assert result.exit_code == 1
    assert "the ingest Lambda writes logs, and cannot delete them" in result.output
    assert "also needs the cluster permission indices:data/write/bulk" in result.output


def test_the_access_impact_tells_the_bulk_rule_and_filled_in_patterns(tmp_path: Path) -> None:
    import io

    file = loaded(tmp_path, FILE)
    with cluster().api() as api:
        planned = make_plan(api, file)
    changes = {c.principal: c for c in planned.plan.access_changes}
    (note,) = changes["arn:aws:iam::111111111111:role/lambda"].notes
    assert "a document write (PUT /INDEX/_doc/ID, _bulk" in note
    assert not changes["arn:aws:iam::111111111111:user/ingest"].notes  # it has the bulk permission
    assert changes["carol"].notes == (
        "the index pattern ${attr.internal.team}-* is blue-* for this principal",
    )
    out = io.StringIO()
    context = PlanContext(file.path, api.endpoint, "_plugins/_security")
    render_text(planned.plan, context, out)
    assert "note: the index pattern ${attr.internal.team}-* is blue-* for this principal" in (
        out.getvalue()
    )
    markdown = io.StringIO()
    render_markdown(planned.plan, context, markdown)
    assert "| ⚠️ note | writes on logs-* are granted, but a document write" in markdown.getvalue()


def test_can_i_says_how_the_principal_holds_each_role(tmp_path: Path) -> None:
    from osaccess import api
    from osaccess.plugin.forms import request_for
    from osaccess.plugin.matching import Caller

    state = offline_state(
        loaded(tmp_path, FILE.replace("    attributes:", "    roles: [ingest]\n    attributes:"))
    )
    answer = api.can_i_in(
        state, Caller("carol", internal=True), request_for("GET /blue-1/_search", None)
    )
    assert answer.allowed
    assert dict(answer.held) == {
        "ingest": "held directly",
        "team_reader": "mapped through users 'carol' (matches 'carol')",
    }
    assert answer.data()["held"]["ingest"] == "held directly"


class _Iam:
    """IAM of one account, as far as a role's path goes."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    def find(self, kind: str, name: str) -> str | None:
        return self.arn if kind == "role" and self.arn.endswith("/" + name) else None


def test_an_access_test_of_an_sts_session_asks_iam_for_its_roles_path_as_can_i_does(
    tmp_path: Path,
) -> None:
    pathed = "arn:aws:iam::111111111111:role/service/lambda"
    text = FILE.replace("arn:aws:iam::111111111111:role/lambda,", f"{pathed},") + (
        "tests:\n"
        "  - principal: arn:aws:sts::111111111111:assumed-role/lambda/session-1\n"
        "    can:\n"
        "      - {action: indices:data/write/index, index: logs-1}\n"
    )
    file = loaded(tmp_path, text)
    evaluator = evaluated(offline_state(file))
    without = run(file.tests, evaluator, file.path)
    assert len(without.failures) == 1  # taken as role/lambda, which has no mapping
    with_iam = run(file.tests, evaluator, file.path, directory_for=lambda _: _Iam(pathed))  # type: ignore[arg-type,return-value]
    assert with_iam.ok, with_iam.lines()
