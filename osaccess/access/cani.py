"""`osaccess can-i`: may a principal do a thing? Yes or no, and why, from its effective
permissions (:mod:`osaccess.access.permissions`), checked the way the node checks a request.

A request is one or more checks (:mod:`osaccess.plugin.forms`): cluster-level actions, which
the node checks once for the request, and index-level actions, which it checks on the index.
Index patterns are matched as the plugin does (``*``, ``?``, ``/regex/``), after filling in
``${user.name}``, ``${user_name}``, ``${user.roles}`` and ``${attr.internal.NAME}`` and resolving
date math; the restrictions of every role on the index combine. What cannot be known here (a
variable the principal has no value for, the system-index settings) is "depends on", never a
guess. Each rule is established against the node (tests/integration/test_agreement.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from osaccess.access.known import CREATE_INDEX, Known, creates_index, date_math_grants
from osaccess.access.permissions import IndexGrant, Permissions
from osaccess.plugin.datemath import is_date_math, resolve
from osaccess.plugin.forms import BULK, REST_FORMS, Request, index_names, request_for
from osaccess.plugin.matching import Caller, covers, is_pattern, matches, overlaps


@dataclass(frozen=True)
class Limits:
    """What the node restricts on an index: DLS queries (any of them lets a document through),
    FLS (the fields shown, or ~field for those hidden) and masked fields."""

    dls: tuple[str, ...] = ()
    fls: tuple[str, ...] = ()
    masked: tuple[str, ...] = ()

    def text(self) -> tuple[str, ...]:
        found = []
        if self.dls:
            found.append("DLS " + " OR ".join(self.dls))
        if self.fls:
            found.append(f"FLS {', '.join(self.fls)}")
        if self.masked:
            found.append(f"masked {', '.join(self.masked)}")
        return tuple(found)


@dataclass(frozen=True)
class Check:
    level: str  # cluster | index
    action: str
    allowed: bool
    granted_by: tuple[str, ...] = ()  # "role via group > group"
    pattern: str | None = None  # the index pattern that matched (index checks)
    limits: Limits | None = None  # DLS, FLS, masking on the index (all the roles together)
    depends: str | None = None  # what the answer depends on, when it cannot be known here
    partial: bool = False  # an asked pattern: granted on only some of the names it stands for
    refusal: str | None = None  # refused whatever the roles (the security index), and why
    index: str | None = None  # the name checked, when the request names several (a,b)

    @property
    def restrictions(self) -> tuple[str, ...]:
        return self.limits.text() if self.limits else ()

    def data(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "action": self.action,
            "allowed": self.allowed,
            "granted_by": list(self.granted_by),
            "index_pattern": self.pattern,
            "restrictions": list(self.restrictions),
            "dls": list(self.limits.dls) if self.limits else [],
            "fls": list(self.limits.fls) if self.limits else [],
            "masked_fields": list(self.limits.masked) if self.limits else [],
            "depends_on": self.depends,
            "partial": self.partial,
            "index": self.index,
        }


@dataclass(frozen=True)
class Answer:
    principal: str
    request: Request
    roles: tuple[str, ...]
    checks: tuple[Check, ...]
    notes: tuple[str, ...] = field(default=())
    # what else the answer depends on (the host a request comes from, system-index settings)
    also: tuple[str, ...] = field(default=())
    # how the principal holds each role: the mapping entry that matched, or held directly
    held: tuple[tuple[str, str], ...] = field(default=())

    @property
    def depends(self) -> tuple[str, ...]:
        return tuple(c.depends for c in self.checks if c.depends) + self.also

    @property
    def allowed(self) -> bool:
        return all(c.allowed for c in self.checks) and not self.depends

    def data(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "request": self.request.form,
            "index": self.request.index,
            "allowed": self.allowed,
            "depends_on": list(self.depends),
            "roles": list(self.roles),
            "held": dict(self.held),
            "checks": [c.data() for c in self.checks],
            "reasons": list(self.reasons()),
            "notes": list(self.notes),
        }

    def reasons(self) -> tuple[str, ...]:
        found = []
        granted = [c for c in self.checks if c.allowed]
        for check in self.checks:
            named = check.index or self.request.index
            where = f" on {named}" if check.level == "index" else ""
            if check.refusal:
                found.append(check.refusal)
            elif check.depends:
                found.append(f"{check.action}{where} depends on {check.depends}")
            elif check.allowed:
                limits = (
                    f"; restricted by {', '.join(check.restrictions)}" if check.restrictions else ""
                )
                through = f" through {check.pattern}" if check.pattern else ""
                if check.partial:
                    where = f" on the indices of {named} that {check.pattern} matches"
                    through = ""
                found.append(
                    f"{check.action}{where} is granted by {'; '.join(check.granted_by)}"
                    f"{through}{limits}"
                )
            elif check.level == "cluster" and granted:
                also = ", ".join(f"{c.action} ({'; '.join(c.granted_by)})" for c in granted)
                found.append(
                    f"{also} is granted, but this request also needs the cluster permission "
                    f"{check.action}, which none of the roles grants"
                )
            else:
                found.append(f"{check.action}{where} is granted by none of the roles")
        found += [f"the answer depends on {what}" for what in self.also]
        return tuple(found)


def can_i(
    permissions: Permissions,
    caller: Caller,
    request: Request,
    aliases: Mapping[str, frozenset[str]] | None = None,
    known: Known | None = None,
) -> Answer:
    """The answer, check by check. ``aliases``: each alias and data stream with the indices
    behind it, as read from the cluster (None: not known, so a name is taken as an index)."""
    checks = [_cluster(permissions, action, request.loose) for action in request.cluster]
    notes: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    names = index_names(request.index) if request.index_actions and request.index else []
    for name in names:
        found, more_notes, more_also = _on_index(
            permissions, caller, request, name, aliases, known, several=len(names) > 1
        )
        checks += found
        notes += more_notes
        also += more_also
    return Answer(caller.user_name, request, permissions.roles, tuple(checks), notes, also)


def _on_index(
    permissions: Permissions,
    caller: Caller,
    request: Request,
    name: str,
    aliases: Mapping[str, frozenset[str]] | None,
    known: Known | None,
    *,
    several: bool,
) -> tuple[list[Check], tuple[str, ...], tuple[str, ...]]:
    """The index checks for one name of the request, with the notes and the dependencies."""
    depends = _index_depends(name)
    index = resolve(name) or name
    members = aliases.get(index) if aliases is not None and not request.loose else None
    checks = []
    for action in request.index_actions:
        if members is not None and aliases is not None:
            check = _behind(permissions, caller, action, index, members, aliases, known)
        else:
            check = _index(permissions, caller, action, index, request.loose, known)
        check = Check(check.level, action, False, depends=depends) if depends else check
        checks.append(replace(check, index=name) if several else check)
    notes: tuple[str, ...] = ()
    if creates_index(request, index, members, known):
        # the write creates the index (action.auto_create_index): the node checks that too
        create = _index(permissions, caller, CREATE_INDEX, index, False, known)
        checks.append(replace(create, index=name) if several else create)
        notes += (f"{index} does not exist: the write creates it, which needs {CREATE_INDEX}",)
    also: tuple[str, ...] = ()
    if name.startswith("."):
        refused = _system_index(replace(request, index=name), checks)
        if refused is not None:
            checks = [*checks, refused]
        elif all(c.allowed for c in checks):
            also = (
                f"the system-index protection settings: {name} may be a system index, "
                "which the node protects beyond roles (plugins.security.system_indices.*)",
            )
    if members is not None:
        behind = ", ".join(sorted(members)) or "no index"
        notes += (f"{index} is an alias or a data stream of {behind}: the node checks each",)
    elif aliases is None:
        notes += (
            f"{name} is taken as an index name: if it is an alias or a data stream, "
            "the node checks the indices behind it",
        )
    if is_date_math(name) and not depends:
        notes += (f"{name} is {index} today (UTC), as the node resolves it now",)
    return checks, notes, also


def _behind(
    permissions: Permissions,
    caller: Caller,
    action: str,
    name: str,
    members: frozenset[str],
    aliases: Mapping[str, frozenset[str]],
    known: Known | None = None,
) -> Check:
    """An alias or data stream: the node checks every index behind it, each granted by a
    pattern on the index or on an alias that holds it."""
    granted: set[str] = set()
    through = []
    limits = Limits()
    for member in sorted(members):
        names = [member, *sorted(a for a, held in aliases.items() if member in held)]
        check = next(
            (
                c
                for c in (_index(permissions, caller, action, n, False, known) for n in names)
                if c.allowed
            ),
            None,
        )
        if check is None:
            why = (
                f"{name} is an alias or a data stream of {', '.join(sorted(members))}; "
                f"{action} on {member} is granted by none of the roles"
            )
            return Check("index", action, False, refusal=why)
        granted.update(check.granted_by)
        through.append(f"{member} through {check.pattern}")
        limits = check.limits or limits
    return Check("index", action, bool(members), tuple(sorted(granted)), "; ".join(through), limits)


SECURITY_INDEX = ".opendistro_security"
_PROTECTED = (
    "indices:data/write",
    "indices:admin/delete",
    "indices:admin/mapping",
    "indices:admin/settings/update",
    "indices:admin/aliases",
    "indices:admin/close",
)


def _system_index(request: Request, checks: list[Check]) -> Check | None:
    """The security index refuses writes and admin actions whatever the roles (only the admin
    certificate writes it)."""
    if request.index != SECURITY_INDEX:
        return None
    for action in (*request.cluster, *request.index_actions):
        if action.startswith(_PROTECTED):
            why = (
                f"the security index refuses {action} whatever the roles: only the admin "
                "certificate changes it"
            )
            return Check("index", action, False, refusal=why)
    return None


def _cluster(permissions: Permissions, action: str, loose: bool = False) -> Check:
    for granted, sources in permissions.cluster.items():
        if _action_hit(granted, action, loose):
            return Check("cluster", action, True, tuple(s.text() for s in sources))
    return Check("cluster", action, False)


def _action_hit(granted: str, action: str, loose: bool) -> bool:
    if loose and is_pattern(action):
        return bool(overlaps(granted, action))
    return matches(granted, action)


def _index(
    permissions: Permissions,
    caller: Caller,
    action: str,
    index: str,
    loose: bool = False,
    known: Known | None = None,
) -> Check:
    unknown = None
    partial: Check | None = None
    for grant in permissions.index:
        sources = [s for granted, s in grant.actions.items() if _action_hit(granted, action, loose)]
        if not sources:
            continue
        for pattern in grant.patterns:
            filled, missing = fill_pattern(pattern, caller)
            if filled is None:
                # an internal user's attributes are all known: a missing one matches nothing
                if missing and not caller.internal:
                    unknown = unknown or f"{missing} (in the index pattern {pattern!r} of a role)"
                continue
            shown = pattern if filled == pattern else f"{pattern} = {filled}"
            pattern_asked = is_pattern(index)
            if is_date_math(pattern) and matches(filled, index):
                held = date_math_grants(pattern, index, known)
                if held is not True:
                    if isinstance(held, str):
                        unknown = unknown or held
                    continue
            if covers(filled, index) if pattern_asked else matches(filled, index):
                limits = restrictions(permissions, caller, index)
                return Check("index", action, True, _granted(sources), shown, limits)
            if partial is None and pattern_asked and overlaps(filled, index) is not False:
                # some of the indices the asked pattern stands for
                depends = f"which indices match {index} on the cluster: the grant is on {filled}"
                partial = Check(
                    "index",
                    action,
                    loose,
                    _granted(sources),
                    shown,
                    combine([grant], caller),
                    depends=None if loose else depends,
                    partial=True,
                )
    if partial is not None:
        return partial
    return Check("index", action, False, depends=unknown)


def fill_pattern(pattern: str, caller: Caller) -> tuple[str | None, str | None]:
    """A role's index pattern as the node reads it for this caller: variables filled in, date
    math resolved. None, and why, when it matches nothing (or what it needs is unknown)."""
    if "${" not in pattern and not pattern.startswith("<"):
        return pattern, None
    filled, missing = substitute(pattern, caller)
    if missing:
        return None, missing
    if filled is not None and is_date_math(filled):
        resolved = resolve(filled)
        return resolved, None if resolved is not None else f"the date math in {filled}"
    return filled, None


def restrictions(permissions: Permissions, caller: Caller, index: str) -> Limits:
    """What the roles together restrict on ``index``: every index permission whose pattern
    matches it counts, whatever its actions (the node's rule); DLS queries of several roles are
    OR-ed, FLS and masked fields are joined (includes mixed with ~excludes: only the excludes
    hold)."""
    found = []
    for grant in permissions.index:
        for pattern in grant.patterns:
            filled, _ = fill_pattern(pattern, caller)
            if filled is not None and not is_pattern(index) and matches(filled, index):
                found.append(grant)
                break
    return combine(found, caller)


def combine(grants: list[IndexGrant], caller: Caller) -> Limits:
    """The restrictions of several index permissions on one index, as the node combines them."""
    queries = sorted({substitute(g.dls, caller)[0] for g in grants if g.dls})
    fields = sorted({f for g in grants for f in g.fls})
    excluded = [f for f in fields if f.startswith("~")]
    if excluded and len(excluded) < len(fields):
        fields = excluded  # the node applies only the excludes when both are given
    masked = sorted({f for g in grants for f in g.masked_fields})
    return Limits(tuple(queries), tuple(fields), tuple(masked))


def _granted(sources: list[tuple[Any, ...]]) -> tuple[str, ...]:
    return tuple(sorted({x.text() for group in sources for x in group}))


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def substitute(text: str, caller: Caller) -> tuple[str, str | None]:
    """The text with the principal's variables filled in, and the first one it has no value
    for (None: all filled)."""
    values = {
        "user.name": caller.user_name,
        "user_name": caller.user_name,
        # as the plugin renders them: quoted and comma-separated, for DLS queries ("terms": [...]);
        # in an index pattern that matches no index name
        "user.roles": ",".join(f'"{r}"' for r in sorted(caller.backend_roles)),
        "user_roles": ",".join(f'"{r}"' for r in sorted(caller.backend_roles)),
    }
    for name, value in caller.attributes:
        values[f"attr.internal.{name}"] = value
        values[f"attr_internal_{name}"] = value
    missing: list[str] = []

    def fill(found: re.Match[str]) -> str:
        name = found.group(1)
        if name in values:
            return values[name]
        missing.append(f"${{{name}}}")
        return found.group(0)

    filled = _VARIABLE.sub(fill, text)
    return filled, (missing[0] + ", which this principal has no value for") if missing else None


def _index_depends(index: str) -> str | None:
    if is_date_math(index) and resolve(index) is None:
        return f"the date math in {index}, which osaccess does not read"
    return None


__all__ = ["BULK", "REST_FORMS", "Answer", "Check", "Limits", "Request", "can_i", "request_for"]
