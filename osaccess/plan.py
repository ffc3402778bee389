"""Planning: the difference between desired and live state. A pure function, no I/O.

Principals that osaccess does not own (other principals in a ``shared`` mapping) are folded into
the desired side before the diff, so the diff itself needs no special cases and can never remove
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from osaccess import errors
from osaccess.model import (
    FIELDS,
    DesiredRole,
    LiveMapping,
    LiveState,
    Ownership,
    RoleMapping,
    pointer,
)


class Action(Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


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


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unchanged: tuple[str, ...] = ()
    # shared roles with nothing to change but principals the file does not own
    left_alone: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.changes

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)

    @property
    def added_count(self) -> int:
        return sum(change.added_count for change in self.changes)

    @property
    def removed_count(self) -> int:
        return sum(change.removed_count for change in self.changes)

    def operations(self) -> list[dict[str, Any]]:
        return [change.operation() for change in self.changes]


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
    if live is None:
        return RoleMapping(
            description=description, **{name: mapping.values(name) for name in FIELDS}
        )
    kept = {
        name: live.values(name)
        if desired.ownership is Ownership.SHARED
        else live.values(name) & protect
        for name in FIELDS
    }
    return RoleMapping(
        description=description,
        **{name: mapping.values(name) | kept[name] for name in FIELDS},
    )


def _protected(
    desired: DesiredRole, live: RoleMapping | None, protect: frozenset[str]
) -> dict[str, frozenset[str]]:
    """Protected principals on the cluster that the file alone would have removed."""
    if live is None or not protect or desired.ownership is Ownership.SHARED:
        return {}
    wanted = RoleMapping() if desired.absent else desired.mapping
    found = {name: (live.values(name) & protect) - wanted.values(name) for name in FIELDS}
    return {name: values for name, values in found.items() if values}


def check(desired: Iterable[DesiredRole], live: LiveState) -> list[str]:
    """Problems that make the file impossible to apply to this cluster, found before any write."""
    problems = []
    for role in desired:
        current = live.mappings.get(role.name)
        if current is not None and current.reserved:
            problems.append(
                f"{role.location}: the mapping of {role.name!r} is reserved: only a "
                "REST admin or securityadmin can change it; remove the role from "
                "the file"
            )
        elif current is not None and current.hidden:
            problems.append(
                f"{role.location}: the mapping of {role.name!r} is hidden; remove "
                "the role from the file"
            )
        elif not role.absent and role.name not in live.roles:
            problems.append(
                f"{role.location}: role {role.name!r} does not exist on the cluster; "
                "create the role first (or fix the name)"
            )
    return problems


def plan(
    desired: Sequence[DesiredRole], live: LiveState, protect: frozenset[str] = frozenset()
) -> Plan:
    """Compare the file's roles with the cluster; roles the file does not name are not touched,
    and protected principals are never removed from any mapping."""
    problems = check(desired, live)
    if problems:
        raise errors.PlanError("the file cannot be applied to this cluster:", problems)
    changes = []
    unchanged = []
    left_alone: dict[str, dict[str, frozenset[str]]] = {}
    for role in sorted(desired, key=lambda r: r.name):
        current = live.mappings.get(role.name)
        before = current.mapping if current is not None else None
        kept = _protected(role, before, protect)
        if role.absent:
            if before is not None and kept:
                # deleting would remove protected principals: keep a mapping of just them
                after = RoleMapping(description=before.description, **kept)
                if after != before:
                    changes.append(
                        Change(
                            role.name, Action.UPDATE, before, after, role.ownership, protected=kept
                        )
                    )
                else:
                    unchanged.append(role.name)
            elif before is not None:
                changes.append(Change(role.name, Action.DELETE, before, None, role.ownership))
            else:
                unchanged.append(role.name)
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
    return Plan(tuple(changes), tuple(unchanged), left_alone)


def _strangers(role: DesiredRole, live: RoleMapping | None) -> dict[str, frozenset[str]]:
    if role.ownership is not Ownership.SHARED or live is None:
        return {}
    found = {name: live.values(name) - role.mapping.values(name) for name in FIELDS}
    return {name: values for name, values in found.items() if values}


def apply_to(live: Mapping[str, LiveMapping], plan_: Plan) -> dict[str, RoleMapping]:
    """What the mappings are after the plan's operations (for tests and verification)."""
    result = {name: entry.mapping for name, entry in live.items()}
    for change in plan_.changes:
        if change.action is Action.DELETE:
            result.pop(change.role, None)
        else:
            assert change.after is not None
            result[change.role] = change.after
    return result
