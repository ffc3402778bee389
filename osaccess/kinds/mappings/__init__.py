"""Role mappings: who holds which role. The file's ``roles`` section, the API's ``rolesmapping``.

Their own rules live here: placement of IAM principals (through :mod:`osaccess.file.principals`),
ownership (``shared``: principals the file does not name are never removed) and protected
principals. Principals the file does not own join the desired side before the diff, so the
diff has no special cases and can never remove them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from yaml.nodes import MappingNode, Node, ScalarNode

from osaccess.file.format import Field
from osaccess.file.principals import SsoRef, entity_name
from osaccess.file.source import describe
from osaccess.kinds.base import Action, Change, Desired, Kind, Line, Unchanged, WriteCost
from osaccess.kinds.mappings.file import ROLE, import_body, read_role
from osaccess.kinds.mappings.model import (
    FIELDS,
    NO_DETAIL,
    MappingDetail,
    Ownership,
    RoleMapping,
    WantedMapping,
)

if TYPE_CHECKING:
    from osaccess.file.reader import Reader

__all__ = [
    "FIELDS",
    "MAPPINGS",
    "MappingDetail",
    "Ownership",
    "RoleMapping",
    "WantedMapping",
    "added",
    "description_change",
    "detail_of",
    "import_body",
    "present",
    "removed",
    "sso_refs",
    "target_mapping",
]


def added(change: Change | None, name: str) -> frozenset[str]:
    """The values of one field that a mapping change adds."""
    if change is None:
        return frozenset()
    before = change.before.values(name) if change.before else frozenset()
    return (change.after.values(name) if change.after else frozenset()) - before


def removed(change: Change | None, name: str) -> frozenset[str]:
    if change is None:
        return frozenset()
    after = change.after.values(name) if change.after else frozenset()
    return (change.before.values(name) if change.before else frozenset()) - after


def detail_of(change: Change | Unchanged) -> MappingDetail:
    detail = change.detail
    return detail if isinstance(detail, MappingDetail) else NO_DETAIL


def description_change(change: Change) -> tuple[str | None, str | None] | None:
    old = change.before.description if change.before else None
    new = change.after.description if change.after else None
    return (old, new) if old != new and change.action is Action.UPDATE else None


def present(entries: Iterable[Desired]) -> dict[str, RoleMapping]:
    """The file's mappings that must exist: role -> the principals the file gives it."""
    return {
        e.name: e.definition.mapping
        for e in entries
        if e.kind == MAPPINGS.name and isinstance(e.definition, WantedMapping)
    }


def sso_refs(entries: Iterable[Desired]) -> tuple[SsoRef, ...]:
    """Every permission set that the file's mappings name by ``sso:``."""
    return tuple(
        ref
        for e in entries
        if e.kind == MAPPINGS.name and isinstance(e.definition, WantedMapping)
        for ref in e.definition.sso
    )


