"""Action groups: named sets of actions, patterns and other groups. The file's and the API's
``action_groups`` (endpoint ``actiongroups``)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from yaml.nodes import MappingNode, Node

from osaccess.file.format import Field, Section, text_field
from osaccess.kinds.base import Kind, WriteCost, strings, text
from osaccess.plugin import builtin

if TYPE_CHECKING:
    from osaccess.file.reader import Reader

ACTION_GROUP_TYPES = ("cluster", "index", "kibana")


@dataclass(frozen=True)
class ActionGroup:
    allowed_actions: frozenset[str] = frozenset()
    type: str | None = None  # cluster | index | kibana
    description: str | None = None

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"allowed_actions": sorted(self.allowed_actions)}
        if self.type is not None:
            body["type"] = self.type
        if self.description is not None:
            body["description"] = self.description
        return body

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> ActionGroup:
        return cls(
            allowed_actions=strings(body.get("allowed_actions")),
            type=text(body.get("type")),
            description=text(body.get("description")),
        )


ACTION_GROUP = Section(
    "in action group",
    (
        Field(
            "allowed_actions",
            "strings",
            "Actions, action patterns or other action groups.",
            non_empty=True,
        ),
        text_field("type", "What the group is for.", choices=ACTION_GROUP_TYPES),
        Field("description", "string", "What the group is for."),
    ),
)


class ActionGroups(Kind):
    name = "action_groups"
    section = "action_groups"
    endpoint = "actiongroups"
    label = "action group"
    include = "action-groups"
    order = 10  # first: roles and other groups use them
    # the plugin checks each group against the roles (is its name a role's?): 200 groups
    # with 5,000 roles took 12 s on 2.19.4
    write_cost = WriteCost(per_role=1.2e-5)
    model = ActionGroup
    entry = ACTION_GROUP
    summary = "Action groups: name -> the actions it stands for."

    def reserved_problem(self, name: str) -> tuple[str, str] | None:
        return builtin.reserved_problem(self.name, name)

    def actions(self, value: Any) -> frozenset[str]:
        found: frozenset[str] = value.allowed_actions
        return found

    def read(
        self, reader: Reader, name: str, keys: dict[str, Node], node: MappingNode, key: Node
    ) -> ActionGroup | None:
        if "allowed_actions" not in keys:
            reader.error(node, f"action group {name!r} has no allowed_actions", "list its actions")
            return None
        if not reader.filled(keys, ACTION_GROUP):
            return None
        allowed = reader.values(keys, "allowed_actions")
        kind = reader.choice(keys["type"], ACTION_GROUP.field("type")) if "type" in keys else None
        reader.actions += [(value, item, kind or "any") for value, item in allowed]
        members = frozenset(value for value, _ in allowed)
        reader.groups[name] = (members, key)
        return ActionGroup(members, kind, reader.description(keys))

    def finish(self, reader: Reader) -> None:
        """Names that are no action group (of the plugin or the file) nor an action pattern, and
        groups that refer to each other in a cycle."""
        known = set(builtin.static("action_groups")) | set(reader.groups)
        hints = dict(builtin.unknown_actions((a for a, _, _ in reader.actions), known))
        for action, node, _ in reader.actions:
            if action not in hints:
                continue
            close = hints[action]
            reader.warn(
                node,
                f"{action!r} is neither a built-in action group, nor one of this file's, nor "
                "an action (such as indices:data/read/* or cluster:monitor/*)",
                f"did you mean {close!r}?" if close else "check the name",
            )
        members = {name: group for name, (group, _) in reader.groups.items()}
        for cycle in builtin.cycles(members):
            reader.error(
                reader.groups[cycle[0]][1],
                f"action groups refer to each other in a cycle: {' -> '.join(cycle)}",
                "remove one of the references",
            )


ACTION_GROUPS = ActionGroups()


@functools.lru_cache(maxsize=1)
def _builtin() -> dict[str, ActionGroup]:
    return {
        name: ActionGroup.from_wire(body) for name, body in builtin.static("action_groups").items()
    }


def builtin_groups() -> dict[str, ActionGroup]:
    """The plugin's static action groups, as this kind's model (a new dict each call)."""
    return dict(_builtin())
