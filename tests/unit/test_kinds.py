"""A resource kind is one module: a toy kind, defined here and registered, loads, validates,
plans, renders, goes through the plan document and back, imports, and is written in its place,
with no edit anywhere else. Also the layout rules that keep the house readable."""

from __future__ import annotations

import ast
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from yaml.nodes import MappingNode, Node

from osaccess import errors, kinds
from osaccess.file.format import Field, Section
from osaccess.file.importer import render_import
from osaccess.file.layout import json_schema
from osaccess.file.loader import load
from osaccess.file.reader import Reader
from osaccess.kinds.base import Action, Kind, strings, text
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.mappings import RoleMapping
from osaccess.kinds.roles import RoleDefinition
from osaccess.model import ClusterSpec, LiveState, MappingFile, Safety
from osaccess.run.engine import execute, make_plan, plan, write_order
from osaccess.run.plandoc import PlanContext, dump
from osaccess.run.plandoc import load as load_plan
from osaccess.run.render import render_markdown, render_text
from tests.unit.fakecluster import FakeCluster
from tests.unit.states import state

# -- the toy kind: everything it needs, in one place ----------------------------------------------


@dataclass(frozen=True)
class Widget:
    parts: frozenset[str] = frozenset()
    colour: str | None = None
    description: str | None = None

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"parts": sorted(self.parts)}
        for key in ("colour", "description"):
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        return body

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> Widget:
        return cls(
            strings(body.get("parts")), text(body.get("colour")), text(body.get("description"))
        )


class Widgets(Kind):
    name = "widgets"
    section = "widgets"
    endpoint = "widgets"
    label = "widget"
    include = "widgets"
    order = 25  # after roles, before tenants and mappings
    model = Widget
    entry = Section(
        "in widget",
        (
            Field("parts", "strings", "What it is made of.", required=True, non_empty=True),
            Field("colour", "string", "Its colour.", choices=("red", "blue")),
            Field("description", "string", "What it is for."),
        ),
    )
    summary = "Widgets: name -> parts."

    def reserved_problem(self, name: str) -> tuple[str, str] | None:
        if name == "builtin_widget":
            return (f"widget {name!r} is built in", "leave it out")
        return None

    def read(
        self, reader: Reader, name: str, keys: dict[str, Node], node: MappingNode, key: Node
    ) -> Widget | None:
        if not reader.required(keys, node, self.entry):
            return None
        colour = (
            reader.choice(keys["colour"], self.entry.field("colour")) if "colour" in keys else None
        )
        parts = frozenset(value for value, _ in reader.values(keys, "parts"))
        return Widget(parts, colour, reader.description(keys))


@pytest.fixture
def widgets() -> Iterator[Widgets]:
    kind = kinds.register(Widgets())
    assert isinstance(kind, Widgets)
    try:
        yield kind
    finally:
        kinds.unregister(kind.name)