class Mappings(Kind):
    """The mapping kind: read from the file, planned, written last (a mapping needs its role)."""

    name = "mappings"
    section = "roles"
    endpoint = "rolesmapping"
    label = "mapping"
    include = "mappings"
    order = 100
    model = RoleMapping
    entry = ROLE
    summary = (
        "Role mappings: role name -> a list of principals, or a mapping with the keys of a role."
    )
    named_after = "roles"
    # the plugin reads the whole roles document again for every mapping a PATCH writes (twice
    # for a new or changed one), and the mappings document grows: measured on 2.19.4, 2 cores
    write_cost = WriteCost(
        per_operation=0.0, per_role=1.8e-5, per_entry=1e-5, roles_as_entries=True, removal_share=0.5
    )
    deletion_guard = "mapping-deletion"
    import_notes: ClassVar[dict[str, str]] = {
        "ownership: shared": "keeps the values left out above",
        "users: []": "an empty mapping: it matches nobody",
    }
    key_width = 17
    columns = ("role", "field", "principal")

    def field(self) -> Field:
        return Field(self.section, "roles", self.summary, section=ROLE)

    @property
    def plural(self) -> str:
        return "role mappings"

    def called(self, name: str) -> str:
        return f"the mapping of {name!r}"

    def title(self, name: str) -> str:
        return name

    def read_section(self, reader: Reader, node: Node) -> list[Desired]:
        """The `roles` section: role -> principals, or a mapping of the role's keys."""
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            reader.error(
                node,
                "no roles: the 'roles' section is empty",
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
            role = read_role(reader, name, key, value)
            if name is not None and role is not None:
                roles.append(role)
        return roles

    # -- planning -------------------------------------------------------------------------------

    def plan_entry(
        self, wanted: Desired, before: Any | None, protect: frozenset[str]
    ) -> tuple[RoleMapping | None, MappingDetail]:
        """Protected principals are never removed; a shared mapping keeps every principal the
        file does not name (left alone)."""
        want = wanted.definition
        if want is None:  # absent: nothing but the protected principals that are there
            kept = _protected(None, before, protect)
            after = RoleMapping(description=before.description, **kept) if before and kept else None
            return after, MappingDetail(protected=kept)
        after = target_mapping(want, before, protect)
        detail = MappingDetail(
            want.ownership, _strangers(want, before), _protected(want, before, protect)
        )
        return after, detail

    # -- changes, for people and for the plan document -------------------------------------------

    def heading(self, change: Change) -> tuple[str, str]:
        if change.action is Action.DELETE:
            count = change.principals[1]
            return change.name, f"DELETE the mapping: {count} principal(s) lose this role"
        shared = detail_of(change).ownership is Ownership.SHARED
        return change.name, change.action.value + (", shared" if shared else "")

    def lines(self, change: Change) -> list[Line]:
        found = []
        for name in FIELDS:
            found += [Line("+", name, value) for value in sorted(added(change, name))]
            found += [Line("-", name, value) for value in sorted(removed(change, name))]
        description = description_change(change)
        if description:
            before, after = description
            shown = f"{before!r} -> {after!r}"
            found.append(Line("~", "description", shown, values=(str(before), str(after))))
        detail = detail_of(change)
        found += _kept(detail.protected, "protected: kept although not in the file")
        found += _kept(detail.left_alone, "left alone: not in the file, shared mapping")
        return found

    def kept_lines(self, unchanged: Unchanged) -> list[Line]:
        return _kept(detail_of(unchanged).left_alone, "left alone (shared mapping)")

    def principals(self, change: Change) -> tuple[int, int]:
        return (
            sum(len(added(change, name)) for name in FIELDS),
            sum(len(removed(change, name)) for name in FIELDS),
        )

    def stale(self, change: Change, now: Any | None) -> str | None:
        if now == change.before:
            return None
        if change.before is None:
            return f"{change.name}: created by someone else since the plan"
        if now is None:
            return f"{change.name}: deleted by someone else since the plan"
        since = Change(self.name, change.name, Action.UPDATE, change.before, now)
        parts = [
            f"{verb} {', '.join(sorted(set().union(*(how(since, n) for n in FIELDS))))}"
            for verb, how in (("gained", added), ("lost", removed))
            if any(how(since, n) for n in FIELDS)
        ]
        return f"{change.name}: {'; '.join(parts) or 'description changed'}"

    def detail_data(self, detail: Any) -> Any:
        if not isinstance(detail, MappingDetail):
            return None
        return {
            "ownership": detail.ownership.value,
            "left_alone": _fields(detail.left_alone),
            "protected": _fields(detail.protected),
        }

    def detail_from_data(self, raw: Any) -> Any:
        if raw is None:
            return None
        return MappingDetail(
            Ownership(raw["ownership"]),
            _field_sets(raw["left_alone"]),
            _field_sets(raw["protected"]),
        )

    def change_data(self, change: Change) -> dict[str, Any]:
        description = description_change(change)
        return {
            "added": {n: sorted(added(change, n)) for n in FIELDS if added(change, n)},
            "removed": {n: sorted(removed(change, n)) for n in FIELDS if removed(change, n)},
            "description": {"before": description[0], "after": description[1]}
            if description
            else None,
        }

    def from_plan(self, body: Mapping[str, Any]) -> RoleMapping:
        """Exactly the mapping that was dumped (unlike from_wire, which tidies what a cluster
        sends)."""
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            raise ValueError("a description that is not a string")
        return RoleMapping(description=description, **{n: _plain(body[n]) for n in FIELDS})

    def import_entry(
        self, value: Any, sso_entries: Mapping[str, dict[str, str]]
    ) -> tuple[Any, list[str]]:
        body, dropped = import_body(value, sso_entries)
        return body, [f"left on the cluster, not in this file: {reason}" for reason in dropped]


def _kept(fields: Mapping[str, frozenset[str]], why: str) -> list[Line]:
    return [
        Line("=", name, ", ".join(sorted(values)), why, tuple(sorted(values)))
        for name, values in sorted(fields.items())
    ]


def _fields(fields: Mapping[str, frozenset[str]]) -> dict[str, list[str]]:
    return {name: sorted(values) for name, values in sorted(fields.items())}


def _plain(values: Iterable[Any]) -> frozenset[str]:
    result = frozenset(values)
    if not all(isinstance(v, str) for v in result):
        raise ValueError("a principal that is not a string")
    return result


def _field_sets(raw: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    return {str(name): _plain(values) for name, values in raw.items()}


MAPPINGS = Mappings()


def target_mapping(
    desired: WantedMapping, live: RoleMapping | None, protect: frozenset[str] = frozenset()
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
    desired: WantedMapping | None, live: RoleMapping | None, protect: frozenset[str]
) -> dict[str, frozenset[str]]:
    """Protected principals on the cluster that the file alone would have removed (``desired``
    None: the mapping is absent)."""
    if live is None or not protect:
        return {}
    if desired is not None and desired.ownership is Ownership.SHARED:
        return {}
    wanted = RoleMapping() if desired is None else desired.mapping
    return _only({name: (live.values(name) & protect) - wanted.values(name) for name in FIELDS})


def _strangers(role: WantedMapping, live: RoleMapping | None) -> dict[str, frozenset[str]]:
    if role.ownership is not Ownership.SHARED or live is None:
        return {}
    return _only({name: live.values(name) - role.mapping.values(name) for name in FIELDS})
