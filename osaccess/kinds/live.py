"""What one read of a cluster returned, every kind's entries together: the live side of a plan.

It sits with the kinds (their diffs read it) and below the file's assembly and the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class LiveDefinition:
    """One entry as read: the kind's model (a role mapping's is its ``RoleMapping``) and the
    plugin's flags."""

    definition: Any  # the kind's model
    reserved: bool = False
    hidden: bool = False
    static: bool = False

    @property
    def protected_by_plugin(self) -> str | None:
        for flag in ("static", "reserved", "hidden"):
            if getattr(self, flag):
                return flag
        return None


@dataclass(frozen=True)
class LiveState:
    """What one read of the cluster returned: every kind's entries, by kind name."""

    # kind name (mappings, roles, action_groups, ...) -> name -> entry, for each kind read
    definitions: Mapping[str, Mapping[str, LiveDefinition]] = field(default_factory=dict)
    prefix: str = "_plugins/_security"
    version: str | None = None
    # optional kinds this cluster does not offer: kind name -> why, and what to do
    unavailable: Mapping[str, str] = field(default_factory=dict)

    def defined(self, kind: str) -> Mapping[str, LiveDefinition]:
        return self.definitions.get(kind, {})

    def definition(self, kind: str, name: str) -> Any | None:
        entry = self.defined(kind).get(name)
        return entry.definition if entry is not None else None

    def models(self, kind: str) -> dict[str, Any]:
        """Each entry of a kind as its model, without the plugin's flags."""
        return {name: entry.definition for name, entry in self.defined(kind).items()}

    def replaced(self, kind: str, entries: Mapping[str, LiveDefinition]) -> LiveState:
        """This state with one kind's entries as read again."""
        return replace(self, definitions={**self.definitions, kind: entries})
