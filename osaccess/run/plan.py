"""Planning: the difference between desired and live state. A pure function, no I/O.

Principals that osaccess does not own (other principals in a ``shared`` mapping) are folded into
the desired side before the diff, so the diff itself needs no special cases and can never remove
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from osaccess import errors
from osaccess.access.permissions import (
    AccessChange,
    Evaluator,
    Subject,
    access_changes,
    subjects_of,
)
from osaccess.model import (
    DEFINITION_KINDS,
    FIELDS,
    KINDS_BY_NAME,
    ActionGroup,
    Definition,
    DesiredDefinition,
    DesiredRole,
    LiveMapping,
    LiveState,
    Ownership,
    RoleDefinition,
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
class DefinitionChange:
    """A role definition, action group or tenant to create, update or delete."""

    kind: str  # roles | action_groups | tenants
    name: str
    action: Action
    before: Definition | None
    after: Definition | None

    @property
    def label(self) -> str:
        return KINDS_BY_NAME[self.kind].label

    @property
    def endpoint(self) -> str:
        return KINDS_BY_NAME[self.kind].endpoint

    def operation(self) -> dict[str, Any]:
        """The JSON Patch operation: the whole entity, like mappings."""
        if self.action is Action.DELETE:
            return {"op": "remove", "path": pointer(self.name)}
        assert self.after is not None
        return {"op": "add", "path": pointer(self.name), "value": self.after.to_wire()}

    def differences(self) -> list[tuple[str, str, str]]:
        """(sign, key, value) lines for people: + added, - removed, ~ changed."""
        before = _flat(self.before)
        after = _flat(self.after)
        lines = [("-", key, value) for key, value in sorted(before - after)]
        lines += [("+", key, value) for key, value in sorted(after - before)]
        return sorted(lines, key=lambda line: (line[1], line[0] == "+", line[2]))


def _flat(definition: Definition | None) -> set[tuple[str, str]]:
    """A definition as (key, value) pairs, one per granted thing, for readable diffs."""
    import json

    if definition is None:
        return set()
    pairs: set[tuple[str, str]] = set()
    for key, value in definition.to_wire().items():
        if isinstance(value, list):
            for item in value:
                pairs.add(
                    (key, item if isinstance(item, str) else json.dumps(item, sort_keys=True))
                )
        else:
            pairs.add((key, str(value)))
    return pairs


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unchanged: tuple[str, ...] = ()
    # shared roles with nothing to change but principals the file does not own
    left_alone: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    # role definitions, action groups and tenants (in dependency order: groups, roles, tenants)
    definition_changes: tuple[DefinitionChange, ...] = ()
    definitions_unchanged: tuple[tuple[str, str], ...] = ()  # (kind, name)
    # who gains and who loses what, through the mapping and definition changes above
    access_changes: tuple[AccessChange, ...] = ()
    # what the file says that the cluster will not understand as meant (not a refusal)
    warnings: tuple[str, ...] = ()
    # what the file called a value it did not spell out: resolved ARN -> "sso: AdminAccess"
    names: Mapping[str, str] = field(default_factory=dict)

    def named(self, value: str) -> str:
        """The value, with what the file called it when that was not the value itself."""
        return f"{value}   ({self.names[value]})" if value in self.names else value

    @property
    def empty(self) -> bool:
        return not self.changes and not self.definition_changes

    def definitions_of(self, kind: str) -> tuple[DefinitionChange, ...]:
        return tuple(c for c in self.definition_changes if c.kind == kind)

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


def check(
    desired: Iterable[DesiredRole],
    live: LiveState,
    definitions: Iterable[DesiredDefinition] = (),
) -> list[str]:
    """Problems that make the file impossible to apply to this cluster, found before any write."""
    problems = []
    defined_roles = {d.name for d in definitions if d.kind == "roles" and d.definition is not None}
    deleted_roles = {d.name for d in definitions if d.kind == "roles" and d.definition is None}
    for wanted in definitions:
        existing = live.defined(wanted.kind).get(wanted.name)
        flag = existing.protected_by_plugin if existing is not None else None
        if flag:
            problems.append(
                f"{wanted.location}: the {KINDS_BY_NAME[wanted.kind].label} {wanted.name!r} is "
                f"{flag} on this cluster: the REST API cannot change it; remove it from the file"
            )
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
        elif not role.absent and role.name in deleted_roles:
            problems.append(
                f"{role.location}: role {role.name!r} is mapped here but its definition is "
                "'absent' in this file; remove the mapping (state: absent) or keep the role"
            )
        elif not role.absent and role.name not in live.roles | defined_roles:
            problems.append(
                f"{role.location}: role {role.name!r} does not exist on the cluster and the file "
                "does not define it; define it under role_definitions, create it first, or fix "
                "the name"
            )
    return problems


def plan(
    desired: Sequence[DesiredRole],
    live: LiveState,
    protect: frozenset[str] = frozenset(),
    definitions: Sequence[DesiredDefinition] = (),
    *,
    impact: bool = True,
) -> Plan:
    """Compare the file with the cluster; what the file does not name is not touched, and
    protected principals are never removed from any mapping. ``impact=False`` leaves out the
    access impact (who gains and loses what): enough to know whether anything is left to do."""
    problems = check(desired, live, definitions)
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
    definition_changes, definitions_unchanged = plan_definitions(definitions, live)
    result = Plan(
        tuple(changes), tuple(unchanged), left_alone, definition_changes, definitions_unchanged
    )
    return replace(
        result,
        access_changes=access_impact(live, result) if impact else (),
        warnings=unknown_actions(definitions, live),
    )


def unknown_actions(definitions: Sequence[DesiredDefinition], live: LiveState) -> tuple[str, ...]:
    """Actions in the file's definitions that are neither an action group of the cluster or of
    the file, nor an action pattern: the loader checked the shipped list; this is the cluster's."""

    from osaccess.access import builtin

    if "action_groups" not in live.definitions:
        return ()
    known = set(live.defined("action_groups")) | {
        d.name for d in definitions if d.kind == "action_groups" and d.definition is not None
    }
    found = []
    for wanted in definitions:
        definition = wanted.definition
        actions: frozenset[str] = frozenset()
        if isinstance(definition, RoleDefinition):
            actions = definition.actions()
        elif isinstance(definition, ActionGroup):
            actions = definition.allowed_actions
        for action, close in builtin.unknown_actions(actions, known):
            hint = f"; did you mean {close!r}?" if close else ""
            found.append(
                f"{wanted.location}: {KINDS_BY_NAME[wanted.kind].label} {wanted.name!r} names "
                f"{action!r}, which is not an action group on this cluster or in the file, nor "
                f"an action: it grants nothing{hint}"
            )
    return tuple(found)


