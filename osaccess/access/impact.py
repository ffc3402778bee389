"""The access impact of a plan: who gains and who loses what, through the mapping and
definition changes it makes. Pure: effective permissions before and after (the cluster's
definitions, or offline the plugin's built-in ones, :mod:`osaccess.access.permissions`),
compared principal by principal (:func:`access_changes`), shown as the roles name their grants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from osaccess.access.notes import WRITES, bulk_note, pattern_notes
from osaccess.access.permissions import (
    Evaluator,
    Expander,
    Subject,
    Summary,
    subjects_of,
    user_subjects,
)
from osaccess.kinds.action_groups import builtin_groups
from osaccess.kinds.base import DefinitionChange
from osaccess.kinds.internal_users import INTERNAL_USERS, users_of
from osaccess.kinds.mappings import Change, apply_to
from osaccess.kinds.roles import builtin_roles
from osaccess.model import LiveState
from osaccess.plugin.matching import matches


def states(
    live: LiveState,
    changes: Sequence[Change] = (),
    definition_changes: Sequence[DefinitionChange] = (),
) -> tuple[Evaluator, Evaluator]:
    """Effective-permission evaluators of the cluster before and after the plan. Without the
    cluster's definitions (offline), the plugin's built-in roles and action groups stand in."""

    kinds: dict[str, dict[str, Any]] = {
        "roles": (
            {n: e.definition for n, e in live.defined("roles").items()}
            if "roles" in live.definitions
            else dict(builtin_roles())
        ),
        "action_groups": (
            {n: e.definition for n, e in live.defined("action_groups").items()}
            if "action_groups" in live.definitions
            else dict(builtin_groups())
        ),
        INTERNAL_USERS.name: users_of(live),
    }
    after_kinds = {name: dict(values) for name, values in kinds.items()}
    for change in definition_changes:
        if change.kind not in after_kinds:
            continue
        if change.after is None:
            after_kinds[change.kind].pop(change.name, None)
        else:
            after_kinds[change.kind][change.name] = change.after
    users, after_users = kinds[INTERNAL_USERS.name], after_kinds[INTERNAL_USERS.name]
    before_mappings = {name: entry.definition for name, entry in live.mappings.items()}
    before = Evaluator(before_mappings, kinds["roles"], kinds["action_groups"], users)
    after = Evaluator(
        apply_to(live.mappings, changes),
        after_kinds["roles"],
        after_kinds["action_groups"],
        after_users,
    )
    return before, after


def access_impact(
    live: LiveState,
    changes: Sequence[Change] = (),
    definition_changes: Sequence[DefinitionChange] = (),
) -> tuple[AccessChange, ...]:
    """Who gains and who loses what: every principal a changed mapping names, and every
    principal mapped to a role whose definition (or one of whose action groups) changes."""
    if not changes and not definition_changes:
        return ()
    before, after = states(live, changes, definition_changes)
    subjects: list[Subject] = []
    for change in changes:
        for mapping in (change.before, change.after):
            if mapping is not None:
                subjects += subjects_of(mapping)
    affected = _affected_roles(definition_changes, before, after)
    for role in sorted(affected):
        for mappings in (before.mappings, after.mappings):
            if role in mappings:
                subjects += subjects_of(mappings[role])
    # every internal user, as each state knows it: a change to a user, to a mapping its
    # backend roles meet, or to a role it holds directly shows as its gains and losses
    users = set(before.users) | set(after.users)
    subjects = [s for s in subjects if s.label not in users]
    subjects += user_subjects(users)
    return access_changes(before, after, subjects)


def _affected_roles(
    definition_changes: Sequence[DefinitionChange], before: Evaluator, after: Evaluator
) -> set[str]:
    """Roles whose definition changes, or that use (through any nesting) a changed group."""
    roles = {c.name for c in definition_changes if c.kind == "roles"}
    groups = {c.name for c in definition_changes if c.kind == "action_groups"}
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


# -- what changes -------------------------------------------------------------------------------


_IndexPairs = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (patterns, actions)


@dataclass(frozen=True)
class Access:
    """A set of grants, as lists for people and JSON. ``cluster`` and ``index`` are expanded to
    concrete actions (what the node checks); ``as_written`` says the same as the roles name it
    (action groups such as ``read`` unexpanded), expanded only where the expansion is the
    difference (a group whose own definition changes)."""

    roles: tuple[str, ...] = ()
    cluster: tuple[str, ...] = ()
    index: _IndexPairs = ()
    tenants: tuple[tuple[str, str], ...] = ()  # (tenant, read|write)
    written_cluster: tuple[str, ...] | None = None  # None: as expanded
    written_index: _IndexPairs | None = None

    def __bool__(self) -> bool:
        return bool(self.roles or self.cluster or self.index or self.tenants)

    @property
    def shown_cluster(self) -> tuple[str, ...]:
        return self.cluster if self.written_cluster is None else self.written_cluster

    @property
    def shown_index(self) -> _IndexPairs:
        return self.index if self.written_index is None else self.written_index

    def data(self) -> dict[str, Any]:
        return {
            "roles": list(self.roles),
            "cluster": list(self.cluster),
            "index": _index_data(self.index),
            "tenants": [{"tenant": t, "access": a} for t, a in self.tenants],
            "as_written": {
                "cluster": list(self.shown_cluster),
                "index": _index_data(self.shown_index),
            },
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Access:
        written = data.get("as_written")
        return cls(
            roles=tuple(data["roles"]),
            cluster=tuple(data["cluster"]),
            index=_index_from(data["index"]),
            tenants=tuple((t["tenant"], t["access"]) for t in data["tenants"]),
            written_cluster=tuple(written["cluster"]) if written else None,
            written_index=_index_from(written["index"]) if written else None,
        )


def _index_data(pairs: _IndexPairs) -> list[dict[str, list[str]]]:
    return [{"patterns": list(p), "actions": list(a)} for p, a in pairs]


def _index_from(data: list[dict[str, list[str]]]) -> _IndexPairs:
    return tuple((tuple(i["patterns"]), tuple(i["actions"])) for i in data)


@dataclass(frozen=True)
class AccessChange:
    principal: str
    gains: Access
    loses: Access
    # what the node makes of the gains (the bulk rule, patterns filled in for this principal)
    notes: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        found = {
            "principal": self.principal,
            "gains": self.gains.data(),
            "loses": self.loses.data(),
        }
        if self.notes:
            found["notes"] = list(self.notes)
        return found

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AccessChange:
        return cls(
            data["principal"],
            Access.from_data(data["gains"]),
            Access.from_data(data["loses"]),
            tuple(str(n) for n in data.get("notes", ())),
        )


def _grouped(pairs: Iterable[tuple[str, str]]) -> _IndexPairs:
    """(pattern, action) pairs as (patterns, actions) lines: patterns with the same actions
    together."""
    by_action: dict[str, set[str]] = {}
    for pattern, action in pairs:
        by_action.setdefault(action, set()).add(pattern)
    by_patterns: dict[tuple[str, ...], list[str]] = {}
    for action, patterns in by_action.items():
        by_patterns.setdefault(tuple(sorted(patterns)), []).append(action)
    return tuple(sorted((p, tuple(sorted(a))) for p, a in by_patterns.items()))


_G = TypeVar("_G", str, tuple[str, str])


def _as_written(
    named: frozenset[_G], expanded: frozenset[_G], expand: Callable[[_G], set[_G]]
) -> set[_G]:
    """The named grants (actions, or (pattern, action) pairs) that explain an expanded
    difference, and the expanded grants that none of them explains."""
    shown: set[_G] = set()
    covered: set[_G] = set()
    for grant in named:
        concrete = expand(grant) & expanded
        if concrete:
            shown.add(grant)
            covered |= concrete
    return shown | (expanded - covered)


def _difference(first: Summary, second: Summary, expander: Expander) -> Access:
    """What ``first`` allows and ``second`` does not; ``expander`` expands ``first``'s groups."""
    cluster = first.cluster - second.cluster
    pairs = first.index - second.index

    def actions(action: str) -> set[str]:
        return set(expander.expand(action))

    def pairs_of(pair: tuple[str, str]) -> set[tuple[str, str]]:
        return {(pair[0], a) for a in expander.expand(pair[1])}

    return Access(
        roles=tuple(sorted(first.roles - second.roles)),
        cluster=tuple(sorted(cluster)),
        index=_grouped(pairs),
        tenants=tuple(sorted(first.tenants - second.tenants)),
        written_cluster=tuple(
            sorted(_as_written(first.named_cluster - second.named_cluster, cluster, actions))
        ),
        written_index=_grouped(
            _as_written(first.named_index - second.named_index, pairs, pairs_of)
        ),
    )


