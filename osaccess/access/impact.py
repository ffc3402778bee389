"""The access impact of a plan: who gains and who loses what, through the mapping and
definition changes it makes. Pure: effective permissions before and after (the cluster's
definitions, or offline the plugin's built-in ones, :mod:`osaccess.access.permissions`),
compared principal by principal (:func:`access_changes`), shown as the roles name their grants.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from osaccess.access.caveats import pattern_notes, unbulked_note
from osaccess.access.permissions import (
    Evaluator,
    Expander,
    MappedPrincipal,
    subjects_of,
    user_subjects,
)
from osaccess.access.state import before_and_after
from osaccess.kinds.action_groups import ACTION_GROUPS
from osaccess.kinds.base import Change
from osaccess.kinds.mappings import MAPPINGS
from osaccess.kinds.roles import ROLES
from osaccess.model import LiveState
from osaccess.plugin.forms import writes_documents


def access_impact(live: LiveState, changes: Sequence[Change] = ()) -> tuple[AccessChange, ...]:
    """Who gains and who loses what: every principal a changed mapping names, and every
    principal mapped to a role whose definition (or one of whose action groups) changes."""
    if not changes:
        return ()
    before, after = before_and_after(live, changes)
    subjects: list[MappedPrincipal] = []
    for change in changes:
        if change.kind != MAPPINGS.name:
            continue
        for mapping in (change.before, change.after):
            if mapping is not None:
                subjects += subjects_of(mapping)
    affected = _affected_roles(changes, before, after)
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
    definition_changes: Sequence[Change], before: Evaluator, after: Evaluator
) -> set[str]:
    """Roles whose definition changes, or that use (through any nesting) a changed group."""
    roles = {c.name for c in definition_changes if c.kind == ROLES.name}
    groups = {c.name for c in definition_changes if c.kind == ACTION_GROUPS.name}
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
    by_action: dict[str, list[str]] = {}
    for pattern, action in pairs:  # the pairs are distinct: no pattern twice for one action
        by_action.setdefault(action, []).append(pattern)
    by_patterns: dict[tuple[str, ...], list[str]] = {}
    for action, patterns in by_action.items():
        by_patterns.setdefault(tuple(sorted(patterns)), []).append(action)
    return tuple(sorted((p, tuple(sorted(a))) for p, a in by_patterns.items()))


_G = TypeVar("_G", str, tuple[str, str])


def _as_written(
    named: frozenset[_G], expanded: frozenset[_G], expand: Callable[[_G], Iterable[_G]]
) -> set[_G]:
    """The named grants (actions, or (pattern, action) pairs) that explain an expanded
    difference, and the expanded grants that none of them explains."""
    shown: set[_G] = set()
    covered: set[_G] = set()
    for grant in named:
        concrete = [g for g in expand(grant) if g in expanded]
        if concrete:
            shown.add(grant)
            covered.update(concrete)
    return shown | (expanded - covered)


def _access(
    roles: frozenset[str],
    cluster: frozenset[str],
    pairs: frozenset[tuple[str, str]],
    tenants: frozenset[tuple[str, str]],
    named_cluster: frozenset[str],
    named_pairs: frozenset[tuple[str, str]],
    expander: Expander,
) -> Access:
    """An :class:`Access` from the differences of each part (the named ones explain the
    expanded ones)."""
    index = _grouped(pairs) if pairs else ()
    written_cluster: tuple[str, ...] = ()
    if cluster:
        written_cluster = tuple(sorted(_as_written(named_cluster, cluster, expander.expand)))
    written_index = index
    if pairs and named_pairs:

        def pairs_of(pair: tuple[str, str]) -> Iterable[tuple[str, str]]:
            return ((pair[0], a) for a in expander.expand(pair[1]))

        written_index = _grouped(_as_written(named_pairs, pairs, pairs_of))
    return Access(
        roles=tuple(sorted(roles)),
        cluster=tuple(sorted(cluster)),
        index=index,
        tenants=tuple(sorted(tenants)),
        written_cluster=written_cluster,
        written_index=written_index,
    )


class _RoleDeltas:
    """What ``first`` allows a set of roles and ``second`` does not allow another, from what
    each role grants, without the union of everything the roles grant.

    A grant is gained when some role of the first set grants it (a role held in both states
    only with what its definition gains) and no role of the second set grants it: a few small
    sets per principal, since a plan usually changes a few definitions or who holds a few roles,
    and each role's delta is worked out once."""

    def __init__(self, first: Evaluator, second: Evaluator) -> None:
        self.first, self.second = first, second
        self._deltas: dict[str, _Parts] = {}
        # principals with the same roles before and after share the answer (a quarter of
        # them at 1,000 roles x 20 principals)
        self._differences: dict[tuple[frozenset[str], frozenset[str]], Access] = {}

    def _delta(self, role: str) -> _Parts:
        found = self._deltas.get(role)
        if found is None:
            a, b = self.first.grants(role), self.second.grants(role)
            found = (
                a.cluster.keys() - b.cluster.keys(),
                a.pairs - b.pairs,
                a.named_cluster - b.named_cluster,
                a.named_pairs - b.named_pairs,
            )
            self._deltas[role] = found
        return found

    def _whole(self, role: str) -> _Parts:
        grants = self.first.grants(role)
        return (grants.cluster.keys(), grants.pairs, grants.named_cluster, grants.named_pairs)

    def difference(self, first: frozenset[str], second: frozenset[str]) -> Access:
        """What the roles ``first`` allow in the first state and the roles ``second`` do not
        allow in the second."""
        found = self._differences.get((first, second))
        if found is None:
            found = self._differences[(first, second)] = self._difference(first, second)
        return found

    def _difference(self, first: frozenset[str], second: frozenset[str]) -> Access:
        candidates = [self._delta(r) if r in second else self._whole(r) for r in first]
        parts: list[frozenset[Any]] = [frozenset()] * 4
        if any(any(c) for c in candidates):
            held = [self.second.grants(r) for r in second]
            parts = [
                _unless(candidates, 0, [g.cluster.keys() for g in held]),
                _unless(candidates, 1, [g.pairs for g in held]),
                _unless(candidates, 2, [g.named_cluster for g in held]),
                _unless(candidates, 3, [g.named_pairs for g in held]),
            ]
        tenants = self.first.tenant_access(first) - self.second.tenant_access(second)
        cluster, pairs, named_cluster, named_pairs = parts
        return _access(
            first - second,
            cluster,
            pairs,
            tenants,
            named_cluster,
            named_pairs,
            self.first.expander,
        )


