"""Role definitions: what a role allows (cluster, index and tenant permissions, DLS, FLS,
masking). The file's ``role_definitions`` section, the API's ``roles`` endpoint."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from yaml.nodes import MappingNode, Node, ScalarNode

from osaccess.file.format import Field, Section
from osaccess.file.source import YAML_STR, yaml_value
from osaccess.kinds.base import Kind, strings, text
from osaccess.plugin import builtin

if TYPE_CHECKING:
    from osaccess.file.reader import Reader


def canonical_dls(query: str) -> str:
    """A DLS query in one spelling (compact JSON, sorted keys), so that white space and key
    order never show as drift. A query that is not JSON is kept as it is."""
    try:
        return json.dumps(json.loads(query), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return query


@dataclass(frozen=True)
class IndexPermission:
    index_patterns: frozenset[str]
    allowed_actions: frozenset[str]
    dls: str | None = None  # a JSON query, canonical (canonical_dls)
    fls: frozenset[str] = frozenset()  # fields, or ~field to exclude
    masked_fields: frozenset[str] = frozenset()

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "index_patterns": sorted(self.index_patterns),
            "allowed_actions": sorted(self.allowed_actions),
            "fls": sorted(self.fls),
            "masked_fields": sorted(self.masked_fields),
        }
        if self.dls is not None:
            body["dls"] = self.dls
        return body

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> IndexPermission:
        dls = body.get("dls")
        return cls(
            index_patterns=strings(body.get("index_patterns")),
            allowed_actions=strings(body.get("allowed_actions")),
            dls=canonical_dls(dls) if isinstance(dls, str) and dls.strip() else None,
            fls=strings(body.get("fls")),
            masked_fields=strings(body.get("masked_fields")),
        )

    def sort_key(self) -> str:
        return json.dumps(self.to_wire(), sort_keys=True)


@dataclass(frozen=True)
class TenantPermission:
    tenant_patterns: frozenset[str]
    allowed_actions: frozenset[str]

    def to_wire(self) -> dict[str, Any]:
        return {
            "tenant_patterns": sorted(self.tenant_patterns),
            "allowed_actions": sorted(self.allowed_actions),
        }

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> TenantPermission:
        return cls(strings(body.get("tenant_patterns")), strings(body.get("allowed_actions")))

    def sort_key(self) -> str:
        return repr(self.to_wire())


@dataclass(frozen=True)
class RoleDefinition:
    """What a role allows. Set semantics throughout: order and duplicates never matter."""

    cluster_permissions: frozenset[str] = frozenset()
    index_permissions: frozenset[IndexPermission] = frozenset()
    tenant_permissions: frozenset[TenantPermission] = frozenset()
    description: str | None = None

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "cluster_permissions": sorted(self.cluster_permissions),
            "index_permissions": [
                p.to_wire() for p in sorted(self.index_permissions, key=IndexPermission.sort_key)
            ],
            "tenant_permissions": [
                p.to_wire() for p in sorted(self.tenant_permissions, key=TenantPermission.sort_key)
            ],
        }
        if self.description is not None:
            body["description"] = self.description
        return body

    def actions(self) -> frozenset[str]:
        """Every action or action group the role names, wherever it names it."""
        found = set(self.cluster_permissions)
        for permission in self.index_permissions:
            found |= permission.allowed_actions
        for tenant in self.tenant_permissions:
            found |= tenant.allowed_actions
        return frozenset(found)

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> RoleDefinition:
        def entries(key: str) -> list[Mapping[str, Any]]:
            return [p for p in body.get(key) or [] if isinstance(p, Mapping)]

        return cls(
            cluster_permissions=strings(body.get("cluster_permissions")),
            index_permissions=frozenset(
                map(IndexPermission.from_wire, entries("index_permissions"))
            ),
            tenant_permissions=frozenset(
                map(TenantPermission.from_wire, entries("tenant_permissions"))
            ),
            description=text(body.get("description")),
        )


def _required(name: str, description: str) -> Field:
    return Field(name, "strings", description, required=True, non_empty=True)


INDEX_PERMISSION = Section(
    "in an index permission",
    (
        _required("index_patterns", "Index names or patterns (logs-*)."),
        _required(
            "allowed_actions",
            "Action groups (read, crud, ...) or action patterns (indices:data/read/*).",
        ),
        Field(
            "dls",
            "query",
            "Document-level security: a query (JSON object) that a document must match.",
        ),
        Field(
            "fls",
            "strings",
            "Field-level security: the fields visible, or ~field for the fields hidden.",
        ),
        Field("masked_fields", "strings", "Fields whose values are shown hashed."),
    ),
)

TENANT_PERMISSION = Section(
    "in a tenant permission",
    (
        _required("tenant_patterns", "Tenant names or patterns."),
        _required("allowed_actions", "kibana_all_read or kibana_all_write (or actions)."),
    ),
)

ROLE_DEFINITION = Section(
    "in role definition",
    (
        Field("description", "string", "What the role is for."),
        Field(
            "cluster_permissions",
            "strings",
            "Cluster action groups (cluster_monitor, ...) or actions (cluster:monitor/*).",
        ),
        Field(
            "index_permissions",
            "items",
            "What the role may do on which indices.",
            section=INDEX_PERMISSION,
        ),
        Field(
            "tenant_permissions",
            "items",
            "Which Dashboards tenants the role may read or write.",
            section=TENANT_PERMISSION,
        ),
    ),
)


class Roles(Kind):
    name = "roles"
    section = "role_definitions"
    endpoint = "roles"
    label = "role"
    include = "roles"
    order = 20  # after the action groups they use, before the mappings that name them
    model = RoleDefinition
    entry = ROLE_DEFINITION
    summary = "Role definitions: role name -> what the role allows."

    def reserved_problem(self, name: str) -> tuple[str, str] | None:
        return builtin.reserved_problem(self.name, name)

    def actions(self, value: Any) -> frozenset[str]:
        found: frozenset[str] = value.actions()
        return found

    def read(
        self, reader: Reader, name: str, keys: dict[str, Node], node: MappingNode, key: Node
    ) -> RoleDefinition:
        cluster = reader.values(keys, "cluster_permissions")
        reader.actions += [(value, item, "cluster") for value, item in cluster]
        index = [
            IndexPermission(
                index_patterns=_set(reader.values(entry, "index_patterns")),
                allowed_actions=allowed,
                dls=_dls(reader, entry["dls"]) if "dls" in entry else None,
                fls=_set(reader.values(entry, "fls")),
                masked_fields=_set(reader.values(entry, "masked_fields")),
            )
            for entry, allowed in _permissions(reader, keys, INDEX_PERMISSION, name, "index")
        ]
        tenants = [
            TenantPermission(_set(reader.values(entry, "tenant_patterns")), allowed)
            for entry, allowed in _permissions(reader, keys, TENANT_PERMISSION, name, "kibana")
        ]
        return RoleDefinition(
            cluster_permissions=_set(cluster),
            index_permissions=frozenset(index),
            tenant_permissions=frozenset(tenants),
            description=reader.description(keys),
        )


def _permissions(
    reader: Reader, keys: dict[str, Node], section: Section, role: str, kind: str
) -> Iterator[tuple[dict[str, Node], frozenset[str]]]:
    """The complete entries of a role's index or tenant permissions, with their actions (which
    the reader records for the action-name check)."""
    key = "index_permissions" if section is INDEX_PERMISSION else "tenant_permissions"
    for item in reader.sections(keys.get(key), key):
        entry = reader.keys(item, section, f"{section.where} of {role!r}")
        if not reader.required(entry, item, section):
            continue
        allowed = reader.values(entry, "allowed_actions")
        reader.actions += [(value, node, kind) for value, node in allowed]
        yield entry, _set(allowed)


def _set(values: list[tuple[str, Node]]) -> frozenset[str]:
    return frozenset(value for value, _ in values)


def _dls(reader: Reader, node: Node) -> str | None:
    fix = "write the query as a YAML mapping, or as a JSON object in quotes"
    if isinstance(node, MappingNode):
        value: object = yaml_value(node)
    elif isinstance(node, ScalarNode) and node.tag == YAML_STR:
        try:
            value = json.loads(str(node.value))
        except ValueError as exc:
            reader.error(node, f"dls is not valid JSON: {exc}", fix)
            return None
    else:
        value = None
    if not isinstance(value, dict):
        reader.error(
            node, 'dls must be a JSON object (a query such as {"term": {"team": "blue"}})', fix
        )
        return None
    return canonical_dls(json.dumps(value))


ROLES = Roles()


@functools.lru_cache(maxsize=1)
def _builtin() -> dict[str, RoleDefinition]:
    return {name: RoleDefinition.from_wire(body) for name, body in builtin.static("roles").items()}


def builtin_roles() -> dict[str, RoleDefinition]:
    """The plugin's static roles, as this kind's model (a new dict each call)."""
    return dict(_builtin())
