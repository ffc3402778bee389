"""Planning: the difference between desired and live state. A pure function, no I/O.

Each kind plans its own entries (:mod:`osaccess.kinds`): mappings with their ownership and
protected principals, every definition kind through the same diff. The access impact (who gains
and loses what) is :mod:`osaccess.access.impact`; this module puts the pieces into one
:class:`Plan` and adds the plan-time warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from osaccess import errors, kinds
from osaccess.access.impact import AccessChange
from osaccess.kinds.action_groups import ACTION_GROUPS
from osaccess.kinds.base import (
    Action,
    DefinitionChange,
    DesiredDefinition,
    plan_definitions,
    protected_entries,
)
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.mappings import (
    Change,
    DesiredRole,
    RoleMapping,
    check,
    plan_mappings,
)
from osaccess.kinds.mappings import apply_to as apply_changes
from osaccess.kinds.roles import ROLES
from osaccess.model import LiveState
from osaccess.plugin import builtin

__all__ = ["Action", "Change", "DefinitionChange", "Plan", "apply_to", "diff"]


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unchanged: tuple[str, ...] = ()
    # shared roles with nothing to change but principals the file does not own
    left_alone: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    # every definition kind's changes, in write order (action groups, roles, tenants, ...)
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


def check_file(
    desired: Sequence[DesiredRole], live: LiveState, definitions: Sequence[DesiredDefinition]
) -> list[str]:
    """Problems that make the file impossible to apply to this cluster, found before any write."""
    roles = ROLES.name
    defined = {d.name for d in definitions if d.kind == roles and d.definition is not None}
    deleted = {d.name for d in definitions if d.kind == roles and d.definition is None}
    return protected_entries(definitions, live) + check(desired, live, defined, deleted)


def diff(
    desired: Sequence[DesiredRole],
    live: LiveState,
    protect: frozenset[str] = frozenset(),
    definitions: Sequence[DesiredDefinition] = (),
) -> Plan:
    """Compare the file with the cluster; what the file does not name is not touched, and
    protected principals are never removed from any mapping. The access impact (who gains and
    loses what) is not here: :func:`osaccess.run.engine.plan` adds it."""
    problems = check_file(desired, live, definitions)
    if problems:
        raise errors.PlanError("the file cannot be applied to this cluster:", problems)
    changes, unchanged, left_alone = plan_mappings(desired, live, protect)
    definition_changes, definitions_unchanged = plan_definitions(definitions, live)
    return Plan(
        changes,
        unchanged,
        left_alone,
        definition_changes,
        definitions_unchanged,
        warnings=unknown_actions(definitions, live),
    )


def unknown_actions(definitions: Sequence[DesiredDefinition], live: LiveState) -> tuple[str, ...]:
    """Actions in the file's definitions that are neither an action group of the cluster or of
    the file, nor an action pattern: the loader checked the shipped list; this is the cluster's."""
    groups = ACTION_GROUPS.name
    if groups not in live.definitions:
        return ()
    known = set(live.defined(groups)) | {
        d.name for d in definitions if d.kind == groups and d.definition is not None
    }
    found = []
    for wanted in definitions:
        kind = kinds.by_name(wanted.kind)
        actions = kind.actions(wanted.definition) if wanted.definition is not None else frozenset()
        for action, close in builtin.unknown_actions(actions, known):
            hint = f"; did you mean {close!r}?" if close else ""
            found.append(
                f"{wanted.location}: {kind.label} {wanted.name!r} names {action!r}, which is not "
                f"an action group on this cluster or in the file, nor an action: it grants "
                f"nothing{hint}"
            )
    return tuple(found)


def apply_to(live: Mapping[str, LiveDefinition], plan_: Plan) -> dict[str, RoleMapping]:
    """What the mappings are after the plan's operations (for tests and verification)."""
    return apply_changes(live, plan_.changes)
