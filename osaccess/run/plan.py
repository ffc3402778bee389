"""Planning: the difference between desired and live state. A pure function, no I/O.

Every kind plans its entries through the same diff (:func:`osaccess.kinds.planning.plan_entries`);
what a kind adds (a mapping's ownership and protected principals) is its ``plan_entry``. The
access impact (who gains and loses what) is :mod:`osaccess.access.impact`; this module puts the
pieces into one :class:`Plan` and adds the plan-time warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from osaccess import errors, kinds
from osaccess.access.impact import AccessChange
from osaccess.kinds.action_groups import ACTION_GROUPS
from osaccess.kinds.base import Action, Change, Desired, Unchanged
from osaccess.kinds.live import LiveState
from osaccess.kinds.planning import plan_entries, protected_entries
from osaccess.plugin import builtin

__all__ = ["Action", "Change", "Plan", "Unchanged", "diff"]


@dataclass(frozen=True)
class Plan:
    # every kind's changes, in write order (action groups, roles, tenants, ..., mappings)
    changes: tuple[Change, ...]
    # the file's entries that need no write, with what people should know of them
    unchanged: tuple[Unchanged, ...] = ()
    # who gains and who loses what, through the changes above
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
        return not self.changes

    def of(self, kind: str) -> tuple[Change, ...]:
        """The changes to one kind."""
        return tuple(c for c in self.changes if c.kind == kind)

    def unchanged_of(self, kind: str) -> tuple[Unchanged, ...]:
        return tuple(u for u in self.unchanged if u.kind == kind)

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)

    @property
    def added_count(self) -> int:
        """Principals that gain a role through the plan's mappings."""
        return sum(change.principals[0] for change in self.changes)

    @property
    def removed_count(self) -> int:
        return sum(change.principals[1] for change in self.changes)


def diff(
    desired: Sequence[Desired], live: LiveState, protect: frozenset[str] = frozenset()
) -> Plan:
    """Compare the file with the cluster; what the file does not name is not touched, and
    protected principals are never removed from any mapping. The access impact (who gains and
    loses what) is not here: :func:`osaccess.run.engine.plan` adds it."""
    problems = protected_entries(desired, live)
    if problems:
        raise errors.PlanError("the file cannot be applied to this cluster:", problems)
    changes, unchanged = plan_entries(desired, live, protect)
    return Plan(changes, unchanged, warnings=unknown_actions(desired, live))


def unknown_actions(definitions: Sequence[Desired], live: LiveState) -> tuple[str, ...]:
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
