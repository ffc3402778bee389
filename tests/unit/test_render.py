"""Rendered plans (text, Markdown, JSON) are reviewed golden files; removals stand out."""

from __future__ import annotations

import io
import json

from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.mappings import Ownership, RoleMapping
from osaccess.run.engine import plan
from osaccess.run.plandoc import PlanContext, dump
from osaccess.run.render import render_markdown, render_text
from tests.golden import assert_golden
from tests.unit.states import mapping, state

ALICE = "arn:aws:iam::111111111111:user/alice"
MASTER = "arn:aws:iam::111111111111:role/sandbox-master"
ANALYTICS = "arn:aws:iam::222222222222:role/analytics"
CONTEXT = PlanContext(
    "mappings/logs.yaml", "https://search-logs.eu-west-1.es.amazonaws.com", "_plugins/_security"
)


def sample_plan():  # type: ignore[no-untyped-def]
    live = state(
        {
            "all_access": RoleMapping.of("Master user", users=["admin"], backend_roles=[MASTER]),
            "readall": RoleMapping.of(users=["kibanaro", "bob"]),
            "old_team": RoleMapping.of(users=["carol", "dave"]),
            "logs_writer": RoleMapping.of(backend_roles=[ANALYTICS]),
        },
        {"all_access", "readall", "old_team", "logs_reader", "logs_writer"},
    )
    desired = [
        mapping("all_access", RoleMapping.of(backend_roles=[MASTER, ANALYTICS]), Ownership.SHARED),
        mapping("readall", RoleMapping.of("Read-only", users=["kibanaro"])),
        mapping("old_team", absent=True),
        mapping("logs_reader", RoleMapping.of(users=[ALICE], backend_roles=[ANALYTICS])),
        mapping("logs_writer", RoleMapping.of(backend_roles=[ANALYTICS])),
    ]
    return plan(desired, live)


def test_text_plan() -> None:
    out = io.StringIO()
    render_text(sample_plan(), CONTEXT, out)
    text = out.getvalue()
    assert_golden("plan.txt", text)
    assert "bob   <- REMOVED" in text
    assert "DELETE the mapping: 2 principal(s) lose this role" in text
    assert "\033[" not in text


def test_text_plan_in_colour_marks_removals_in_red() -> None:
    out = io.StringIO()
    render_text(sample_plan(), CONTEXT, out, color=True)
    assert "\033[1;31m      - users             bob   <- REMOVED\033[0m" in out.getvalue()


def test_markdown_plan() -> None:
    out = io.StringIO()
    render_markdown(sample_plan(), CONTEXT, out)
    text = out.getvalue()
    assert_golden("plan.md", text)
    assert "> **3 principal(s) will be REMOVED and 1 mapping(s) deleted.**" in text


def test_json_plan_is_stable_and_complete() -> None:
    text = dump([(sample_plan(), CONTEXT)])
    assert_golden("plan.json", text)
    data = json.loads(text)["plans"][0]
    assert data["format_version"] == 2
    assert data["summary"] == {
        "create": 1,
        "update": 2,
        "delete": 1,
        "unchanged": 1,
        "principals_added": 3,
        "principals_removed": 3,
        "by_kind": {"mappings": {"create": 1, "update": 2, "delete": 1, "unchanged": 1}},
    }
    removed = {c["name"]: c["removed"] for c in data["changes"]}
    assert removed["readall"] == {"users": ["bob"]}


def test_the_summary_counts_every_kind_not_only_the_mappings() -> None:
    from osaccess.kinds.base import Desired
    from osaccess.kinds.tenants import Tenant

    live = state(
        definitions={
            "tenants": {"old": LiveDefinition(Tenant("o")), "kept": LiveDefinition(Tenant("k"))}
        },
    )
    wanted = [
        Desired("tenants", "new", Tenant("n")),
        Desired("tenants", "kept", Tenant("k")),
        Desired("tenants", "old", None),
    ]
    planned = plan(wanted, live)
    summary = json.loads(dump([(planned, CONTEXT)]))["plans"][0]["summary"]
    assert summary["by_kind"] == {
        "tenants": {"create": 1, "update": 0, "delete": 1, "unchanged": 1}
    }
    assert (summary["create"], summary["delete"], summary["unchanged"]) == (1, 1, 1)


def test_an_empty_plan_says_so() -> None:
    empty = plan([], state())
    out = io.StringIO()
    render_text(empty, CONTEXT, out)
    assert "No changes: the cluster matches the file." in out.getvalue()


def test_a_long_list_of_unchanged_roles_is_shortened() -> None:
    names = [f"role_{i:04d}" for i in range(5000)]
    live = state({n: RoleMapping.of(users=["a"]) for n in names}, names)
    unchanged = plan([mapping(n, RoleMapping.of(users=["a"])) for n in names], live)
    out = io.StringIO()
    render_text(unchanged, CONTEXT, out)
    assert "role_0009 and 4990 more." in out.getvalue()
    assert len(out.getvalue()) < 1000


def test_resolved_values_show_what_the_file_called_them() -> None:
    from dataclasses import replace

    sso = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0a1b"
    live = state({}, {"readall"})
    planned = plan([mapping("readall", RoleMapping.of(backend_roles=[sso]))], live)
    planned = replace(planned, names={sso: "sso: Admin"})
    text, markdown = io.StringIO(), io.StringIO()
    render_text(planned, CONTEXT, text)
    render_markdown(planned, CONTEXT, markdown)
    assert f"+ backend_roles     {sso}   (sso: Admin)" in text.getvalue()
    assert f"\n    {sso}   (sso: Admin)\n" in text.getvalue()  # in the access changes too
    assert f"`{sso}` (sso: Admin) |" in markdown.getvalue()


def test_long_access_lines_wrap_instead_of_running_off_the_screen() -> None:
    from osaccess.run.render import WIDTH, _wrapped

    line = "      + index logs-*: " + ", ".join(f"indices:data/read/thing{i}" for i in range(12))
    wrapped = _wrapped(line).split("\n")
    assert len(wrapped) > 1 and all(len(part) <= WIDTH for part in wrapped)
    assert all(part.startswith(" " * 10) for part in wrapped[1:])
    assert " ".join(p.strip() for p in wrapped) == line.strip()
