"""What the security plugin ships: built-in (static) action groups, roles and tenants.

The list comes with osaccess as data (``data/builtin.json``, read from OpenSearch 2.19.4), so that
validation and explanations work offline; at plan time the cluster's own action groups take its
place. Reserved names are refused in files: the plugin does not let the REST API change them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

# Reserved on Amazon OpenSearch Service and in the sandbox, though not static in open source.
RESERVED_ROLES = frozenset({"security_manager"})
RESERVED_TENANTS = frozenset({"global_tenant", "__user__", "private"})


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    text = resources.files("osaccess").joinpath("data/builtin.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def static(section: str) -> Mapping[str, Any]:
    """The plugin's own entries of one section (``action_groups``, ``roles``, ``tenants``), in
    the REST API's wire form: each kind builds its model from them."""
    entries: Mapping[str, Any] = _data()[section]
    return entries


def reserved_problem(kind: str, name: str) -> tuple[str, str] | None:
    """(message, fix) when the file may not define ``name``: the plugin keeps it to itself."""
    if kind == "roles" and (name in _data()["roles"] or name in RESERVED_ROLES):
        return (
            f"role {name!r} is built into the security plugin (reserved or static); its "
            "definition cannot be changed through the REST API",
            f"leave it out of role_definitions, or define a role of your own (e.g. "
            f"'{name}_custom') and map that; mappings of {name!r} stay in 'roles'",
        )
    if kind == "action_groups" and name in _data()["action_groups"]:
        return (
            f"action group {name!r} is built into the security plugin (static)",
            f"use it as it is, or define a group of your own under another name "
            f"(e.g. '{name}_custom')",
        )
    if kind == "tenants" and name in RESERVED_TENANTS | set(_data()["tenants"]):
        return (
            f"tenant {name!r} is built into the security plugin",
            "leave it out of tenants; role definitions may still grant it",
        )
    return None


def is_action_pattern(action: str) -> bool:
    """An action name or pattern (indices:data/read/*, cluster:monitor/*, *), not a group."""
    return ":" in action or action == "*" or action.startswith(("indices:", "cluster:"))


def unknown_actions(actions: Iterable[str], known: Iterable[str]) -> list[tuple[str, str | None]]:
    """The actions that are neither a known action group nor an action pattern, each with the
    closest known group name (or None): the one rule for the loader's and the plan's warnings."""
    import difflib

    names = sorted(set(known))
    found = []
    for action in sorted(set(actions)):
        if action in names or is_action_pattern(action):
            continue
        close = difflib.get_close_matches(action, names, n=1, cutoff=0.6)
        found.append((action, close[0] if close else None))
    return found


def cycles(groups: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Every cycle of action groups referring to each other, each once (as a closed path)."""
    members = {name: sorted(set(actions) & set(groups)) for name, actions in groups.items()}
    found: list[list[str]] = []
    seen_cycles: set[frozenset[str]] = set()
    for start in sorted(members):
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in members[node]:
                if nxt == start:
                    key = frozenset(path)
                    if key not in seen_cycles:
                        seen_cycles.add(key)
                        found.append([*path, start])
                elif nxt not in path and nxt > start:
                    stack.append((nxt, [*path, nxt]))
    return found
