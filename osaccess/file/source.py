"""Reading YAML safely, and reporting problems with file:line:column.

A reader composes the YAML into nodes (never objects), refuses files that are too large, not
UTF-8, or that expand past a size (alias bombs), and reports duplicate keys, merge keys and
secrets anywhere in the tree. :mod:`osaccess.file.loader` builds the document on top of it.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000  # far above any real file; stops alias bombs before they expand
_SECRET_KEYS = re.compile(
    r"^(password|passwd|secret|secret_access_key|session_token|token)$", re.IGNORECASE
)
YAML_STR = "tag:yaml.org,2002:str"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # control characters, refused in values

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    severity: Severity
    message: str
    fix: str | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def render(self) -> str:
        text = f"{self.where}: {self.severity}: {self.message}"
        return f"{text}\n  fix: {self.fix}" if self.fix else text


def find_files(paths: list[str]) -> tuple[list[str], list[Problem]]:
    """Expand directories into their *.yaml/*.yml files (sorted); report paths with none."""
    files: list[str] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                str(p) for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()
            )
            if not found:
                problems.append(
                    Problem(
                        raw,
                        0,
                        0,
                        "error",
                        "no mapping files (*.yaml, *.yml) in this directory",
                        "give a file or a directory that holds mapping files",
                    )
                )
            files += found
        elif path.exists():
            files.append(raw)
        else:
            problems.append(
                Problem(raw, 0, 0, "error", "no such file or directory", "check the path")
            )
    return files, problems


class YamlReader:
    """Reads one file into YAML nodes; collects problems."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    # -- reporting --------------------------------------------------------------------------
    def error(self, node: Node | None, message: str, fix: str | None = None) -> None:
        self._add(node, "error", message, fix)

    def warn(self, node: Node | None, message: str, fix: str | None = None) -> None:
        self._add(node, "warning", message, fix)

    def _add(self, node: Node | None, severity: Severity, message: str, fix: str | None) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        column = node.start_mark.column + 1 if node is not None else 0
        self.problems.append(Problem(self.path, line, column, severity, message, fix))

    # -- reading ----------------------------------------------------------------------------
    def _compose(self) -> Node | None:
        try:
            size = os.path.getsize(self.path)
            if size > MAX_FILE_BYTES:
                self.error(
                    None,
                    f"the file is {size / 1048576:.1f} MiB; mapping files are "
                    f"limited to {MAX_FILE_BYTES // 1048576} MiB",
                    "split it, one file per cluster",
                )
                return None
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            self.error(None, f"cannot read the file: {exc.strerror or exc}")
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            self.problems.append(
                Problem(
                    self.path,
                    line,
                    0,
                    "error",
                    f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                    "save it as UTF-8",
                )
            )
            return None
        try:
            node = yaml.compose(text, Loader=_Loader_class())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            detail = exc.problem or "invalid YAML"
            lines = text.splitlines()
            bad_line = lines[line - 1] if 0 < line <= len(lines) else ""
            fix = (
                "indent with spaces, not tabs"
                if "\t" in bad_line
                else "check the YAML syntax around this line"
            )
            self.problems.append(
                Problem(self.path, line, column, "error", f"invalid YAML: {detail}", fix)
            )
            return None
        except yaml.YAMLError as exc:
            self.error(None, f"invalid YAML: {exc}")
            return None
        if node is None:
            self.error(None, "the file is empty", "start from `osaccess import` or the README")
        return node

    def _scan(self, root: Node) -> bool:
        """Whole-tree checks: size (alias bombs), duplicate keys, secrets, merge keys.

        Returns False when the tree is too large to look at further. Each node is visited once
        (an alias is the same node again), so the scan is linear whatever the aliases; only a
        document with aliases is then sized as it would expand."""
        reported = len(self.problems)
        seen: set[int] = set()
        aliased = False
        keys_seen = 0  # keys are nodes too (the expanded size counts them)
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in seen:  # an alias: the same node again, checked once
                aliased = True
                continue
            seen.add(id(node))
            if isinstance(node, MappingNode):
                keys: dict[str, Node] = {}
                keys_seen += len(node.value)
                for key, value in node.value:
                    name = str(key.value) if isinstance(key, ScalarNode) else "?"
                    # a plain << is YAML's merge key; a quoted '<<' is a name like any other
                    if name == "<<" and key.tag.endswith(":merge"):
                        self.error(
                            key, "YAML merge keys (<<) are not supported", "write the keys out"
                        )
                    elif name in keys:
                        first = keys[name].start_mark.line + 1
                        self.error(
                            key,
                            f"duplicate key {name!r} (first defined on line "
                            f"{first}); YAML keeps only the last one",
                            "merge the two entries into one",
                        )
                    else:
                        keys[name] = key
                    if is_secret_key(name) and not names_a_source(value):
                        self.error(
                            key,
                            f"a {name!r} key: secrets never belong in mapping files",
                            "remove it; give the password in the OSACCESS_PASSWORD "
                            "environment variable, AWS credentials through the usual "
                            "AWS chain"
                            + (
                                "; for an internal user, name where its password comes "
                                "from: password: {env: NAME} (or file, secretsmanager, ssm)"
                                if name == "password"
                                else ""
                            ),
                        )
                    stack.append(value)
            elif isinstance(node, SequenceNode):
                stack.extend(node.value)
        if (_expanded_size(root) if aliased else len(seen) + keys_seen) > MAX_NODES:
            del self.problems[reported:]  # a bomb: the one problem worth saying
            self.error(
                root,
                f"the document expands to more than {MAX_NODES} nodes (YAML aliases?)",
                "write the file out without anchors and aliases",
            )
            return False
        return True

    # -- the document -------------------------------------------------------------------------


def _expanded_size(root: Node) -> int:
    """How many nodes the document has once aliases are expanded, without expanding them."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:  # iterative post-order: a node is sized once all its children are
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if children_done:
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[id(node)] = min(total, 10**12)
            open_nodes.discard(id(node))
            continue
        if id(node) in open_nodes:
            return 10**12  # a node that contains itself (a recursive alias) never ends
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                return 10**12
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


SOURCE_KEYS = frozenset({"env", "file", "secretsmanager", "ssm", "key"})


def names_a_source(node: Node) -> bool:
    """A mapping that says where a secret comes from ({env: NAME}, ...), not the secret."""
    return (
        isinstance(node, MappingNode)
        and bool(node.value)
        and all(isinstance(k, ScalarNode) and k.value in SOURCE_KEYS for k, _ in node.value)
    )


def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    # a ratio of 0.8 against the 8 letters of "password" needs 5 to 12 letters: skip the rest
    return bool(_SECRET_KEYS.match(name)) or (
        5 <= len(lowered) <= 12
        and difflib.SequenceMatcher(None, lowered, "password").ratio() >= 0.8
    )


def describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = node.tag.rsplit(":", 1)[-1]
    return {
        "int": "a number",
        "float": "a number",
        "bool": "true/false",
        "null": "empty",
        "str": "a string",
    }.get(tag, tag)


def _Loader_class() -> type[yaml.SafeLoader]:
    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


def yaml_value(node: Node) -> object:
    """The plain Python value of a node (for values osaccess passes on, such as a DLS query)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()
