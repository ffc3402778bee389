"""How the security plugin matches a caller against role mappings (ConfigurableRoleMapper).

A value in a mapping is a pattern: ``/regex/`` (the whole value must match), a wildcard with
``*`` (any characters) and ``?`` (one character), or else an exact, case-sensitive string. A mapping
grants its role when any ``users`` pattern matches the user name, any ``backend_roles`` pattern
matches one of the caller's backend roles, any ``hosts`` pattern matches the caller's address or
host name, or when every ``and_backend_roles`` pattern matches one of the backend roles.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol


class MappingValues(Protocol):
    """What the plugin matches in a role mapping (the mappings kind's model has these)."""

    @property
    def users(self) -> frozenset[str]: ...
    @property
    def backend_roles(self) -> frozenset[str]: ...
    @property
    def and_backend_roles(self) -> frozenset[str]: ...
    @property
    def hosts(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Caller:
    user_name: str
    backend_roles: frozenset[str] = frozenset()
    host: str | None = None
    # an internal user: the evaluator of a state fills in its backend roles, its roles held
    # directly and its attributes from that state's internal users (absent there: no access)
    internal: bool = False
    roles: frozenset[str] = frozenset()  # held directly (opendistro_security_roles)
    attributes: tuple[tuple[str, str], ...] = ()


DIRECT = "opendistro_security_roles"  # the Match field of a role an internal user holds directly


def direct_matches(caller: Caller) -> dict[str, list[Match]]:
    """The roles an internal user holds directly, as reasons like the mappings' ones."""
    return {role: [Match(role, DIRECT, role, caller.user_name)] for role in sorted(caller.roles)}


@dataclass(frozen=True)
class Match:
    """One reason a mapping grants its role: the field and the pattern that matched what."""

    role: str
    field: str
    pattern: str
    matched: str


PatternKind = Literal["regex", "wildcard", "exact"]


def pattern_kind(value: str) -> PatternKind:
    """How the security plugin reads a mapping value: the one place this is decided."""
    if len(value) > 1 and value.startswith("/") and value.endswith("/"):
        return "regex"
    if "*" in value or "?" in value:
        return "wildcard"
    return "exact"


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str] | None:
    kind = pattern_kind(pattern)
    if kind == "regex":
        try:
            return re.compile(pattern[1:-1])
        except re.error:
            return None  # the plugin would not match anything with it either
    if kind == "wildcard":
        return re.compile(
            "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
            re.DOTALL,
        )
    return None


def matches(pattern: str, value: str) -> bool:
    compiled = _compile(pattern)
    if compiled is None:
        return pattern == value
    return compiled.fullmatch(value) is not None


def _first(patterns: Iterable[str], values: Iterable[str]) -> tuple[str, str] | None:
    candidates = list(values)
    for pattern in sorted(patterns):
        for value in candidates:
            if matches(pattern, value):
                return pattern, value
    return None


def why(role: str, mapping: MappingValues, caller: Caller) -> list[Match]:
    """Every reason the mapping grants ``role`` to the caller (empty: it does not)."""
    reasons = []
    hit = _first(mapping.users, [caller.user_name])
    if hit:
        reasons.append(Match(role, "users", *hit))
    hit = _first(mapping.backend_roles, caller.backend_roles)
    if hit:
        reasons.append(Match(role, "backend_roles", *hit))
    if caller.host:
        hit = _first(mapping.hosts, [caller.host])
        if hit:
            reasons.append(Match(role, "hosts", *hit))
    if mapping.and_backend_roles and all(
        _first([pattern], caller.backend_roles) for pattern in mapping.and_backend_roles
    ):
        reasons.append(
            Match(
                role,
                "and_backend_roles",
                " AND ".join(sorted(mapping.and_backend_roles)),
                ", ".join(sorted(caller.backend_roles)),
            )
        )
    return reasons


def roles_of(mappings: Mapping[str, MappingValues], caller: Caller) -> dict[str, list[Match]]:
    """The roles the mappings grant the caller, and those it holds directly, with the reasons."""
    result = {}
    for role, mapping in mappings.items():
        reasons = why(role, mapping, caller)
        if reasons:
            result[role] = reasons
    for role, reasons in direct_matches(caller).items():
        result.setdefault(role, []).extend(reasons)
    return result


class MappingIndex:
    """The roles a caller holds, like :func:`roles_of` but fast for many callers: exact values
    are looked up, only wildcard and regex entries are matched one by one."""

    def __init__(self, mappings: Mapping[str, MappingValues]) -> None:
        self.exact: dict[str, dict[str, set[str]]] = {"users": {}, "backend_roles": {}}
        self.patterns: dict[str, list[tuple[str, str]]] = {
            "users": [],
            "backend_roles": [],
            "hosts": [],
        }
        self.conjunctions: list[tuple[str, frozenset[str]]] = []
        for role, mapping in mappings.items():
            for name in ("users", "backend_roles"):
                for value in getattr(mapping, name):
                    if pattern_kind(value) == "exact":
                        self.exact[name].setdefault(value, set()).add(role)
                    else:
                        self.patterns[name].append((value, role))
            self.patterns["hosts"] += [(value, role) for value in mapping.hosts]
            if mapping.and_backend_roles:
                self.conjunctions.append((role, mapping.and_backend_roles))

    def roles_for(self, caller: Caller) -> frozenset[str]:
        roles = set(self.exact["users"].get(caller.user_name, ())) | caller.roles
        if self.patterns["users"]:
            roles |= {r for p, r in self.patterns["users"] if matches(p, caller.user_name)}
        for backend_role in caller.backend_roles:
            roles |= self.exact["backend_roles"].get(backend_role, set())
            if self.patterns["backend_roles"]:
                roles |= {r for p, r in self.patterns["backend_roles"] if matches(p, backend_role)}
        if caller.host:
            roles |= {r for p, r in self.patterns["hosts"] if matches(p, caller.host)}
        for role, required in self.conjunctions:
            if all(any(matches(p, b) for b in caller.backend_roles) for p in required):
                roles.add(role)
        return frozenset(roles)


# -- a pattern asked about (who may write to audit-*?) ------------------------------------------


def is_pattern(value: str) -> bool:
    return pattern_kind(value) != "exact"


def covers(pattern: str, asked: str) -> bool | None:
    """Does ``pattern`` match every name ``asked`` (a wildcard) stands for? None: a regex, which
    osaccess does not compare with a wildcard."""
    if pattern_kind(pattern) == "regex" or pattern_kind(asked) == "regex":
        return None
    if not is_pattern(asked):
        return matches(pattern, asked)
    return _glob(pattern, asked, contain=True)


def overlaps(pattern: str, asked: str) -> bool | None:
    """Is there a name that both match? None: a regex (see :func:`covers`)."""
    if pattern_kind(pattern) == "regex" or pattern_kind(asked) == "regex":
        if not is_pattern(asked):
            return matches(pattern, asked)
        return None
    return _glob(pattern, asked, contain=False)


@functools.lru_cache(maxsize=65536)
def _glob(first: str, second: str, contain: bool) -> bool:
    """Wildcard against wildcard: with ``contain``, every name ``second`` stands for matches
    ``first``; else some name matches both."""
    if not contain and not _ends_agree(first, second):
        return False
    rows, cols = len(first), len(second)
    # reach[i][j]: first[i:] and second[j:] can still agree
    reach = [[False] * (cols + 1) for _ in range(rows + 1)]
    reach[rows][cols] = True
    for j in range(cols - 1, -1, -1):  # first used up: the rest of second must be empty (or *)
        reach[rows][j] = not contain and second[j] == "*" and reach[rows][j + 1]
    for i in range(rows - 1, -1, -1):
        a = first[i]
        for j in range(cols, -1, -1):
            if a == "*":
                found = reach[i + 1][j] or (j < cols and reach[i][j + 1])
            elif j == cols:
                found = False
            else:
                b = second[j]
                if b == "*":
                    found = False if contain else (reach[i][j + 1] or reach[i + 1][j])
                elif b == "?":
                    found = (a == "?" or not contain) and reach[i + 1][j + 1]
                else:
                    found = (a == "?" or a == b) and reach[i + 1][j + 1]
            reach[i][j] = found
    return reach[0][0]


def _ends_agree(first: str, second: str) -> bool:
    """The literal starts (before any wildcard) and ends (after the last) must agree for two
    patterns to share a name: a quick no for most pairs."""

    def literal(text: str, reverse: bool) -> str:
        chars = reversed(text) if reverse else iter(text)
        found = []
        for c in chars:
            if c in "*?":
                break
            found.append(c)
        return "".join(found)

    for reverse in (False, True):
        x, y = literal(first, reverse), literal(second, reverse)
        if not (x.startswith(y) or y.startswith(x)):
            return False
    return True