FILE = """\
cluster: {endpoint: "https://search.example.test", auth: none}
roles:
  logs_reader: {users: [bob]}
role_definitions:
  logs_reader:
    cluster_permissions: [cluster_monitor]
widgets:
  gear:
    parts: [cog, spring]
    colour: red
  lever:
    state: absent
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "cluster.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def loaded(tmp_path: Path, text: str = FILE) -> MappingFile:
    result = load(write(tmp_path, text))
    assert result.file is not None, [p.render() for p in result.problems]
    return result.file


LIVE_WIDGETS = {
    "lever": LiveDefinition(Widget(frozenset({"bar"}))),
    "builtin_widget": LiveDefinition(Widget(frozenset({"x"})), reserved=True),
}


def live_state() -> LiveState:
    return state(
        roles={"logs_reader"},
        definitions={"widgets": dict(LIVE_WIDGETS), "action_groups": {}},
    )


# -- the toy kind, end to end ---------------------------------------------------------------------


def test_a_registered_kind_loads_from_its_section(widgets: Widgets, tmp_path: Path) -> None:
    file = loaded(tmp_path)
    toys = file.of("widgets")
    assert [(d.name, d.definition) for d in toys] == [
        ("gear", Widget(frozenset({"cog", "spring"}), "red")),
        ("lever", None),
    ]
    assert toys[0].location.endswith("cluster.yaml:8")


def test_a_registered_kind_is_validated_with_file_line_and_the_fix(
    widgets: Widgets, tmp_path: Path
) -> None:
    broken = FILE.replace("colour: red", "colour: green\n    colr: x").replace(
        "  lever:\n    state: absent",
        "  builtin_widget:\n    parts: [a]\n  bare:\n    colour: blue",
    )
    result = load(write(tmp_path, broken))
    assert result.file is None
    rendered = [p.render() for p in result.errors]
    assert any(":10:13: error: colour 'green' is not one of red, blue" in r for r in rendered)
    assert any(":11:5: error: unknown key 'colr' in widget 'gear'" in r for r in rendered)
    assert any("did you mean 'colour'?" in r for r in rendered)
    assert any(":12:3: error: widget 'builtin_widget' is built in" in r for r in rendered)
    assert any(":15:5: error: parts is missing in widget" in r for r in rendered)


def test_a_registered_kind_is_in_the_json_schema(widgets: Widgets) -> None:
    schema = json_schema()
    entry = schema["properties"]["widgets"]["additionalProperties"]
    assert set(entry["properties"]) == {"parts", "colour", "description", "state"}
    assert entry["properties"]["colour"] == {"enum": ["red", "blue"], "description": "Its colour."}
    assert {"required": ["widgets"]} in schema["anyOf"]
    assert "widgets" not in json.dumps(_without(widgets))


def _without(kind: Widgets) -> dict[str, Any]:
    kinds.unregister(kind.name)
    try:
        return json_schema()
    finally:
        kinds.register(kind)


def test_a_registered_kind_plans_renders_and_survives_the_plan_document(
    widgets: Widgets, tmp_path: Path
) -> None:
    file = loaded(tmp_path)
    result = plan(file.entries, live_state())
    toys = result.of("widgets")
    assert [(c.name, c.action) for c in toys] == [("gear", Action.CREATE), ("lever", Action.DELETE)]
    assert toys[0].operation() == {
        "op": "add",
        "path": "/gear",
        "value": {"parts": ["cog", "spring"], "colour": "red"},
    }
    context = PlanContext(
        file.path,
        file.cluster.endpoint,
        "_plugins/_security",
        cluster=file.cluster,
        safety=Safety(),
    )
    text = io.StringIO()
    render_text(result, context, text)
    assert "+ widget gear  (create widget)" in text.getvalue()
    assert "+ parts               cog" in text.getvalue()
    assert "- widget lever  (DELETE the widget)" in text.getvalue()
    markdown = io.StringIO()
    render_markdown(result, context, markdown)
    assert "| ➕ add | widget `gear` | colour | `red` |" in markdown.getvalue()
    assert load_plan(dump([(result, context)])) == [(result, context)]


def test_a_registered_kind_is_written_in_its_place(widgets: Widgets, tmp_path: Path) -> None:
    file = loaded(tmp_path)
    result = plan(file.entries, live_state())
    assert write_order(result) == ["roles", "widgets", "mappings"]
    cluster = FakeCluster(documents={"widgets": {"lever": {"parts": ["bar"]}}})
    with cluster.api() as api:
        planned = make_plan(api, file)
        with pytest.raises(errors.Refused, match="the plan deletes the widget 'lever'"):
            execute(api, file, planned, sleep=False)  # deleting needs --force, as for any kind
        assert cluster.requests_of("PATCH") == []
        applied = execute(api, file, planned, sleep=False, force=True)
    patched = [s.path.rsplit("/", 1)[-1] for s in cluster.requests_of("PATCH")]
    assert patched == ["roles", "widgets", "rolesmapping"]
    assert applied.verified
    assert cluster.documents["widgets"] == {"gear": {"parts": ["cog", "spring"], "colour": "red"}}


def test_a_registered_kind_imports_and_plans_empty_after_import(
    widgets: Widgets, tmp_path: Path
) -> None:
    live = live_state()
    text = render_import(
        live,
        ClusterSpec("https://search.example.test", auth="none"),
        source="x",
        include=("widgets",),
    )
    assert "# Left out of widgets, built in or reserved: builtin_widget" in text
    assert "widgets:\n  lever:\n    parts:\n      - bar\n" in text
    file = loaded(tmp_path, text)
    assert plan(file.entries, live).empty


def test_the_built_in_kinds_are_registered_in_write_order() -> None:
    assert [k.name for k in kinds.in_write_order()] == [
        "action_groups",
        "roles",
        "tenants",
        "internal_users",
        "audit",
        "mappings",
    ]
    assert [k.section for k in kinds.registered()] == [
        "roles",
        "role_definitions",
        "action_groups",
        "tenants",
        "internal_users",
        "audit",
    ]
    assert kinds.by_name("roles").model is RoleDefinition
    assert kinds.by_name("mappings").model is RoleMapping


# -- the layout ------------------------------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parents[2] / "osaccess"


def test_no_module_is_a_giant_room() -> None:
    """At most 450 lines per module, 300 per class, 8 modules directly in osaccess/."""
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        if lines > 450:
            too_long.append(f"{path.relative_to(PACKAGE)}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                size = node.end_lineno - node.lineno + 1
                if size > 300:
                    too_long.append(f"{path.relative_to(PACKAGE)}: class {node.name}: {size}")
    assert too_long == []
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
