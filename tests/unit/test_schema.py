"""The JSON Schema: committed as printed, and every example file satisfies it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from osaccess.fileformat import json_schema as mapping_file_schema
from osaccess.loader import load

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted([*ROOT.glob("examples/mappings/*.yaml"), *ROOT.glob("mappings/*.yaml")])


def test_the_committed_schema_is_what_osaccess_schema_prints() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "osaccess", "schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(printed) == mapping_file_schema()
    committed = (ROOT / "schema" / "mapping-file.schema.json").read_text()
    assert committed == printed, "run: osaccess schema > schema/mapping-file.schema.json"
    jsonschema.Draft202012Validator.check_schema(mapping_file_schema())


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_satisfies_the_schema_and_osaccess(path: Path) -> None:
    first_line = path.read_text().splitlines()[0]
    assert first_line.startswith("# yaml-language-server: $schema=")
    schema_path = (path.parent / first_line.split("$schema=", 1)[1]).resolve()
    assert schema_path == (ROOT / "schema" / "mapping-file.schema.json").resolve()
    jsonschema.validate(yaml.safe_load(path.read_text()), mapping_file_schema())
    result = load(str(path))
    assert result.errors == []


@pytest.mark.parametrize(
    "document",
    [
        {"cluster": {"endpoint": "https://x"}},
        {"cluster": {"endpoint": "https://x"}, "roles": {"r": {"userz": ["a"]}}},
        {"cluster": {"endpoint": "ftp://x"}, "roles": {"r": ["a"]}},
        {"cluster": {"endpoint": "https://x"}, "roles": {"r": {"ownership": "mine"}}},
    ],
)
def test_the_schema_rejects_what_osaccess_rejects(document: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, mapping_file_schema())