_Parts = tuple[Collection[Any], Collection[Any], Collection[Any], Collection[Any]]


def _unless(candidates: list[_Parts], part: int, held: list[Collection[Any]]) -> frozenset[Any]:
    """The grants of one part that some candidate holds and no role of the other side does."""
    return frozenset().union(*(c[part] for c in candidates)).difference(*held)


def access_changes(
    before: Evaluator, after: Evaluator, subjects: Iterable[MappedPrincipal]
) -> tuple[AccessChange, ...]:
    """For every subject whose access differs between the two states: gains and losses."""
    gaining, losing = _RoleDeltas(after, before), _RoleDeltas(before, after)
    changes = []
    for who in sorted(set(subjects)):
        old, new = before.roles(who.caller), after.roles(who.caller)
        gains, loses = gaining.difference(new, old), losing.difference(old, new)
        if gains or loses:
            changes.append(AccessChange(who.label, gains, loses, _notes(gains, after, who)))
    return tuple(changes)


# the same few lines of actions come back for thousands of principals
_writes = functools.lru_cache(maxsize=8192)(writes_documents)


def _notes(gains: Access, after: Evaluator, who: MappedPrincipal) -> tuple[str, ...]:
    """The node's rules about what is gained: writes that still lack the cluster permission
    for bulk, and gained index patterns with variables as they are for this principal."""
    gained = [(patterns, actions) for patterns, actions in gains.index]
    writes = any(_writes(actions) for _, actions in gained)
    varied = any("${" in p for patterns, _ in gained for p in patterns)
    if not writes and not varied:
        return ()
    caller = after.resolve(who.caller) or who.caller
    found = []
    if writes and (note := unbulked_note(after.unbulked_writes(caller))) is not None:
        found.append(note)
    if varied:
        shown = {p for patterns, _ in gained for p in patterns}
        found += [
            n for n in pattern_notes(after.of(caller), caller) if any(f" {p} " in n for p in shown)
        ]
    return tuple(found)
