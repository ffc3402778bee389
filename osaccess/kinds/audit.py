"""The audit configuration (endpoint ``audit``): one document, ``config``, in the API's shape.

The file's ``audit:`` section is that document: ``enabled``, and the ``audit`` and
``compliance`` settings. What the file leaves out keeps the cluster's value, so a file may
manage only the settings it cares about; import writes the whole document. The cluster reports
settings fixed in its own configuration as ``_readonly``: a file that sets one is refused at plan
time. Clusters without the API (older versions, Amazon domains without audit logs) are told
apart from other failures when the state is read, and only a file that has ``audit:`` fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from osaccess.file.format import Field, Section
from osaccess.file.source import describe
from osaccess.kinds.base import Desired, Kind
from osaccess.kinds.live import LiveDefinition

if TYPE_CHECKING:
    from osaccess.file.reader import Reader

NAME = "config"  # the document's one entry


def _strings(name: str, what: str) -> Field:
    return Field(name, "strings", what)


def _flag(name: str, what: str) -> Field:
    return Field(name, "boolean", what)


AUDIT_SETTINGS = Section(
    "in audit.audit",
    (
        _flag("enable_rest", "Log REST requests."),
        _strings("disabled_rest_categories", "REST categories not logged."),
        _flag("enable_transport", "Log transport requests."),
        _strings("disabled_transport_categories", "Transport categories not logged."),
        _flag("resolve_bulk_requests", "Log each document of a bulk request."),
        _flag("log_request_body", "Log request bodies."),
        _flag("resolve_indices", "Resolve index patterns and aliases in the log."),
        _flag("exclude_sensitive_headers", "Leave out headers such as Authorization."),
        _strings("ignore_users", "Users whose requests are not logged."),
        _strings("ignore_requests", "Requests (patterns) not logged."),
        _strings("ignore_headers", "Headers whose requests are not logged."),
        _strings("ignore_url_params", "URL parameters whose requests are not logged."),
    ),
)
COMPLIANCE_SETTINGS = Section(
    "in audit.compliance",
    (
        _flag("enabled", "Compliance logging."),
        _flag("internal_config", "Log changes to the security configuration."),
        _flag("external_config", "Log the node's configuration at start."),
        Field("read_watched_fields", "object", "Index pattern -> fields whose reads are logged."),
        _flag("read_metadata_only", "Log reads without the documents."),
        _strings("read_ignore_users", "Users whose reads are not logged."),
        _strings("write_watched_indices", "Indices whose writes are logged."),
        _flag("write_metadata_only", "Log writes without the documents."),
        _flag("write_log_diffs", "Log the difference a write makes."),
        _strings("write_ignore_users", "Users whose writes are not logged."),
    ),
)
AUDIT_SECTION = Section(
    "in audit",
    (
        _flag("enabled", "Audit logging on or off."),
        Field("audit", "section", "What is logged.", section=AUDIT_SETTINGS),
        Field("compliance", "section", "Compliance logging.", section=COMPLIANCE_SETTINGS),
    ),
)


@dataclass(frozen=True)
class AuditConfig:
    """The document, as canonical JSON (only the keys given, for a file's wish)."""

    body: str = "{}"
    readonly: tuple[str, ...] = field(default=(), compare=False)  # the cluster's _readonly

    @property
    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    def to_wire(self) -> dict[str, Any]:
        return self.data

    @classmethod
    def of(cls, data: Mapping[str, Any], readonly: tuple[str, ...] = ()) -> AuditConfig:
        return cls(json.dumps(data, sort_keys=True), readonly)

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> AuditConfig:
        return cls.of(body)


class Audit(Kind):
    name = "audit"
    section = "audit"
    endpoint = "audit"
    label = "audit configuration"
    include = "audit"
    order = 50  # depends on nothing
    model = AuditConfig
    entry = AUDIT_SECTION
    summary = "The audit configuration, in the shape of _plugins/_security/api/audit/config."
    spread = ("audit", "compliance")
    single_document = True
    optional = True  # clusters without the API are told apart; only a file with audit: fails
    unavailable_hint = (
        "on Amazon OpenSearch Service, enable audit logs for the domain first (console: Logs, "
        "Audit logs; or UpdateDomainConfig with LogPublishingOptions AUDIT_LOGS), then manage "
        "them here; on other clusters, the version must have the endpoint and "
        "plugins.security.restapi.endpoints_disabled must not disable it; or remove the audit "
        "section from the file"
    )

    def field(self) -> Field:
        return Field(self.section, "section", self.summary, section=AUDIT_SECTION)

    def read_section(self, reader: Reader, node: Node) -> list[Desired]:
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            return []
        data = _read_section(reader, node, AUDIT_SECTION, "audit")
        if data is None:
            return []
        location = f"{reader.path}:{node.start_mark.line + 1}"
        return [Desired(self.name, NAME, AuditConfig.of(data), location)]

    def from_document(self, body: Mapping[str, Any]) -> dict[str, LiveDefinition]:
        config = body.get("config")
        if not isinstance(config, dict):
            return {}
        readonly = tuple(str(p) for p in body.get("_readonly") or [])
        return {NAME: LiveDefinition(AuditConfig.of(config, readonly))}

    def settle(self, desired: Any, live: Any | None) -> Any:
        """The cluster's document with the file's settings over it."""
        if live is None:
            return desired
        merged = live.data
        for key, value in desired.data.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return AuditConfig.of(merged, live.readonly)

    def plan_problem(self, name: str, desired: Any, live: Any | None) -> str | None:
        if desired is None:
            return "the audit configuration cannot be deleted; remove the audit section instead"
        if live is None or not live.readonly:
            return None
        data = desired.data
        fixed = [
            path for path in live.readonly if _get(data, path.strip("/").split("/")) is not None
        ]
        if fixed:
            return (
                "the cluster fixes these audit settings in its own configuration (_readonly): "
                f"{', '.join(fixed)}; remove them from the file's audit section"
            )
        return None

    def import_body(self, value: Any) -> dict[str, Any]:
        body: dict[str, Any] = value.data
        return body

    def import_section(self, entries: dict[str, Any]) -> Any:
        return entries.get(NAME, {})  # the section is the document itself


def _get(data: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _read_section(
    reader: Reader, node: Node, section: Section, where: str
) -> dict[str, Any] | None:
    if not isinstance(node, MappingNode):
        reader.error(
            node,
            f"{where} must be a mapping, not {describe(node)}",
            f"valid keys: {', '.join(section.keys)}",
        )
        return None
    data: dict[str, Any] = {}
    for name, value in reader.keys(node, section, f"in {where}").items():
        kind = section.field(name)
        if kind.kind == "boolean":
            if isinstance(value, ScalarNode) and value.tag.endswith(":bool"):
                data[name] = value.value.lower() in ("true", "yes", "on")
            else:
                reader.error(value, f"{where}.{name} must be true or false, not {describe(value)}")
        elif kind.kind == "strings":
            data[name] = [v for v, _ in reader.items(value, f"{where}.{name}")]
        elif kind.kind == "section":
            assert kind.section is not None
            found = _read_section(reader, value, kind.section, f"{where}.{name}")
            if found is not None:
                data[name] = found
        else:  # object: index pattern -> fields
            data[name] = _watched(reader, value, f"{where}.{name}")
    return data


def _watched(reader: Reader, node: Node, where: str) -> dict[str, list[str]]:
    if not isinstance(node, MappingNode):
        reader.error(
            node,
            f"{where} must map index patterns to lists of fields",
            "write {logs-*: [email, name]}",
        )
        return {}
    found: dict[str, list[str]] = {}
    for key, value in node.value:
        pattern = reader.string(key, f"an index pattern of {where}")
        if pattern is not None and isinstance(value, SequenceNode):
            found[pattern] = [v for v, _ in reader.items(value, f"{where}.{pattern}")]
        elif pattern is not None:
            reader.error(value, f"{where}.{pattern} must be a list of fields")
    return found


AUDIT = Audit()
