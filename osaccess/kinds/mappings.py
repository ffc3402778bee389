"""Role mappings: who holds which role. The file's ``roles`` section, the API's ``rolesmapping``.

Their own rules live here: placement of IAM principals (through :mod:`osaccess.file.principals`),
ownership (``shared``: principals the file does not name are never removed) and protected
principals. Principals the file does not own join the desired side before the diff, so the
diff has no special cases and can never remove them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from osaccess.file.format import SSO, Field, Section, text_field
from osaccess.file.principals import (
    Collected,
    SsoRef,
    entity_name,
    field_for,
    read_explicit,
    read_principals,
    repeated,
    unusable,
)
from osaccess.file.source import describe
from osaccess.kinds.base import Action, pointer, strings, text
from osaccess.kinds.live import LiveDefinition

if TYPE_CHECKING:
    from osaccess.file.reader import Reader
    from osaccess.kinds.live import LiveState

FIELDS = ("users", "backend_roles", "and_backend_roles", "hosts")


@dataclass(frozen=True)
class RoleMapping:
    """A role mapping with set semantics: order and duplicates never matter."""

    users: frozenset[str] = frozenset()
    backend_roles: frozenset[str] = frozenset()
    and_backend_roles: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()
    description: str | None = None

    def values(self, name: str) -> frozenset[str]:
        value: frozenset[str] = getattr(self, name)
        return value

    @property
    def principal_count(self) -> int:
        return sum(len(self.values(name)) for name in FIELDS)

    def to_wire(self) -> dict[str, Any]:
        """The body the security API takes: all four arrays (sorted), description when set."""
        body: dict[str, Any] = {name: sorted(self.values(name)) for name in FIELDS}
        if self.description is not None:
            body["description"] = self.description
        return body

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> RoleMapping:
        """From the API's JSON; ``reserved``/``hidden`` and unknown keys are ignored here."""
        fields = {name: strings(body.get(name)) for name in FIELDS}
        return cls(description=text(body.get("description")), **fields)

    @classmethod
    def of(cls, description: str | None = None, **fields: Iterable[str]) -> RoleMapping:
        return cls(
            description=description, **{name: frozenset(values) for name, values in fields.items()}
        )


class Ownership(Enum):
    EXCLUSIVE = "exclusive"  # the file is the whole truth for the role's mapping
    SHARED = "shared"  # the file adds its principals and never removes anyone else's


@dataclass(frozen=True)
class DesiredRole:
    name: str
    mapping: RoleMapping
    ownership: Ownership = Ownership.EXCLUSIVE
    absent: bool = False  # the mapping must not exist (exclusive only)
    location: str = ""  # file:line where the role is declared
    sso: tuple[SsoRef, ...] = ()  # permission sets still to resolve into backend roles


ROLE = Section(
    "in role",
    (
        Field(
            "principals",
            "principals",
            "IAM user and role ARNs, placed automatically: users -> users, roles -> "
            "backend_roles; or {sso: PermissionSet, account: ...} for an IAM Identity Center "
            "role (a backend role)",
            section=SSO,
        ),
        *(Field(name, "strings", f"explicit {name} values") for name in FIELDS),
        Field("description", "string", "The mapping's description."),
        text_field(
            "ownership",
            "exclusive: the file is the whole truth for the role; shared: only add, never "
            "remove others' principals",
            choices=("exclusive", "shared"),
            default="exclusive",
        ),
        text_field(
            "state",
            "absent: the mapping must not exist",
            choices=("present", "absent"),
            default="present",
        ),
    ),
)


@dataclass(frozen=True)
class Change:
    role: str
    action: Action
    before: RoleMapping | None
    after: RoleMapping | None
    ownership: Ownership = Ownership.EXCLUSIVE
    # shared mappings: principals already there that the file does not mention, kept as they are
    left_alone: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # protected principals that the file would have removed, kept
    protected: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def added(self, name: str) -> frozenset[str]:
        before = self.before.values(name) if self.before else frozenset()
        return (self.after.values(name) if self.after else frozenset()) - before

    def removed(self, name: str) -> frozenset[str]:
        after = self.after.values(name) if self.after else frozenset()
        return (self.before.values(name) if self.before else frozenset()) - after

    @property
    def added_count(self) -> int:
        return sum(len(self.added(name)) for name in FIELDS)

    @property
    def removed_count(self) -> int:
        return sum(len(self.removed(name)) for name in FIELDS)

    @property
    def description_change(self) -> tuple[str | None, str | None] | None:
        old = self.before.description if self.before else None
        new = self.after.description if self.after else None
        return (old, new) if old != new and self.action is Action.UPDATE else None

    def operation(self) -> dict[str, Any]:
        """The JSON Patch operation: the whole mapping, never an array index or append."""
        if self.action is Action.DELETE:
            return {"op": "remove", "path": pointer(self.role)}
        assert self.after is not None
        return {"op": "add", "path": pointer(self.role), "value": self.after.to_wire()}


