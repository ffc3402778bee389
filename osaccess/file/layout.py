"""The whole mapping file's layout: the cluster block, one section per registered kind, the
guards and the access tests; and the JSON Schema of it (`osaccess schema`).

The sections' own fields are described in :mod:`osaccess.file.format` (below the kinds); this
module puts the registered kinds together, so it sits above them.
"""

from __future__ import annotations

from typing import Any

from osaccess import kinds
from osaccess.file.access_tests import FIELD as TESTS
from osaccess.file.format import CLUSTER, THRESHOLDS, Field, Section, section_schema


def top() -> Section:
    """The top level: the cluster block, one section per registered kind, the guards."""
    return Section(
        "at the top level",
        (
            Field(
                "cluster", "section", "How to reach the cluster.", required=True, section=CLUSTER
            ),
            *(kind.field() for kind in kinds.registered()),
            Field("protect", "strings", "Principals never removed from any mapping."),
            Field(
                "admin_roles",
                "strings",
                "Roles that grant the security REST API (lockout guard).",
                non_empty=True,
            ),
            Field("thresholds", "section", "Removal thresholds.", section=THRESHOLDS),
            TESTS,
        ),
    )


def managed_sections() -> tuple[str, ...]:
    """The top-level keys of which a file needs at least one: the kinds' sections."""
    return tuple(kind.section for kind in kinds.registered())


def json_schema() -> dict[str, Any]:
    """The JSON Schema of mapping files, for editors (yaml-language-server) and CI."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "osaccess mapping file",
        "description": "Who holds which OpenSearch security roles on one cluster, and what those "
        "roles, action groups and tenants are.",
        **section_schema(top()),
        "anyOf": [{"required": [name]} for name in managed_sections()],
    }
