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

from osaccess.access.cani import BULK, combine, fill_pattern
from osaccess.access.matching import Caller, matches, overlaps
from osaccess.access.permissions import IndexGrant, Permissions

WRITES = ("indices:data/write/index", "indices:data/write/delete", "indices:data/write/update")


def bulk_note(permissions: Permissions) -> str | None:
    """The classic 403: write actions on indices, but not the cluster permission for bulk."""
    if any(matches(granted, BULK) for granted in permissions.cluster):
        return None
    patterns = sorted(
        {
            pattern
            for grant in permissions.index
            if any(matches(g, w) for g in grant.actions for w in WRITES)
            for pattern in grant.patterns
        }
    )
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
    found = []
    grants = list(permissions.index)
    for i, first in enumerate(grants):
        for second in grants[i + 1 :]:
            if _limits(first) == _limits(second) or not (_limits(first) or _limits(second)):
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
