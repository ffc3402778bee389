"""The access impact of a plan: who gains and who loses what, through the mapping and
definition changes it makes. Pure: effective permissions before and after (the cluster's
definitions, or offline the plugin's built-in ones), compared principal by principal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from osaccess.access import builtin
from osaccess.access.permissions import (
    AccessChange,
    Evaluator,
    Subject,
    access_changes,
    subjects_of,
)
from osaccess.kinds.mappings import apply_to
from osaccess.model import LiveState

if TYPE_CHECKING:
    from osaccess.run.plan import Plan


def states(live: LiveState, plan_: Plan) -> tuple[Evaluator, Evaluator]:
    """Effective-permission evaluators of the cluster before and after the plan. Without the
    cluster's definitions (offline), the plugin's built-in roles and action groups stand in."""

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
        apply_to(live.mappings, plan_.changes), after_kinds["roles"], after_kinds["action_groups"]
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