def states(live: LiveState, plan_: Plan) -> tuple[Evaluator, Evaluator]:
    """Effective-permission evaluators of the cluster before and after the plan. Without the
    cluster's definitions (offline), the plugin's built-in roles and action groups stand in."""
    from osaccess.access import builtin

    kinds: dict[str, dict[str, Any]] = {
        "roles": (
            {n: e.definition for n, e in live.defined("roles").items()}
            if "roles" in live.definitions
            else dict(builtin.roles())
        ),
        "action_groups": (
            {n: e.definition for n, e in live.defined("action_groups").items()}
            if "action_groups" in live.definitions
            else dict(builtin.action_groups())
        ),
    }
    after_kinds = {name: dict(values) for name, values in kinds.items()}
    for change in plan_.definition_changes:
        if change.kind not in after_kinds:
            continue
        if change.after is None:
            after_kinds[change.kind].pop(change.name, None)
        else:
            after_kinds[change.kind][change.name] = change.after
    before_mappings = {name: entry.mapping for name, entry in live.mappings.items()}
    before = Evaluator(before_mappings, kinds["roles"], kinds["action_groups"])
    after = Evaluator(
        apply_to(live.mappings, plan_), after_kinds["roles"], after_kinds["action_groups"]
    )
    return before, after


def access_impact(live: LiveState, plan_: Plan) -> tuple[AccessChange, ...]:
    """Who gains and who loses what: every principal a changed mapping names, and every
    principal mapped to a role whose definition (or one of whose action groups) changes."""
    if plan_.empty:
        return ()
    before, after = states(live, plan_)
    subjects: list[Subject] = []
    for change in plan_.changes:
        for mapping in (change.before, change.after):
            if mapping is not None:
                subjects += subjects_of(mapping)
    affected = _affected_roles(plan_, before, after)
    for role in sorted(affected):
        for mappings in (before.mappings, after.mappings):
            if role in mappings:
                subjects += subjects_of(mappings[role])
    return access_changes(before, after, subjects)


def _affected_roles(plan_: Plan, before: Evaluator, after: Evaluator) -> set[str]:
    """Roles whose definition changes, or that use (through any nesting) a changed group."""
    roles = {c.name for c in plan_.definition_changes if c.kind == "roles"}
    groups = {c.name for c in plan_.definition_changes if c.kind == "action_groups"}
    if not groups:
        return roles
    for evaluator in (before, after):
        for name, definition in evaluator.definitions.items():
            used = definition.actions()
            if any(
                action in groups
                or any(groups & set(chain) for chain in evaluator.expander.expand(action).values())
                for action in used
            ):
                roles.add(name)
    return roles


def plan_definitions(
    desired: Sequence[DesiredDefinition], live: LiveState
) -> tuple[tuple[DefinitionChange, ...], tuple[tuple[str, str], ...]]:
    """The changes to role definitions, action groups and tenants, in dependency order. An
    unset description keeps the live one, as for mappings."""
    order = {kind.name: index for index, kind in enumerate(DEFINITION_KINDS)}
    changes: list[DefinitionChange] = []
    unchanged: list[tuple[str, str]] = []
    for wanted in sorted(desired, key=lambda d: (order[d.kind], d.name)):
        current = live.defined(wanted.kind).get(wanted.name)
        before = current.definition if current is not None else None
        after = wanted.definition
        if after is not None and before is not None and after.description is None:
            after = replace(after, description=before.description)
        if before == after:
            unchanged.append((wanted.kind, wanted.name))
            continue
        action = (
            Action.DELETE if after is None else Action.CREATE if before is None else Action.UPDATE
        )
        changes.append(DefinitionChange(wanted.kind, wanted.name, action, before, after))
    return tuple(changes), tuple(unchanged)


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
