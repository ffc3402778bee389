"""Planning every kind through one diff, and what the cluster holds after a plan. Pure.

Each kind says what differs for it (:meth:`~osaccess.kinds.base.Kind.plan_entry`, its
problems); here is the loop over the file's entries, in the kinds' write order, the checks every
kind shares (the plugin's flags, the entries an entry is named after), and the state after the
changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from osaccess.kinds.base import (
    Action,
    Change,
    Desired,
    Unchanged,
    by_name,
    in_write_order,
    registered,
)
from osaccess.kinds.live import LiveDefinition, LiveState


def plan_entries(
    desired: Sequence[Desired], live: LiveState, protect: frozenset[str] = frozenset()
) -> tuple[tuple[Change, ...], tuple[Unchanged, ...]]:
    """The changes to every kind, in write order, entry by entry; ``protect``: principals no
    change may remove."""
    order = {kind.name: index for index, kind in enumerate(in_write_order())}
    changes: list[Change] = []
    unchanged: list[Unchanged] = []
    for wanted in sorted(desired, key=lambda d: (order[d.kind], d.name)):
        kind = by_name(wanted.kind)
        current = live.defined(wanted.kind).get(wanted.name)
        before = current.definition if current is not None else None
        after, detail = kind.plan_entry(wanted, before, protect)
        if kind.unchanged(before, after):
            unchanged.append(Unchanged(wanted.kind, wanted.name, detail))
            continue
        action = (
            Action.DELETE if after is None else Action.CREATE if before is None else Action.UPDATE
        )
        changes.append(Change(wanted.kind, wanted.name, action, before, after, detail))
    return tuple(changes), tuple(unchanged)


def protected_entries(desired: Sequence[Desired], live: LiveState) -> list[str]:
    """Entries the plugin keeps to itself on this cluster (static, reserved, hidden)."""
    problems = []
    for wanted in desired:
        if wanted.kind in live.unavailable:
            problems.append(f"{wanted.location}: {live.unavailable[wanted.kind]}")
            continue
        existing = live.defined(wanted.kind).get(wanted.name)
        flag = existing.protected_by_plugin if existing is not None else None
        if flag:
            who = (
                "only a REST admin or securityadmin can change it"
                if flag == "reserved"
                else "the REST API cannot change it"
            )
            problems.append(
                f"{wanted.location}: {by_name(wanted.kind).called(wanted.name)} is {flag} on "
                f"this cluster: {who}; remove it from the file"
            )
            continue
        problem = by_name(wanted.kind).plan_problem(
            wanted.name, wanted.definition, existing.definition if existing else None
        )
        if problem:
            problems.append(f"{wanted.location}: {problem}")
    problems += _missing_referents(desired, live)
    for kind in registered():
        problems += kind.plan_problems(desired, live)
    return problems


def _missing_referents(desired: Sequence[Desired], live: LiveState) -> list[str]:
    """Entries named after an entry of another kind (a mapping after its role) that neither the
    cluster nor the file holds, or that the file deletes."""
    problems = []
    # kind -> name -> whether the file defines it (False: absent)
    in_files: dict[str, dict[str, bool]] = {}
    for entry in desired:
        in_files.setdefault(entry.kind, {})[entry.name] = entry.definition is not None
    for wanted in desired:
        other = by_name(wanted.kind).named_after
        if other is None or wanted.definition is None or other in live.unavailable:
            continue
        referent = by_name(other)
        in_file = in_files.get(other, {})
        needs = f"{by_name(wanted.kind).called(wanted.name)} needs it"
        what = f"{wanted.location}: {referent.label} {wanted.name!r}"
        if in_file.get(wanted.name) is False:
            problems.append(
                f"{what} is 'absent' in this file, but {needs}; delete that too (state: absent) "
                f"or keep the {referent.label}"
            )
        elif wanted.name not in live.defined(other) and wanted.name not in in_file:
            problems.append(
                f"{what} does not exist on the cluster and the file does not define it ({needs}); "
                f"define it under {referent.section}, create it first, or fix the name"
            )
    return problems


def applied(live: LiveState, changes: Sequence[Change]) -> LiveState:
    """The cluster as it is after the changes (for the access impact and verification): each
    changed entry as the change leaves it, the plugin's flags kept."""
    touched: dict[str, dict[str, LiveDefinition]] = {}
    for change in changes:
        entries = touched.setdefault(change.kind, dict(live.defined(change.kind)))
        if change.after is None:
            entries.pop(change.name, None)
        else:
            old = entries.get(change.name)
            entries[change.name] = (
                replace(old, definition=change.after)
                if old is not None
                else LiveDefinition(change.after)
            )
    return replace(live, definitions={**live.definitions, **touched})