class Mappings:
    """The mapping kind: read from the file, planned, written last (a mapping needs its role)."""

    name = "mappings"
    section = "roles"
    endpoint = "rolesmapping"
    label = "mapping"
    include = "mappings"
    order = 100

    def field(self) -> Field:
        what = "Role mappings: role name -> a list of principals, or a mapping with the keys of "
        return Field(self.section, "roles", what + "a role.", section=ROLE)

    def read_section(self, reader: Reader, node: Node | None, root: Node) -> list[DesiredRole]:
        """The `roles` section; ``node`` None: the section is missing (an error)."""
        if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
            reader.error(
                node or root,
                "no roles: the 'roles' section is missing or empty",
                "list at least one role and who holds it",
            )
            return []
        if not isinstance(node, MappingNode):
            reader.error(node, f"'roles' must be a mapping of role names, not {describe(node)}")
            return []
        if not node.value:
            reader.error(
                node, "the 'roles' section is empty", "list at least one role and who holds it"
            )
        roles = []
        for key, value in node.value:
            name = entity_name(
                reader, key, "role", "use the role's name exactly as OpenSearch shows it"
            )
            role = _role(reader, name, key, value)
            if name is not None and role is not None:
                roles.append(role)
        return roles


MAPPINGS = Mappings()


def _role(reader: Reader, name: str | None, key: Node, node: Node) -> DesiredRole | None:
    location = f"{reader.path}:{key.start_mark.line + 1}"
    collected: Collected = {f: [] for f in FIELDS}
    sso: list[SsoRef] = []
    ownership = Ownership.EXCLUSIVE
    description = None
    absent = False
    if isinstance(node, SequenceNode):
        read_principals(reader, node, collected, sso)
    elif isinstance(node, MappingNode):
        keys = reader.keys(node, ROLE, f"in role {name!r}")
        if "principals" in keys:
            read_principals(reader, keys["principals"], collected, sso)
        for field_name in FIELDS:
            if field_name in keys:
                read_explicit(reader, field_name, keys[field_name], collected)
        if "description" in keys:
            description = reader.choice(keys["description"], ROLE.field("description"))
        if "ownership" in keys:
            raw = reader.choice(keys["ownership"], ROLE.field("ownership"))
            if raw is not None:
                ownership = Ownership(raw)
        if "state" in keys:
            absent = reader.choice(keys["state"], ROLE.field("state")) == "absent"
            for wrong, message, fix in (
                (
                    ownership is Ownership.SHARED,
                    "a shared mapping cannot be 'absent': osaccess does not own the whole mapping",
                    "drop 'state: absent' or make the role's ownership exclusive",
                ),
                (
                    any(collected.values()) or sso,
                    f"role {name!r} is 'absent' but lists principals",
                    "remove the principals or the state",
                ),
            ):
                if absent and wrong:
                    reader.error(keys["state"], message, fix)
    elif isinstance(node, ScalarNode) and node.tag.endswith(":null"):
        reader.error(
            node,
            f"role {name!r} has no principals",
            "list principals, or write `state: absent` to delete the mapping",
        )
        return None
    else:
        reader.error(
            node, f"role {name!r} must be a list of principals or a mapping, not {describe(node)}"
        )
        return None
    if name is None:
        return None
    repeated(reader, name, collected)
    mapping = RoleMapping(
        description=description, **{f: frozenset(v for v, _ in collected[f]) for f in FIELDS}
    )
    return DesiredRole(name, mapping, ownership, absent, location, tuple(sso))


def target_mapping(
    desired: DesiredRole, live: RoleMapping | None, protect: frozenset[str] = frozenset()
) -> RoleMapping:
    """What the mapping must be after apply: the file's principals, plus, for shared roles, every
    principal already there, and always every protected principal already there. An unset
    description keeps the live one."""
    mapping = desired.mapping
    description = mapping.description
    if description is None and live is not None:
        description = live.description
    keep = live or RoleMapping()
    if desired.ownership is not Ownership.SHARED:
        keep = RoleMapping(description=None, **{n: keep.values(n) & protect for n in FIELDS})
    return RoleMapping.of(description, **{n: mapping.values(n) | keep.values(n) for n in FIELDS})


