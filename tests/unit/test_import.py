"""import writes YAML through PyYAML's emitter: whatever a mapping may hold reads back as the
same string, so a plan of the imported file is empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osaccess.file.importer import render_import
from osaccess.file.loader import load
from osaccess.file.principals import role_name_problem, unusable
from osaccess.kinds.mappings import RoleMapping
from osaccess.model import ClusterSpec
from tests.unit.states import roles, state

# Strings YAML would read as another type if written plainly, and their kin.
TRICKY = [
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "12:30",
    "1:20:30",
    "0x1F",
    "0o17",
    "017",
    "1e3",
    ".inf",
    "-.inf",
    ".nan",
    "1_000",
    "yes",
    "No",
    "on",
    "OFF",
    "null",
    "~",
    "true",
    "y",
    "123",
    "-1.5",
    "@team",
    "#not-a-comment",
    "a: b",
    "- item",
    "&anchor",
    "*alias",
    "!tag",
    "%directive",
    "|",
    ">",
    "'quoted'",
    '"dq"',
    "{flow}",
    "[list]",
    "back\\slash",
    "Zürich-東京",
]

values = st.one_of(
    st.sampled_from(TRICKY),
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029"),
        min_size=1,
        max_size=40,
    ),
).filter(lambda v: unusable("users", v) is None)
names = values.filter(lambda v: role_name_problem(v) is None)


def round_trip(tmp_path: Path, name: str, mapping: RoleMapping) -> RoleMapping:
    live = state({name: mapping}, {name})
    path = tmp_path / "imported.yaml"
    spec = ClusterSpec("https://search-x.eu-west-1.es.amazonaws.com", auth="aws")
    path.write_text(render_import(live, spec, source="test"), encoding="utf-8")
    result = load(str(path))
    assert result.errors == [], path.read_text()
    assert result.file is not None
    (role,) = roles(result.file)
    assert role.name == name
    return role.mapping


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, value=values, description=st.one_of(st.none(), values))
def test_any_value_a_mapping_may_hold_reads_back_exactly(
    tmp_path: Path, name: str, value: str, description: str | None
) -> None:
    mapping = RoleMapping.of(description, users=[value], hosts=[value])
    assert round_trip(tmp_path, name, mapping) == mapping


@pytest.mark.parametrize("value", TRICKY)
def test_values_yaml_would_retype(tmp_path: Path, value: str) -> None:
    mapping = RoleMapping.of(users=[value])
    assert round_trip(tmp_path, value if role_name_problem(value) is None else "r", mapping) == (
        mapping
    )