def access_changes(
    before: Evaluator, after: Evaluator, subjects: Iterable[Subject]
) -> tuple[AccessChange, ...]:
    """For every subject whose access differs between the two states: gains and losses."""
    changes = []
    for who in sorted(set(subjects)):
        old, new = before.summary(who.caller), after.summary(who.caller)
        if old == new:
            continue
        gains = _difference(new, old, after.expander)
        loses = _difference(old, new, before.expander)
        if gains or loses:
            changes.append(AccessChange(who.label, gains, loses, _notes(gains, after, who)))
    return tuple(changes)


def _notes(gains: Access, after: Evaluator, who: Subject) -> tuple[str, ...]:
    """The node's rules about what is gained: writes that still lack the cluster permission
    for bulk, and gained index patterns with variables as they are for this principal."""
    gained = [(patterns, actions) for patterns, actions in gains.index]
    writes = any(matches(a, w) for _, actions in gained for a in actions for w in WRITES)
    varied = any("${" in p for patterns, _ in gained for p in patterns)
    if not writes and not varied:
        return ()
    caller = after.resolve(who.caller) or who.caller
    permissions = after.of(caller)
    found = []
    if writes and (note := bulk_note(permissions)) is not None:
        found.append(note)
    if varied:
        shown = {p for patterns, _ in gained for p in patterns}
        found += [
            n for n in pattern_notes(permissions, caller) if any(f" {p} " in n for p in shown)
        ]
    return tuple(found)
