"""Kinds that are one document, not named entries (the audit configuration today; the security
configuration, the allowlist and nodes_dn are such documents too).

The file's section is the document, in the API's shape. What the file leaves out keeps the
cluster's value, so a file may manage only the settings it cares about; import writes the whole
document. The cluster reports settings fixed in its own configuration as ``_readonly``: a file
that sets one is refused at plan time. The document cannot be deleted. A kind subclasses
:class:`DocumentKind` and says its keys (``entry``, a :class:`~osaccess.file.format.Section`
whose values are booleans, lists of strings, sections, or objects of lists).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from osaccess.file.format import Field, Section
from osaccess.file.source import describe
from osaccess.kinds.base import Desired, Kind
from osaccess.kinds.live import LiveDefinition

if TYPE_CHECKING:
    from osaccess.file.reader import Reader

NAME = "config"  # the document's one entry, as the API names it


@dataclass(frozen=True)
class Document:
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
    def of(cls, data: Mapping[str, Any], readonly: tuple[str, ...] = ()) -> Document:
        return cls(json.dumps(data, sort_keys=True), readonly)

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> Document:
        return cls.of(body)


class DocumentKind(Kind):
    """A kind that is one document: its section is the document's settings."""

    single_document = True
    model: ClassVar[type[Any]] = Document

    def field(self) -> Field:
        return Field(self.section, "section", self.summary, section=self.entry)

    def read_section(self, reader: Reader, node: Node) -> list[Desired]:
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            return []
        data = _read_section(reader, node, self.entry, self.section)
        if data is None:
            return []
        location = f"{reader.path}:{node.start_mark.line + 1}"
        return [Desired(self.name, NAME, self.model.of(data), location)]

    def from_document(self, body: Mapping[str, Any]) -> dict[str, LiveDefinition]:
        config = body.get(NAME)
        if not isinstance(config, dict):
            return {}
        readonly = tuple(str(p) for p in body.get("_readonly") or [])
        return {NAME: LiveDefinition(self.model.of(config, readonly))}

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
        return self.model.of(merged, live.readonly)

    def plan_problem(self, name: str, desired: Any, live: Any | None) -> str | None:
        if desired is None:
            return f"the {self.label} cannot be deleted; remove the {self.section} section instead"
        if live is None or not live.readonly:
            return None
        data = desired.data
        fixed = [
            path for path in live.readonly if _get(data, path.strip("/").split("/")) is not None
        ]
        if fixed:
            return (
                f"the cluster fixes these {self.section} settings in its own configuration "
                f"(_readonly): {', '.join(fixed)}; remove them from the file's {self.section} "
                "section"
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
