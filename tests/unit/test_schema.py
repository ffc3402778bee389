"""The JSON Schema: committed as printed, and every example file satisfies it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from osaccess.file.layout import json_schema as mapping_file_schema
from osaccess.file.loader import load

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


VALID: dict[str, object] = {
    "cluster": {
        "endpoint": "https://search-x.eu-west-1.es.amazonaws.com",
        "auth": "aws",
        "assume_role": "arn:aws:iam::111111111111:role/deployer",
        "domain": "logs",
        "account": "111111111111",
    },
    "roles": {
        "readall": ["arn:aws:iam::111111111111:user/alice"],
        "logs": {
            "principals": [
                "arn:aws:iam::111111111111:role/analytics",
                {"sso": "AdminAccess", "account": "222222222222"},
            ],
            "users": ["kibanaro"],
            "ownership": "shared",
            "description": "logs",
        },
    },
    "protect": ["arn:aws:iam::111111111111:role/breakglass"],
    "admin_roles": ["all_access"],
    "thresholds": {"removal_percent": 30, "removal_minimum": 4},
    "role_definitions": {
        "logs_team": {
            "description": "Read the team's logs",
            "cluster_permissions": ["cluster_composite_ops_ro"],
            "index_permissions": [
                {
                    "index_patterns": ["logs-*"],
                    "allowed_actions": ["logs_read"],
                    "dls": {"term": {"team": "blue"}},
                    "fls": ["~secret"],
                    "masked_fields": ["email"],
                }
            ],
            "tenant_permissions": [
                {"tenant_patterns": ["analytics"], "allowed_actions": ["kibana_all_read"]}
            ],
        }
    },
    "action_groups": {
        "logs_read": {"type": "index", "allowed_actions": ["read"], "description": "x"}
    },
    "tenants": {"analytics": {"description": "The analytics team"}},
}


def mutations() -> list[tuple[str, dict[str, object]]]:
    """Each way a document can break its shape, derived from the format's own definitions:
    an unknown key in every section, a wrong type and a bad value for every field."""
    import copy

    from osaccess import kinds
    from osaccess.file.format import CLUSTER, THRESHOLDS, Section
    from osaccess.file.layout import top
    from osaccess.kinds.mappings import ROLE
    from osaccess.kinds.roles import INDEX_PERMISSION, TENANT_PERMISSION

    def entry(name: str) -> Section:
        section = kinds.by_name(name).field().section  # an entry's keys, state included
        assert section is not None
        return section

    TOP, ROLE_DEFINITION = top(), entry("roles")
    ACTION_GROUP, TENANT = entry("action_groups"), entry("tenants")

    places: list[tuple[str, Section, list[object]]] = [
        ("top", TOP, []),
        ("cluster", CLUSTER, ["cluster"]),
        ("role", ROLE, ["roles", "logs"]),
        ("thresholds", THRESHOLDS, ["thresholds"]),
        ("role definition", ROLE_DEFINITION, ["role_definitions", "logs_team"]),
        (
            "index permission",
            INDEX_PERMISSION,
            ["role_definitions", "logs_team", "index_permissions", 0],
        ),
        (
            "tenant permission",
            TENANT_PERMISSION,
            ["role_definitions", "logs_team", "tenant_permissions", 0],
        ),
        ("action group", ACTION_GROUP, ["action_groups", "logs_read"]),
        ("tenant", TENANT, ["tenants", "analytics"]),
    ]
    found = []
    for label, section, path in places:

        def at(document: dict[str, object], path: list[object] = path) -> dict[str, object]:
            for key in path:
                document = document[key]  # type: ignore[index]
            return document

        broken = copy.deepcopy(VALID)
        at(broken)["unknown_key"] = "x"
        found.append((f"{label}: unknown key", broken))
        for field in section.fields:
            wrong: list[object] = {
                "string": [12, ["a"]],
                "strings": ["single", [3], {"a": 1}],
                "number": ["many", [1]],
                "integer": ["many", 1.5],
                "section": [["a"], "a"],
                "roles": [["a"], "a", {}],
                "entries": [["a"], "a"],
                "items": ["a", {"a": 1}, [1]],
                "query": [12, ["a"], "not json"],
                "principals": ["single", [3], [{"account": "111111111111"}], [{"sso": "a b"}]],
                "account": ["12", 12, ["111111111111"], "nothing-like-it"],
            }[field.kind]
            if field.choices:
                wrong.append("not-a-choice")
            if field.pattern:
                wrong.append("_Nothing like/it")
            if field.maximum is not None:
                wrong.append(field.maximum + 1)
            if field.minimum is not None:
                wrong.append(field.minimum - 1)
            if field.non_empty and field.kind == "strings":
                wrong.append([])
            for value in wrong:
                broken = copy.deepcopy(VALID)
                at(broken)[field.name] = value
                found.append((f"{label}.{field.name} = {value!r}", broken))
            if field.required:
                broken = copy.deepcopy(VALID)
                del at(broken)[field.name]
                found.append((f"{label}: no {field.name}", broken))
    return found


MUTATIONS = mutations()


def loader_errors(tmp_path: Path, document: dict[str, object]) -> list[str]:
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(document))
    return [p.render() for p in load(str(path)).errors]


def test_the_valid_document_passes_both(tmp_path: Path) -> None:
    jsonschema.validate(VALID, mapping_file_schema())
    assert loader_errors(tmp_path, VALID) == []


@pytest.mark.parametrize("document", [m[1] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_the_schema_and_the_loader_reject_the_same_shapes(
    tmp_path: Path, document: dict[str, object]
) -> None:
    schema_says_no = not jsonschema.Draft202012Validator(mapping_file_schema()).is_valid(document)
    assert schema_says_no, "the JSON Schema accepts it"
    assert loader_errors(tmp_path, document), "osaccess validate accepts it"
