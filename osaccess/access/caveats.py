"""What a list of effective permissions does not say by itself, as the node applies it: the
rules `can-i` follows (:mod:`osaccess.access.cani`), told about a whole set of permissions, for
`explain` and the access impact.

- a document write (``PUT /i/_doc/1``, ``_bulk``) also needs the cluster permission
  ``indices:data/write/bulk``;
- index patterns with variables are what they are for this principal (``${attr.internal.team}-*``
  is ``blue-*`` for a user whose team is blue), or depend on what only the node knows;
- several roles on one index combine their restrictions: DLS queries OR-ed, FLS and masked
  fields joined, and a role without DLS does not lift another's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from osaccess.access.cani import combine, fill_pattern
from osaccess.access.permissions import IndexGrant, Permissions
from osaccess.plugin.forms import BULK, grants_bulk, writes_documents
from osaccess.plugin.matching import Caller, overlaps


def bulk_note(permissions: Permissions) -> str | None:
    """The classic 403: write actions on indices, but not the cluster permission for bulk."""
    if grants_bulk(permissions.cluster):
        return None
    return unbulked_note(
        sorted(
            {
                p
                for grant in permissions.index
                if writes_documents(grant.actions)
                for p in grant.patterns
            }
        )
    )


def unbulked_note(patterns: Sequence[str]) -> str | None:
    """The bulk note for these write patterns (none: no note)."""
    if not patterns:
        return None
    return (
        f"writes on {', '.join(patterns)} are granted, but a document write (PUT /INDEX/_doc/ID, "
        f"_bulk, _update, DELETE of a document) also needs the cluster permission {BULK}, which "
        "none of the roles grants: the node refuses them (403)"
    )


def pattern_notes(permissions: Permissions, caller: Caller) -> list[str]:
    found = []
    for grant in permissions.index:
        for pattern in grant.patterns:
            if "${" not in pattern and not pattern.startswith("<"):
                continue
            filled, missing = fill_pattern(pattern, caller)
            if filled is not None and filled != pattern:
                found.append(f"the index pattern {pattern} is {filled} for this principal")
            elif missing and caller.internal:
                found.append(
                    f"the index pattern {pattern} matches nothing for this principal ({missing})"
                )
            elif missing:
                found.append(f"the index pattern {pattern} depends on {missing}")
    return sorted(set(found))


def combined_notes(permissions: Permissions, caller: Caller) -> list[str]:
    """Where two index permissions with different restrictions reach the same indices."""
    grants = list(permissions.index)
    if not any(_limits(g) != _NONE for g in grants):
        return []
    ends = [_ends(g.patterns) for g in grants]
    found = []
    for i, first in enumerate(grants):
        for j in range(i + 1, len(grants)):
            second = grants[j]
            if _limits(first) == _limits(second) or not _may_meet(ends[i], ends[j]):
                continue
            shared = _shared(first, second, caller)
            if shared is None:
                continue
            combined = "; ".join(combine([first, second], caller).text())
            found.append(
                f"on indices both {shared[0]} and {shared[1]} match, the restrictions of the "
                f"roles combine: {combined} (a role without DLS or FLS does not lift another's)"
            )
    return found


_NONE: tuple[object, ...] = (None, (), ())
_Ends = tuple[tuple[str, str] | None, ...]  # per pattern: literal start and end; None: unknown


@functools.lru_cache(maxsize=65536)
def _ends(patterns: tuple[str, ...]) -> _Ends:
    found: list[tuple[str, str] | None] = []
    for pattern in patterns:
        if "${" in pattern or pattern.startswith(("<", "/")):
            found.append(None)  # variables, date math, regex: compared in full
            continue
        start = re.split(r"[*?]", pattern, maxsplit=1)[0]
        end = re.split(r"[*?]", pattern)[-1] if ("*" in pattern or "?" in pattern) else pattern
        found.append((start, end))
    return tuple(found)


def _may_meet(first: _Ends, second: _Ends) -> bool:
    """A quick no for two grants whose patterns cannot share a name (their literal starts or
    ends disagree); yes when it cannot tell."""
    for a in first:
        for b in second:
            if a is None or b is None:
                return True
            if (a[0].startswith(b[0]) or b[0].startswith(a[0])) and (
                a[1].endswith(b[1]) or b[1].endswith(a[1])
            ):
                return True
    return False


def _limits(grant: IndexGrant) -> tuple[object, ...]:
    return (grant.dls, grant.fls, grant.masked_fields)


def _shared(first: IndexGrant, second: IndexGrant, caller: Caller) -> tuple[str, str] | None:
    for a in first.patterns:
        for b in second.patterns:
            fa, _ = fill_pattern(a, caller)
            fb, _ = fill_pattern(b, caller)
            if fa is not None and fb is not None and overlaps(fa, fb) is not False:
                return fa, fb
    return None


def notes(permissions: Permissions, caller: Caller) -> list[str]:
    found = [bulk_note(permissions)]
    return (
        [n for n in found if n]
        + pattern_notes(permissions, caller)
        + combined_notes(permissions, caller)
    )
