"""What every resource kind shares, and the registry the rest of osaccess iterates over.

A kind (role mappings, role definitions, action groups, tenants, internal users, the audit
configuration, and any kind registered later) is a named collection that the security API keeps
in one document: one GET reads all of it, one collection PATCH writes it, and each entry is
replaced whole (or, where a kind says so, member by member). :class:`Kind` gives a kind
everything but its model and its keys: reading its file section (names, reserved names,
``state: absent``), the entry it must be after apply (``plan_entry``), the plugin's flags, the
wire form, how a change reads for people and in the plan document, import. A kind module
subclasses it, says what differs, and registers it (``osaccess/kinds/__init__.py``). Role
mappings' own rules (ownership, protected principals) are their hooks:
:mod:`osaccess.kinds.mappings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

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
class Desired:
    """One entry of the file, of any kind."""

    kind: str  # a Kind.name
    name: str
    definition: Any | None  # what the kind reads from the file; None: absent (must not exist)
    location: str = ""  # file:line


@dataclass(frozen=True)
class Line:
    """One line of a change, for people: ``+`` added, ``-`` removed, ``~`` changed, ``=`` kept
    (with why, in ``note``)."""

    sign: str
    key: str
    value: str
    note: str = ""
    values: tuple[str, ...] = ()  # a line of several values (kept principals): each of them


@dataclass(frozen=True)
class Change:
    """An entry of any kind to create, update or delete. ``detail``: what the kind adds about
    the change (a mapping's ownership and the principals it keeps), or None."""

    kind: str  # a Kind.name
    name: str
    action: Action
    before: Any | None
    after: Any | None
    detail: Any = None

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

    def lines(self) -> list[Line]:
        """The change for people, as its kind shows it."""
        return by_name(self.kind).lines(self)

    @property
    def principals(self) -> tuple[int, int]:
        """(added, removed): principals this change gives or takes a role (mappings only)."""
        return by_name(self.kind).principals(self)


@dataclass(frozen=True)
class Unchanged:
    """An entry of the file that needs no write; ``detail`` as a change's (a shared mapping's
    principals left alone)."""

    kind: str
    name: str
    detail: Any = None

    def lines(self) -> list[Line]:
        return by_name(self.kind).kept_lines(self)


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


@dataclass(frozen=True)
class WriteCost:
    """What one operation of a kind's collection PATCH costs the node, in seconds
    (:mod:`osaccess.cluster.pace` turns it into a write's deadline; docs/safety.md has the
    measurements)."""

    per_operation: float = 7e-4  # whatever the size of the document
    # per role on the cluster: the plugin reads the roles again for every operation (unknown:
    # as many as the entries of the document when ``roles_as_entries``, else none)
    per_role: float = 0.0
    per_entry: float = 0.0  # per entry of the document, as it grows by half the write
    roles_as_entries: bool = False
    removal_share: float = 1.0  # what a removal costs, as a share of a write

    @property
    def reads_roles(self) -> bool:
        return self.per_role > 0


class Kind:
    """One kind of entry. Subclasses set the class attributes and ``read``."""

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
    # the kind whose entries this kind's entries are named after (a mapping names its role): an
    # entry needs that one, on the cluster or in the file
    named_after: ClassVar[str | None] = None
    # what the node spends on each operation of a PATCH of this kind (cluster/pace)
    write_cost: ClassVar[WriteCost] = WriteCost()
    key_width: ClassVar[int] = 19  # a plan's text aligns the values of a change's lines here
    # a plan's Markdown table of this kind: what the entry, the key and the value are
    columns: ClassVar[tuple[str, str, str]] = ("definition", "key", "value")
    # the safety guard that a deletion of an entry meets (docs/safety.md)
    deletion_guard: ClassVar[str] = "definition-deletion"

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

    def read_section(self, reader: Reader, node: Node) -> list[Desired]:
        """The section: name -> entry, or ``state: absent``. Every problem goes to the reader."""
        found: list[Desired] = []
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
                found.append(Desired(self.name, name, None, location))
                continue
            keys.pop("state", None)
            definition = self.read(reader, name, keys, value, key)
            if definition is not None:
                found.append(Desired(self.name, name, definition, location))
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

    def operations(self, change: Change) -> list[dict[str, Any]]:
        """The PATCH operations of a change: the whole entry (or its removal)."""
        return [change.operation()]

    def plan_problem(self, name: str, desired: Any | None, live: Any | None) -> str | None:
        """Why this entry cannot be planned against this cluster (beyond the plugin's flags)."""
        return None

    def plan_entry(self, wanted: Desired, before: Any | None, protect: frozenset[str]) -> Any:
        """What the entry must be after apply (None: absent), and the change's detail: the
        file's entry settled against the live one."""
        after = wanted.definition
        return (self.settle(after, before) if after is not None else None), None

    def plan_problems(self, desired: Sequence[Desired], live: LiveState) -> list[str]:
        """Why entries of this kind cannot be planned, seen with the whole file (every kind)."""
        return []

    @property
    def plural(self) -> str:
        """The kind's entries, for people: "roles", "role mappings"."""
        return f"{self.label}s"

    def called(self, name: str) -> str:
        """An entry, for people: "the role 'x'"."""
        return f"the {self.label} {name!r}"

    # -- changes, for people and for the plan document ----------------------------------------

    def title(self, name: str) -> str:
        """An entry in a plan: "role team"."""
        return f"{self.label} {name}"

    def heading(self, change: Change) -> tuple[str, str]:
        """The change's title and what it does: ("role team", "create role")."""
        if change.action is Action.DELETE:
            return self.title(change.name), f"DELETE the {self.label}"
        return self.title(change.name), f"{change.action.value} {self.label}"

    def lines(self, change: Change) -> list[Line]:
        """What a change adds and removes, one granted thing per line."""
        return [Line(sign, key, value) for sign, key, value in change.differences()]

    def kept_lines(self, unchanged: Unchanged) -> list[Line]:
        """What people should know of an entry that needs no write."""
        return []

    def principals(self, change: Change) -> tuple[int, int]:
        """(added, removed) principals: only a kind that grants roles to principals has any."""
        return 0, 0

    def stale(self, change: Change, now: Any | None) -> str | None:
        """Why the entry, read again before the write (``now``), no longer matches the plan."""
        if now == change.before:
            return None
        return f"{change.name}: changed by someone else since the plan"

    def detail_data(self, detail: Any) -> Any:
        """The plan document's form of a change's detail (None: none)."""
        return None

    def detail_from_data(self, raw: Any) -> Any:
        return None

    def change_data(self, change: Change) -> dict[str, Any]:
        """What the plan document adds to a change, for programs (derived: not read back)."""
        return {}

    def from_plan(self, body: Mapping[str, Any]) -> Any:
        """Exactly the entry a plan document holds: refused (ValueError) when it does not read
        back as written."""
        value = self.from_wire(body)
        if value.to_wire() != dict(body):
            raise ValueError(f"a {self.name} entry that does not read back as written")
        return value

    def actions(self, value: Any) -> frozenset[str]:
        """The actions and action groups an entry names (for the cluster's unknown-name check)."""
        return frozenset()

    # one document, not named entries (the audit configuration): import writes it whole
    single_document: ClassVar[bool] = False
    # import: a note after a line it writes (the line without its indentation -> the note)
    import_notes: ClassVar[dict[str, str]] = {}

    def import_entry(
        self, value: Any, sso_entries: Mapping[str, dict[str, str]]
    ) -> tuple[Any, list[str]]:
        """What `import` writes for an entry, and comments to put before it (``sso_entries``:
        the ``sso:`` entry to write for an IAM Identity Center role ARN)."""
        return self.import_body(value), []

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

_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Make a kind known to the loader, planner, engine, importer, plan document and renderers."""
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def in_write_order() -> tuple[Kind, ...]:
    """Every registered kind in the order its entries are created (what others use first)."""
    return tuple(sorted(_KINDS.values(), key=lambda k: k.order))


def by_name(name: str) -> Kind:
    return _KINDS[name]


def registered() -> tuple[Kind, ...]:
    """Every registered kind, in the order of registration (the file's order)."""
    return tuple(_KINDS.values())
