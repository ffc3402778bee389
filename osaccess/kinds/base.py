"""What every resource kind shares, and the registry the rest of osaccess iterates over.

A *definition kind* (role definitions, action groups, tenants, and any kind registered later) is
a named collection that the security API keeps in one document: one GET reads all of it, one
collection PATCH writes it, and each entry is replaced whole. :class:`DefinitionKind` gives such
a kind everything but its model and its keys: reading its file section (names, reserved names,
``state: absent``), the diff, the plugin's flags, the wire form, import. A kind module subclasses
it, says what differs, and registers it (``osaccess/kinds/__init__.py``). Role mappings are a
kind with rules of their own (ownership, protected principals, placement):
:mod:`osaccess.kinds.mappings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from yaml.nodes import MappingNode, Node, ScalarNode

from osaccess.file.format import STATE, Field, Section
from osaccess.file.principals import entity_name
from osaccess.file.source import describe
from osaccess.kinds.live import LiveDefinition

if TYPE_CHECKING:
    from osaccess.file.reader import Reader
    from osaccess.kinds.live import LiveState


class Action(Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


def pointer(name: str) -> str:
    """A JSON Pointer to a top-level member (RFC 6901 escaping)."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


def strings(raw: Any) -> frozenset[str]:
    """A list of strings as the API sends it, as a set (white space around values dropped)."""
    return frozenset(str(v).strip() for v in raw or [] if isinstance(v, str))


def text(raw: Any) -> str | None:
    return raw if isinstance(raw, str) else None


@dataclass(frozen=True)
class DesiredDefinition:
    kind: str  # a DefinitionKind.name
    name: str
    definition: Any | None  # the kind's model; None: absent (the entry must not exist)
    location: str = ""  # file:line


@dataclass(frozen=True)
class DefinitionChange:
    """An entry of a definition kind to create, update or delete."""

    kind: str  # a DefinitionKind.name
    name: str
    action: Action
    before: Any | None
    after: Any | None

    @property
    def label(self) -> str:
        return by_name(self.kind).label

    @property
    def endpoint(self) -> str:
        return by_name(self.kind).endpoint

    def operation(self) -> dict[str, Any]:
        """The JSON Patch operation: the whole entry, never a member of it."""
        if self.action is Action.DELETE:
            return {"op": "remove", "path": pointer(self.name)}
        assert self.after is not None
        return {
            "op": "add",
            "path": pointer(self.name),
            "value": by_name(self.kind).request(self.after),
        }

    def operations(self) -> list[dict[str, Any]]:
        """What the collection PATCH sends for this change (the kind decides: usually the
        whole entry)."""
        return by_name(self.kind).operations(self)

    def differences(self) -> list[tuple[str, str, str]]:
        """(sign, key, value) lines for people: + added, - removed."""
        spread = by_name(self.kind).spread
        before, after = _flat(self.before, spread), _flat(self.after, spread)
        lines = [("-", key, value) for key, value in sorted(before - after)]
        lines += [("+", key, value) for key, value in sorted(after - before)]
        return sorted(lines, key=lambda line: (line[1], line[0] == "+", line[2]))


