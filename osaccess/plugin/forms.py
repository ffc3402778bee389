"""What a can-i question asks: the checks the node makes for a request. ``ACTION`` is an action
name, or the REST form of a common API ("PUT /logs-1/_doc/1"): :data:`REST_FORMS` says which
actions the node checks for each, cluster-level and index-level, established against the real
node (tests/integration/test_can_i.py). A single-document write, for instance, runs as a bulk
request: it needs the cluster permission ``indices:data/write/bulk`` besides the index one.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, replace

from osaccess import errors
from osaccess.plugin.matching import is_pattern, matches

BULK = "indices:data/write/bulk"
SHARD_BULK = "indices:data/write/bulk[s]"  # the bulk's part on each shard, checked on the index
MGET = "indices:data/read/mget"  # checked at cluster level; each shard's part on the index
MSEARCH = "indices:data/read/msearch"  # cluster level; each search on its indices
SCROLL = "indices:data/read/scroll"  # cluster level only: a scroll names no index
# the index actions of a document write; each also needs BULK at cluster level
DOCUMENT_WRITES = (
    "indices:data/write/index",
    "indices:data/write/delete",
    "indices:data/write/update",
)
_DOCUMENT_WRITES = frozenset(DOCUMENT_WRITES)


def grants_bulk(actions: Iterable[str]) -> bool:
    """Does one of these granted cluster actions (names or patterns) cover :data:`BULK`?"""
    return any(matches(granted, BULK) for granted in actions)


def writes_documents(actions: Iterable[str]) -> bool:
    """Does one of these granted index actions (exact names looked up, patterns matched) cover
    a document write?"""
    found = frozenset(actions)
    if not _DOCUMENT_WRITES.isdisjoint(found):
        return True
    return any(
        is_pattern(action) and any(matches(action, w) for w in DOCUMENT_WRITES) for action in found
    )


# (method, path with {index}/{id}, cluster actions, index actions): what the node checks
REST_FORMS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("PUT", "/{index}/_doc/{id}", (BULK,), (SHARD_BULK, "indices:data/write/index")),
    ("POST", "/{index}/_doc", (BULK,), (SHARD_BULK, "indices:data/write/index")),
    ("PUT", "/{index}/_create/{id}", (BULK,), (SHARD_BULK, "indices:data/write/index")),
    (
        "POST",
        "/{index}/_update/{id}",
        (BULK,),
        (SHARD_BULK, "indices:data/write/update", "indices:data/write/index"),
    ),
    ("DELETE", "/{index}/_doc/{id}", (BULK,), (SHARD_BULK, "indices:data/write/delete")),
    ("POST", "/{index}/_bulk", (BULK,), (SHARD_BULK, "indices:data/write/index")),
    ("GET", "/{index}/_doc/{id}", (), ("indices:data/read/get",)),
    ("GET", "/{index}/_search", (), ("indices:data/read/search",)),
    ("POST", "/{index}/_search", (), ("indices:data/read/search",)),
    ("GET", "/{index}/_count", (), ("indices:data/read/search",)),
    ("GET", "/{index}/_mapping", (), ("indices:admin/mappings/get",)),
    ("GET", "/{index}/_mget", (MGET,), ("indices:data/read/mget[shard]",)),
    ("GET", "/{index}/_msearch", (MSEARCH,), ("indices:data/read/search",)),
    (
        "GET",
        "/{index}/_search/template",
        (),
        ("indices:data/read/search/template", "indices:data/read/search"),
    ),
    (
        "GET",
        "/{index}/_msearch/template",
        ("indices:data/read/msearch/template", MSEARCH),
        ("indices:data/read/search",),
    ),
    ("POST", "/{index}/_search/point_in_time", (), ("indices:data/read/point_in_time/create",)),
    ("GET", "/{index}/_field_caps", (), ("indices:data/read/field_caps",)),
    ("GET", "/{index}/_settings", (), ("indices:monitor/settings/get",)),
    ("POST", "/{index}/_refresh", (), ("indices:admin/refresh", "indices:admin/refresh[s]")),
    ("PUT", "/{index}", (), ("indices:admin/create",)),
    ("DELETE", "/{index}", (), ("indices:admin/delete",)),
    ("GET", "/_cluster/health", ("cluster:monitor/health",), ()),
    ("POST", "/_search/scroll", (SCROLL,), ()),
    ("DELETE", "/_search/scroll", ("indices:data/read/scroll/clear",), ()),
)
_PARTS = {"{index}": r"(?P<index>[^/_][^/]*)", "{id}": r"[^/]+"}


def _compiled(path: str) -> re.Pattern[str]:
    text = re.escape(path)
    for part, pattern in _PARTS.items():
        text = text.replace(re.escape(part), pattern)
    return re.compile(f"^{text}/?$")


_FORMS = [(m, _compiled(p), p, c, i) for m, p, c, i in REST_FORMS]


@dataclass(frozen=True)
class Request:
    """What the node checks: cluster actions once, index actions on ``index``."""

    cluster: tuple[str, ...]
    index_actions: tuple[str, ...]
    index: str | None
    form: str  # as given
    # who-can and `nobody` tests: the actions and the index may be patterns, and a grant that
    # covers part of them counts (some index matching audit-*); can-i: one exact question
    loose: bool = False

    def on(self, index: str | None) -> Request:
        return replace(self, index=index)


def request_for(action: str, index: str | None, *, loose: bool = False) -> Request:
    """An action name (with INDEX for index actions), or a REST form "METHOD /path". With
    ``loose`` (who-can), the action and the index may be patterns."""
    request = _request_for(action, index)
    if loose:
        return replace(request, loose=True)
    if is_pattern(request.form) and " " not in request.form:
        raise errors.ConfigError(
            f"{request.form} is a pattern: can-i answers for one action",
            hint="name one action, or ask who-can for every principal that may do any of them",
        )
    return request


def _request_for(action: str, index: str | None) -> Request:
    given = action.strip()
    if " " in given:
        method, _, path = given.partition(" ")
        path = urllib.parse.unquote(path.strip().split("?", 1)[0])
        # a date-math index name holds slashes ({now/d}): match it as one part of the path
        dated = re.match(r"^/(<[^>]*>)", path)
        if dated:
            path = "/" + dated.group(1).replace("/", "\x00") + path[dated.end() :]
        for form_method, pattern, _, cluster, index_actions in _FORMS:
            found = pattern.match(path)
            if form_method == method.upper() and found:
                name = found.groupdict().get("index")
                name = name.replace("\x00", "/") if name else name
                if index is not None and name is not None and index != name:
                    raise errors.ConfigError(
                        f"{given!r} names the index {name!r}, and INDEX says {index!r}",
                        hint="give the index once, in the path",
                    )
                return Request(cluster, index_actions, name or index, given)
        raise _unknown_form(given, method, path)
    if not re.match(r"^[a-z_]+:[\w/*?.\[\]-]+$", given):
        raise errors.ConfigError(
            f"{given!r} is neither an action name (cluster:monitor/health, "
            'indices:data/read/search) nor a REST form ("GET /logs-1/_search")',
            hint='quote a REST form: "METHOD /path"',
        )
    if given.startswith("cluster:") or given in _CLUSTER_ONLY:
        return Request((given,), (), index, given)
    if index is None:
        raise errors.ConfigError(
            f"{given} is an index action: which index?",
            hint=f"osaccess can-i PRINCIPAL {given} INDEX",
        )
    return Request((), (given,), index, given)


def index_names(index: str) -> list[str]:
    """The names a request's index part holds: a comma list is each of its names (the node
    checks every one), anything else (a date-math name among them) one name."""
    if "," not in index or index.startswith("<"):
        return [index]
    return [name.strip() for name in index.split(",") if name.strip()] or [index]


def _unknown_form(given: str, method: str, path: str) -> errors.ConfigError:
    """A request no form covers: what the API calls it (when it is an operation of the API),
    and the nearest forms osaccess knows."""
    from osaccess.plugin import operations

    known = [f"{m} {p}" for m, p, _, _ in REST_FORMS]
    close = operations.nearest(path, known) or known[:3]
    found = operations.matching(method, path)
    what = (
        f"it is the REST API's {found[0].shown()}, whose checks osaccess has not established"
        if found
        else f"it is no operation of the REST API ({operations.source()})"
    )
    return errors.ConfigError(
        f"{given!r} is not a REST form osaccess knows: {what}",
        hint=f"give an action name (indices:data/read/search), or a form such as: "
        f"{'; '.join(close)}",
    )


# actions of the indices: family that the node checks at cluster level (composite requests)
_CLUSTER_ONLY = frozenset(
    {
        BULK,
        MGET,
        MSEARCH,
        "indices:data/read/mtv",
        "indices:data/read/scroll",
        "indices:data/read/scroll/clear",
        "indices:data/read/msearch/template",
    }
)
