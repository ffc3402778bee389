"""The mapping file's reader: YAML nodes (:mod:`osaccess.file.source`) read as the format
(:mod:`osaccess.file.format`) describes them, every problem kept with file:line:column and its fix.

The loader and each kind's reader (:mod:`osaccess.kinds`) use these helpers, so that a key, a
string, a choice, a number or a list is checked and reported the same way in every section.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from osaccess.file.format import ACCOUNT_PATTERN, MAX_VALUE_LENGTH, Field, Section
from osaccess.file.source import (
    CONTROL,
    YAML_STR,
    YamlReader,
    describe,
    is_secret_key,
    names_a_source,
)


class Reader(YamlReader):
    """A YAML reader with the format's checks; also what a file names across sections (the
    actions its definitions use, the action groups it defines), for the checks that need all."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.actions: list[tuple[str, Node, str]] = []  # (action, node, where it is used)
        self.groups: dict[str, tuple[frozenset[str], Node]] = {}  # action groups defined here

    def description(self, keys: dict[str, Node]) -> str | None:
        if "description" not in keys:
            return None
        return self.string(keys["description"], "description", allow_empty=True)

    def values(self, keys: dict[str, Node], name: str) -> list[tuple[str, Node]]:
        return list(self.items(keys[name], name)) if name in keys else []

    def required(self, keys: dict[str, Node], node: Node, section: Section) -> bool:
        missing = [f.name for f in section.fields if f.required and f.name not in keys]
        for name in missing:
            self.error(node, f"{name} is missing {section.where}", f"add {name}: [...]")
        return self.filled(keys, section) and not missing

    def filled(self, keys: dict[str, Node], section: Section) -> bool:
        """Lists the format says may not be empty are not empty."""
        empty = [
            f.name
            for f in section.fields
            if f.non_empty
            and f.kind == "strings"
            and isinstance(keys.get(f.name), SequenceNode)
            and not keys[f.name].value
        ]
        for name in empty:
            self.error(keys[name], f"{name} is empty {section.where}", "list at least one")
        return not empty

    def sections(self, node: Node | None, what: str) -> list[MappingNode]:
        if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
            return []
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list, not {describe(node)}", f"write {what}: [...]")
            return []
        found = []
        for item in node.value:
            if isinstance(item, MappingNode):
                found.append(item)
            else:
                self.error(item, f"an entry of {what} must be a mapping, not {describe(item)}")
        return found

    def number(self, node: Node, field: Field) -> float:
        what, integer = field.name, field.kind == "integer"
        low = field.minimum if field.minimum is not None else float("-inf")
        high = field.maximum if field.maximum is not None else float("inf")
        tags = (
            ("tag:yaml.org,2002:int",)
            if integer
            else ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
        )
        if not isinstance(node, ScalarNode) or node.tag not in tags:
            self.error(
                node,
                f"{what} must be a{'' if integer else ' whole or decimal'} number"
                f"{' (whole)' if integer else ''}, not {describe(node)}",
            )
            return low
        value = float(node.value)
        if not low <= value <= high:
            self.error(node, f"{what} must be between {low:g} and {high:g} (found {value:g})")
            return low
        return value

    def keys(self, node: MappingNode, section: Section, where: str = "") -> dict[str, Node]:
        allowed, where = section.keys, where or section.where
        found: dict[str, Node] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in allowed:
                found[name] = value
            elif not is_secret_key(name) or names_a_source(value):
                close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
                fix = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else f"valid keys {where}: {', '.join(allowed)}"
                )
                self.error(key, f"unknown key {name!r} {where}", fix)
        return found

    def string(self, node: Node, what: str, *, allow_empty: bool = False) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag != YAML_STR:
            self.error(
                node,
                f"{what} must be a string, not {describe(node)}",
                "quote it if it is meant as text",
            )
            return None
        value = str(node.value)
        if not allow_empty and not value.strip():
            self.error(node, f"{what} is empty")
            return None
        return value

    def choice(self, node: Node, field: Field, what: str = "") -> str | None:
        """A string field as the format defines it: non-empty, one of its choices."""
        what = what or field.name
        value = self.string(node, what, allow_empty=not field.non_empty)
        if value is not None and field.choices and value not in field.choices:
            self.error(
                node,
                f"{what} {value!r} is not one of {', '.join(field.choices)}",
                f"write one of {', '.join(field.choices)}",
            )
            return None
        return value

    def items(
        self,
        node: Node,
        what: str,
        on_mapping: Callable[[MappingNode], None] | None = None,
    ) -> Iterator[tuple[str, Node]]:
        """The strings of a list; ``on_mapping`` takes the entries that are mappings."""
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            return
        if not isinstance(node, SequenceNode):
            self.error(
                node, f"{what} must be a list, not {describe(node)}", f"write {what}: [value, ...]"
            )
            return
        for item in node.value:
            if on_mapping is not None and isinstance(item, MappingNode):
                on_mapping(item)
                continue
            value = self.string(item, f"an entry of {what}", allow_empty=True)
            if value is None:
                continue
            stripped = value.strip()
            if not stripped:
                self.error(item, f"an empty entry in {what}", "remove it")
                continue
            if CONTROL.search(value):
                self.error(item, f"{value!r} contains control characters", "retype the value")
                continue
            if stripped != value:
                self.warn(
                    item,
                    f"{value!r} has leading or trailing white space; osaccess uses {stripped!r}",
                    "remove the white space",
                )
            if len(stripped) > MAX_VALUE_LENGTH:
                self.error(
                    item,
                    f"a value of {len(stripped)} characters; the security plugin "
                    f"takes at most {MAX_VALUE_LENGTH}",
                    "check the value",
                )
                continue
            yield stripped, item

    def account(self, node: Node, what: str) -> str | None:
        """A 12-digit AWS account id, quoted or not (YAML reads it as a number otherwise)."""
        text = str(node.value) if isinstance(node, ScalarNode) else ""
        if not isinstance(node, ScalarNode) or not re.match(ACCOUNT_PATTERN, text):
            self.error(
                node,
                f"{what} {text or describe(node)!r} is not a 12-digit AWS account id",
                f"write it as {what.rsplit('.', 1)[-1]}: '111111111111'",
            )
            return None
        return text