def _only(found: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    return {name: values for name, values in found.items() if values}


def _protected(
    desired: DesiredRole, live: RoleMapping | None, protect: frozenset[str]
) -> dict[str, frozenset[str]]:
    """Protected principals on the cluster that the file alone would have removed."""
    if live is None or not protect or desired.ownership is Ownership.SHARED:
        return {}
    wanted = RoleMapping() if desired.absent else desired.mapping
    return _only({name: (live.values(name) & protect) - wanted.values(name) for name in FIELDS})


def _strangers(role: DesiredRole, live: RoleMapping | None) -> dict[str, frozenset[str]]:
    if role.ownership is not Ownership.SHARED or live is None:
        return {}
    return _only({name: live.values(name) - role.mapping.values(name) for name in FIELDS})


def check(
    desired: Iterable[DesiredRole], live: LiveState, defined: set[str], deleted: set[str]
) -> list[str]:
    """Why mappings of the file cannot be written to this cluster: reserved or hidden ones, and
    roles that neither the cluster nor the file (``defined``; ``deleted``: absent) define."""
    problems = []
    for role in desired:
        current = live.mappings.get(role.name)
        where = f"{role.location}: "
        if current is not None and current.reserved:
            problems.append(
                f"{where}the mapping of {role.name!r} is reserved: only a REST admin or "
                "securityadmin can change it; remove the role from the file"
            )
        elif current is not None and current.hidden:
            problems.append(
                f"{where}the mapping of {role.name!r} is hidden; remove the role from the file"
            )
        elif not role.absent and role.name in deleted:
            problems.append(
                f"{where}role {role.name!r} is mapped here but its definition is 'absent' in "
                "this file; remove the mapping (state: absent) or keep the role"
            )
        elif not role.absent and role.name not in live.roles | defined:
            problems.append(
                f"{where}role {role.name!r} does not exist on the cluster and the file does not "
                "define it; define it under role_definitions, create it first, or fix the name"
            )
    return problems


# the changes, the unchanged roles, and principals left alone in unchanged shared mappings
MappingPlan = tuple[tuple["Change", ...], tuple[str, ...], dict[str, dict[str, frozenset[str]]]]


def plan_mappings(
    desired: Sequence[DesiredRole], live: LiveState, protect: frozenset[str]
) -> MappingPlan:
    """The changes to the file's mappings; protected principals are never removed."""
    changes = []
    unchanged = []
    left_alone: dict[str, dict[str, frozenset[str]]] = {}
    for role in sorted(desired, key=lambda r: r.name):
        current = live.mappings.get(role.name)
        before = current.definition if current is not None else None
        kept = _protected(role, before, protect)
        if role.absent:
            after = RoleMapping(description=before.description, **kept) if before and kept else None
            if before is None or after == before:
                unchanged.append(role.name)
            else:
                action = Action.UPDATE if after is not None else Action.DELETE
                changes.append(
                    Change(role.name, action, before, after, role.ownership, protected=kept)
                )
            continue
        after = target_mapping(role, before, protect)
        strangers = _strangers(role, before)
        if before == after:
            unchanged.append(role.name)
            if strangers:
                left_alone[role.name] = strangers
            continue
        action = Action.CREATE if before is None else Action.UPDATE
        changes.append(Change(role.name, action, before, after, role.ownership, strangers, kept))
    return tuple(changes), tuple(unchanged), left_alone


def apply_to(
    live: Mapping[str, LiveDefinition], changes: Iterable[Change]
) -> dict[str, RoleMapping]:
    """What the mappings are after the changes (for the access impact and verification)."""
    result = {name: entry.definition for name, entry in live.items()}
    for change in changes:
        if change.after is None:
            result.pop(change.role, None)
        else:
            result[change.role] = change.after
    return result


def moved(changes: Iterable[Change], fresh: Mapping[str, LiveDefinition]) -> list[str]:
    """What changed on the cluster since the plan, in the mappings these changes touch."""
    lines = []
    for change in changes:
        entry = fresh.get(change.role)
        now = entry.definition if entry is not None else None
        if now == change.before:
            continue
        if change.before is None:
            lines.append(f"{change.role}: created by someone else since the plan")
        elif now is None:
            lines.append(f"{change.role}: deleted by someone else since the plan")
        else:
            since = Change(change.role, Action.UPDATE, change.before, now)
            parts = [
                f"{verb} {', '.join(sorted(set().union(*map(values, FIELDS))))}"
                for verb, values in (("gained", since.added), ("lost", since.removed))
                if any(map(values, FIELDS))
            ]
            lines.append(f"{change.role}: {'; '.join(parts) or 'description changed'}")
    return lines


def import_body(
    mapping: RoleMapping, sso_entries: Mapping[str, dict[str, str]]
) -> tuple[Any, list[str]]:
    """What `import` writes for a mapping, and the values it leaves out (each with why): the
    `principals` shorthand for IAM ARNs where Amazon presents them, explicit fields otherwise;
    ``ownership: shared`` when a value is left out, so that applying never removes it."""
    principals: list[Any] = []
    explicit: dict[str, list[str]] = {f: [] for f in FIELDS}
    dropped: list[str] = []
    for name in FIELDS:
        for value in sorted(mapping.values(name)):
            problem = unusable(name, value)
            if problem:
                dropped.append(f"{name}: {value!r} ({problem})")
                continue
            placed = field_for(value).field == name and name in ("users", "backend_roles")
            if placed and value in sso_entries:
                principals.append(dict(sso_entries[value]))
            else:
                (principals if placed else explicit[name]).append(value)
    if not dropped and mapping.description is None and not any(explicit.values()) and principals:
        return principals, dropped
    body: dict[str, Any] = {"ownership": "shared"} if dropped else {}
    if principals:
        body["principals"] = principals
    body.update({name: values for name, values in explicit.items() if values})
    if not principals and not any(explicit.values()):
        body["users"] = []
    if mapping.description is not None:
        body["description"] = mapping.description
    return body, dropped