def _flat(definition: Any | None, spread: tuple[str, ...] = ()) -> set[tuple[str, str]]:
    """An entry as (key, value) pairs, one per granted thing, for readable diffs."""
    import json

    if definition is None:
        return set()
    pairs: set[tuple[str, str]] = set()
    for key, value in definition.to_wire().items():
        if isinstance(value, dict) and value and key in spread:
            items = [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            items = [(key, item) for item in (value if isinstance(value, list) else [value])]
        for name, item in items:
            shown = item if isinstance(item, str) else json.dumps(item, sort_keys=True)
            pairs.add((name, shown))
    return pairs


class Kind(Protocol):
    """What the loader, importer and engine need of any kind (mappings included)."""

    @property
    def name(self) -> str: ...  # in the plan and its document

    @property
    def section(self) -> str: ...  # the file's top-level key

    @property
    def endpoint(self) -> str: ...  # after <prefix>/api/

    @property
    def label(self) -> str: ...  # for people

    @property
    def include(self) -> str: ...  # the `import --include` value

    @property
    def order(self) -> int: ...  # write order when creating: lower first

    def field(self) -> Field: ...


class DefinitionKind:
    """One kind of named definition. Subclasses set the class attributes and ``read``."""

    name: ClassVar[str]  # in the plan and its document: roles, action_groups, tenants
    section: ClassVar[str]  # the file's top-level key: role_definitions, action_groups, ...
    endpoint: ClassVar[str]  # after <prefix>/api/
    label: ClassVar[str]  # for people: "role", "action group"
    include: ClassVar[str]  # `import --include` names it so: roles, action-groups, ...
    order: ClassVar[int]  # write order when creating: lower first (mappings: last)
    model: ClassVar[type[Any]]  # frozen, with to_wire() and from_wire(body)
    entry: ClassVar[Section]  # the keys of one entry in the file
    summary: ClassVar[str]  # the section, for the JSON Schema
    # a cluster may not have the endpoint (a version, a setting): reading it then fails softly,
    # and only a file that names the kind is refused (LiveState.unavailable says why)
    optional: ClassVar[bool] = False
    unavailable_hint: ClassVar[str] = ""  # optional kinds: what to do when a cluster lacks it
    spread: ClassVar[tuple[str, ...]] = ()  # wire members (objects) a diff shows key by key

    # -- the file -----------------------------------------------------------------------------

    def field(self) -> Field:
        """The kind's top-level section in the file format (and so in the JSON Schema)."""
        keys = Section(self.entry.where, (*self.entry.fields, STATE))
        return Field(self.section, "entries", self.summary, section=keys)

    def read(
        self, reader: Reader, name: str, keys: dict[str, Node], node: MappingNode, key: Node
    ) -> Any:
        """One present entry from its keys (already checked against ``entry``; ``key`` is its
        name's node); None when it has problems (the reader has them)."""
        raise NotImplementedError

    def reserved_problem(self, name: str) -> tuple[str, str] | None:
        """(problem, fix) when the plugin keeps this name to itself."""
        return None

    def finish(self, reader: Reader) -> None:
        """Checks that need the whole file (every kind read): problems go to the reader."""

    def read_section(self, reader: Reader, node: Node) -> list[DesiredDefinition]:
        """The section: name -> entry, or ``state: absent``. Every problem goes to the reader."""
        found: list[DesiredDefinition] = []
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            return found
        if not isinstance(node, MappingNode):
            reader.error(node, f"'{self.section}' must be a mapping of names, not {describe(node)}")
            return found
        keys_of = self.field().section
        assert keys_of is not None
        for key, value in node.value:
            name = entity_name(reader, key, self.label)
            if name is None:
                continue
            reserved = self.reserved_problem(name)
            if reserved:
                reader.error(key, reserved[0], reserved[1])
                continue
            if not isinstance(value, MappingNode):
                reader.error(
                    value,
                    f"{self.label} {name!r} must be a mapping of its keys, not {describe(value)}",
                    f"valid keys: {', '.join(keys_of.keys)}",
                )
                continue
            keys = reader.keys(value, keys_of, f"in {self.label} {name!r}")
            location = f"{reader.path}:{key.start_mark.line + 1}"
            if "state" in keys and reader.choice(keys["state"], keys_of.field("state")) == "absent":
                if len(keys) > 1:
                    reader.error(
                        keys["state"],
                        f"{self.label} {name!r} is 'absent' but says what it holds",
                        "remove the other keys or the state",
                    )
                found.append(DesiredDefinition(self.name, name, None, location))
                continue
            keys.pop("state", None)
            definition = self.read(reader, name, keys, value, key)
            if definition is not None:
                found.append(DesiredDefinition(self.name, name, definition, location))
        return found

    # -- values -------------------------------------------------------------------------------

    def from_document(self, body: Mapping[str, Any]) -> dict[str, LiveDefinition]:
        """The entries of the kind's GET answer, with the plugin's flags."""
        return {
            str(name): LiveDefinition(
                self.from_wire(entry),
                reserved=entry.get("reserved") is True,
                hidden=entry.get("hidden") is True,
                static=entry.get("static") is True,
            )
            for name, entry in body.items()
            if not str(name).startswith("_") and isinstance(entry, dict)
        }

    def from_wire(self, body: Mapping[str, Any]) -> Any:
        return self.model.from_wire(body)

    def settle(self, desired: Any, live: Any | None) -> Any:
        """What the entry must be after apply: an unset description keeps the live one."""
        if live is not None and getattr(desired, "description", "") is None:
            return replace(desired, description=live.description)
        return desired

    def unchanged(self, before: Any | None, after: Any | None) -> bool:
        """The entry needs no write (after settle)."""
        return bool(before == after)

    def request(self, value: Any) -> dict[str, Any]:
        """What a write sends for an entry (the wire form; secrets only here)."""
        body: dict[str, Any] = value.to_wire()
        return body

    def operations(self, change: DefinitionChange) -> list[dict[str, Any]]:
        """The PATCH operations of a change: the whole entry (or its removal)."""
        return [change.operation()]

    def plan_problem(self, name: str, desired: Any | None, live: Any | None) -> str | None:
        """Why this entry cannot be planned against this cluster (beyond the plugin's flags)."""
        return None

    def actions(self, value: Any) -> frozenset[str]:
        """The actions and action groups an entry names (for the cluster's unknown-name check)."""
        return frozenset()

    def import_section(self, entries: dict[str, Any]) -> Any:
        """What `import` writes as the section, from each entry's import body."""
        return entries

    def import_body(self, value: Any) -> dict[str, Any]:
        """What `import` writes for an entry: the wire form without empty lists."""

        def tidy(item: Any) -> Any:
            if isinstance(item, dict):
                return {k: tidy(v) for k, v in item.items() if v != []}
            if isinstance(item, list):
                return [tidy(v) for v in item]
            return item

        body: dict[str, Any] = tidy(value.to_wire())
        return body


# -- the registry -------------------------------------------------------------------------------

_KINDS: dict[str, DefinitionKind] = {}


def register(kind: DefinitionKind) -> DefinitionKind:
    """Make a kind known to the loader, planner, engine, importer, plan document and renderers."""
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def definition_kinds() -> tuple[DefinitionKind, ...]:
    """Every registered definition kind, in write order (what others use comes first)."""
    return tuple(sorted(_KINDS.values(), key=lambda k: k.order))


def by_name(name: str) -> DefinitionKind:
    return _KINDS[name]


def registered() -> tuple[DefinitionKind, ...]:
    """Every registered definition kind, in the order of registration (the file's order)."""
    return tuple(_KINDS.values())


# -- planning -----------------------------------------------------------------------------------


def plan_definitions(
    desired: Sequence[DesiredDefinition], live: LiveState
) -> tuple[tuple[DefinitionChange, ...], tuple[tuple[str, str], ...]]:
    """The changes to every definition kind, in write order, entry by entry."""
    order = {kind.name: index for index, kind in enumerate(definition_kinds())}
    changes: list[DefinitionChange] = []
    unchanged: list[tuple[str, str]] = []
    for wanted in sorted(desired, key=lambda d: (order[d.kind], d.name)):
        current = live.defined(wanted.kind).get(wanted.name)
        before = current.definition if current is not None else None
        after = wanted.definition
        if after is not None:
            after = by_name(wanted.kind).settle(after, before)
        if by_name(wanted.kind).unchanged(before, after):
            unchanged.append((wanted.kind, wanted.name))
            continue
        action = (
            Action.DELETE if after is None else Action.CREATE if before is None else Action.UPDATE
        )
        changes.append(DefinitionChange(wanted.kind, wanted.name, action, before, after))
    return tuple(changes), tuple(unchanged)


def protected_entries(desired: Sequence[DesiredDefinition], live: LiveState) -> list[str]:
    """Entries the plugin keeps to itself on this cluster (static, reserved, hidden)."""
    problems = []
    for wanted in desired:
        if wanted.kind in live.unavailable:
            problems.append(f"{wanted.location}: {live.unavailable[wanted.kind]}")
            continue
        existing = live.defined(wanted.kind).get(wanted.name)
        flag = existing.protected_by_plugin if existing is not None else None
        if flag:
            problems.append(
                f"{wanted.location}: the {by_name(wanted.kind).label} {wanted.name!r} is "
                f"{flag} on this cluster: the REST API cannot change it; remove it from the file"
            )
            continue
        problem = by_name(wanted.kind).plan_problem(
            wanted.name, wanted.definition, existing.definition if existing else None
        )
        if problem:
            problems.append(f"{wanted.location}: {problem}")
    return problems
