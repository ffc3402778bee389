"""Every operation of the OpenSearch REST API, as data: its name, method, path templates, body
and query parameters (``data/operations.json``, generated from opensearch-py, itself generated
from the OpenSearch API specification: ``scripts/operations_from_opensearch_py.py``).

It says what a request *is*; what the node checks for it is :mod:`osaccess.plugin.forms`, for
the forms established against the node. A request that matches an operation here but no form
there is named exactly in the error, with the forms nearest to it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Operation:
    name: str  # as opensearch-py names it: "search", "indices.put_alias", "cat.indices"
    methods: tuple[str, ...]  # what opensearch-py sends (the API may take others too)
    paths: tuple[str, ...]  # templates: {index} one segment, {index?} a segment that may be absent
    body: bool
    params: tuple[str, ...]

    def shown(self) -> str:
        return f"{self.name} ({'|'.join(self.methods)} {' or '.join(self.paths)})"


@functools.cache
def operations() -> tuple[Operation, ...]:
    text = resources.files("osaccess").joinpath("data/operations.json").read_text("utf-8")
    return tuple(
        Operation(
            o["name"],
            tuple(o["methods"]),
            tuple(o["paths"]),
            bool(o["body"]),
            tuple(o["params"]),
        )
        for o in json.loads(text)["operations"]
    )


def source() -> str:
    text = resources.files("osaccess").joinpath("data/operations.json").read_text("utf-8")
    return str(json.loads(text)["source"])


def _segments(path: str) -> list[str]:
    """A path's segments (a request's path without its query string, or a template)."""
    return [part for part in path.split("/") if part]


def _fits(template: str, parts: list[str]) -> bool:
    """Does a path (its segments) fit a template? A ``{name}`` segment takes one segment that is
    not an API keyword (``_search``), a ``{name?}`` one or none."""
    wanted = _segments(template)

    def walk(i: int, j: int) -> bool:
        if i == len(wanted):
            return j == len(parts)
        segment = wanted[i]
        if segment.startswith("{"):
            fits = j < len(parts) and (not parts[j].startswith("_") or parts[j] == "_all")
            if segment.endswith("?}"):
                return (fits and walk(i + 1, j + 1)) or walk(i + 1, j)
            return fits and walk(i + 1, j + 1)
        return j < len(parts) and parts[j] == segment and walk(i + 1, j + 1)

    return walk(0, 0)


def matching(method: str, path: str) -> list[Operation]:
    """The operations a request is (the same method first; opensearch-py sends one method
    where the API takes several, such as GET and POST for a search)."""
    parts = _segments(path.split("?", 1)[0])
    found = [o for o in operations() if any(_fits(t, parts) for t in o.paths)]
    return sorted(found, key=lambda o: (method.upper() not in o.methods, o.name))


def nearest(path: str, candidates: list[str], count: int = 3) -> list[str]:
    """The candidate templates that share the most API keywords (``_search``, ``_doc``) with the
    path, in order of their literal segments in common."""
    literal = {part for part in _segments(path.split("?", 1)[0]) if part.startswith("_")}

    def shared(candidate: str) -> int:
        return len(literal & {p for p in _segments(candidate) if not p.startswith("{")})

    ranked = sorted(candidates, key=lambda c: -shared(c))
    return [c for c in ranked if shared(c)][:count]
