"""What the node said besides its security configuration (live only): its version and the
names of its indices, and what they decide for can-i (a role's date math before 2.19, whether a
write creates its index)."""

from __future__ import annotations

from dataclasses import dataclass

from osaccess.plugin.forms import Request
from osaccess.plugin.matching import is_pattern


@dataclass(frozen=True)
class Known:
    """What the node said besides its security configuration (live only)."""

    version: tuple[int, ...] | None = None
    indices: frozenset[str] | None = None  # the names of its indices


NEW_EVALUATOR = (2, 19)  # from here a role's date math matches any name, existing or not


def date_math_grants(pattern: str, index: str, known: Known | None) -> bool | str | None:
    """Does a role's date-math pattern that names ``index`` grant it? True; None (no: before
    2.19 it matches only indices that exist, and this one does not); or what it depends on."""
    version = known.version if known else None
    if version is not None and version >= NEW_EVALUATOR:
        return True
    if version is not None and known is not None and known.indices is not None:
        return True if index in known.indices else None
    return (
        f"whether {index} exists: before OpenSearch 2.19 a role's date math ({pattern}) "
        "matches only indices that exist"
        + ("" if version is not None else ", and the cluster's version is not known here")
    )


CREATE_INDEX = "indices:admin/create"
# the document writes that create their index when it does not exist
_CREATING = frozenset({"indices:data/write/index"})


def creates_index(
    request: Request, index: str, members: frozenset[str] | None, known: Known | None
) -> bool:
    """Does the request write a document to an index that does not exist (read live), so that
    the node creates it first? Not for an alias, a pattern or a name osaccess cannot read."""
    if known is None or known.indices is None or members is not None or request.loose:
        return False
    if is_pattern(index) or index in known.indices:
        return False
    return not _CREATING.isdisjoint(request.index_actions)
