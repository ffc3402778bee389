"""Loading and validating mapping files. Every problem names file:line:column and the fix.

All problems of a file are collected and reported at once; a file with any error yields no
:class:`~osaccess.model.MappingFile`, so nothing is ever sent for it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from osaccess.arn import ArnInfo, ArnKind, classify, role_arn_for_session
from osaccess.model import (
    DEFAULT_ADMIN_ROLES,
    FIELDS,
    ClusterSpec,
    DesiredRole,
    MappingFile,
    Ownership,
    RoleMapping,
    Safety,
)

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000  # far above any real file; stops alias bombs before they expand
MAX_VALUE_LENGTH = 256  # the security plugin's limit on strings (3.8+) and role names

TOP_KEYS = ("cluster", "roles", "protect", "admin_roles", "thresholds")
THRESHOLD_KEYS = ("removal_percent", "removal_minimum")
CLUSTER_KEYS = (
    "endpoint",
    "auth",
    "region",
    "assume_role",
    "external_id",
    "session_name",
    "username",
    "ca_certs",
    "client_cert",
    "client_key",
)
ROLE_KEYS = ("principals", *FIELDS, "description", "ownership", "state")
AUTH_KINDS = ("aws", "basic", "cert", "none")
_SECRET_KEYS = re.compile(
    r"^(password|passwd|secret|secret_access_key|session_token|token)$", re.IGNORECASE
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_YAML_STR = "tag:yaml.org,2002:str"

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


@dataclass
class LoadResult:
    path: str
    file: MappingFile | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


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


def load(path: str) -> LoadResult:
    return _Loader(path).run()


class _Loader:
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
    def run(self) -> LoadResult:
        root = self._compose()
        if root is None:
            return LoadResult(self.path, None, self.problems)
        mapping_file = None
        if self._scan(root):
            mapping_file = self._document(root)
        if any(p.severity == "error" for p in self.problems):
            mapping_file = None
        self.problems.sort(key=lambda p: (p.line, p.column, p.severity))
        return LoadResult(self.path, mapping_file, self.problems)

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

        Returns False when the tree is too large to look at further."""
        if _expanded_size(root) > MAX_NODES:
            self.error(
                root,
                f"the document expands to more than {MAX_NODES} nodes (YAML aliases?)",
                "write the file out without anchors and aliases",
            )
            return False
        seen: set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in seen:  # an alias: the same node again, checked once
                continue
            seen.add(id(node))
            if isinstance(node, MappingNode):
                keys: dict[str, Node] = {}
                for key, value in node.value:
                    name = str(key.value) if isinstance(key, ScalarNode) else "?"
                    if name == "<<":
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
                    if _is_secret_key(name):
                        self.error(
                            key,
                            f"a {name!r} key: secrets never belong in mapping files",
                            "remove it; give the password in the OSACCESS_PASSWORD "
                            "environment variable, AWS credentials through the usual "
                            "AWS chain",
                        )
                    stack.append(value)
            elif isinstance(node, SequenceNode):
                stack.extend(node.value)
        return True

    # -- the document -------------------------------------------------------------------------
    def _document(self, root: Node) -> MappingFile | None:
        if not isinstance(root, MappingNode):
            self.error(
                root,
                "a mapping file is a YAML mapping with 'cluster' and 'roles'",
                "see the README for an example",
            )
            return None
        top = self._keys(root, TOP_KEYS, "at the top level")
        cluster = self._cluster(top.get("cluster"), root)
        roles = self._roles(top.get("roles"), root)
        safety = self._safety(top)
        if cluster is None or roles is None:
            return None
        return MappingFile(self.path, cluster, tuple(roles), safety)

    def _safety(self, top: dict[str, Node]) -> Safety:
        protect: set[str] = set()
        if "protect" in top:
            for value, item in self._items(top["protect"], "protect"):
                info = classify(value)
                if info.kind not in (ArnKind.NOT_AN_ARN, ArnKind.IAM_USER, ArnKind.IAM_ROLE):
                    self._bad_arn(value, info, item)
                protect.add(value)
        admin_roles: tuple[str, ...] = DEFAULT_ADMIN_ROLES
        if "admin_roles" in top:
            names = [value for value, _ in self._items(top["admin_roles"], "admin_roles")]
            if not names and not self.problems:
                self.error(
                    top["admin_roles"],
                    "admin_roles is empty: the lockout guard needs "
                    "the roles that grant the security REST API",
                    "list them, e.g. [all_access, security_manager]",
                )
            admin_roles = tuple(names) or DEFAULT_ADMIN_ROLES
        percent, minimum = 25.0, 8
        node = top.get("thresholds")
        if node is not None:
            if not isinstance(node, MappingNode):
                self.error(
                    node,
                    f"'thresholds' must be a mapping, not {_describe(node)}",
                    "write thresholds: {removal_percent: 25, removal_minimum: 8}",
                )
            else:
                keys = self._keys(node, THRESHOLD_KEYS, "in 'thresholds'")
                if "removal_percent" in keys:
                    percent = self._number(keys["removal_percent"], "removal_percent", 0, 100)
                if "removal_minimum" in keys:
                    minimum = int(
                        self._number(
                            keys["removal_minimum"], "removal_minimum", 0, 10**9, integer=True
                        )
                    )
        return Safety(
            admin_roles=admin_roles,
            protect=frozenset(protect),
            removal_percent=percent,
            removal_minimum=minimum,
        )

    def _number(
        self, node: Node, what: str, low: float, high: float, integer: bool = False
    ) -> float:
        tags = (
            ("tag:yaml.org,2002:int",)
            if integer
            else ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
        )
        if not isinstance(node, ScalarNode) or node.tag not in tags:
            self.error(
                node,
                f"{what} must be a{'' if integer else ' whole or decimal'} number"
                f"{' (whole)' if integer else ''}, not {_describe(node)}",
            )
            return low
        value = float(node.value)
        if not low <= value <= high:
            self.error(node, f"{what} must be between {low:g} and {high:g} (found {value:g})")
            return low
        return value

    def _keys(self, node: MappingNode, allowed: tuple[str, ...], where: str) -> dict[str, Node]:
        found: dict[str, Node] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in allowed:
                found[name] = value
            elif not _is_secret_key(name):
                close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
                fix = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else f"valid keys {where}: {', '.join(allowed)}"
                )
                self.error(key, f"unknown key {name!r} {where}", fix)
        return found

    def _string(self, node: Node, what: str, *, allow_empty: bool = False) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag != _YAML_STR:
            self.error(
                node,
                f"{what} must be a string, not {_describe(node)}",
                "quote it if it is meant as text",
            )
            return None
        value = str(node.value)
        if not allow_empty and not value.strip():
            self.error(node, f"{what} is empty")
            return None
        return value

    def _cluster(self, node: Node | None, root: Node) -> ClusterSpec | None:
        if node is None:
            self.error(
                root, "no 'cluster' section", "add cluster: {endpoint: https://..., auth: aws}"
            )
            return None
        if not isinstance(node, MappingNode):
            self.error(node, f"'cluster' must be a mapping, not {_describe(node)}")
            return None
        keys = self._keys(node, CLUSTER_KEYS, "in 'cluster'")
        values: dict[str, str] = {}
        for name, value_node in keys.items():
            value = self._string(value_node, f"cluster.{name}")
            if value is not None:
                values[name] = value.strip()
        endpoint = values.get("endpoint")
        if "endpoint" not in keys:
            self.error(
                node,
                "cluster.endpoint is missing",
                "add the cluster's URL, e.g. https://search-x.eu-west-1.es.amazonaws.com",
            )
        elif endpoint is not None:
            parts = urlsplit(endpoint)
            if parts.username or parts.password:
                self.error(
                    keys["endpoint"],
                    "cluster.endpoint carries credentials "
                    "(user:password@); secrets never belong in mapping files",
                    "remove them; use auth: basic with OSACCESS_PASSWORD",
                )
            elif parts.scheme not in ("http", "https") or not parts.hostname:
                self.error(
                    keys["endpoint"],
                    f"cluster.endpoint {endpoint!r} is not an http(s) URL",
                    "write it as https://host[:port]",
                )
        auth = values.get("auth", "aws")
        if auth not in AUTH_KINDS:
            self.error(
                keys.get("auth"), f"cluster.auth {auth!r} is not one of {', '.join(AUTH_KINDS)}"
            )
        if "assume_role" in values:
            info = classify(values["assume_role"])
            if info.kind is not ArnKind.IAM_ROLE:
                self.error(
                    keys["assume_role"],
                    f"cluster.assume_role must be an IAM role ARN ({info.kind.value})",
                    "write it as arn:aws:iam::<account>:role/<name>",
                )
        if auth == "basic" and "username" not in values:
            self.error(
                keys.get("auth", node),
                "auth: basic needs cluster.username",
                "add username; the password comes from OSACCESS_PASSWORD",
            )
        region = values.get("region")
        if region is None and endpoint:
            region = region_from_endpoint(endpoint)
        if auth == "aws" and endpoint and region is None:
            self.warn(
                keys.get("endpoint"),
                "no cluster.region, and the endpoint does not say which region it is in",
                "add cluster.region (otherwise the AWS profile's region is used)",
            )
        base = Path(self.path).parent
        return ClusterSpec(
            endpoint=(endpoint or "").rstrip("/"),
            auth=auth,
            region=region,
            assume_role=values.get("assume_role"),
            external_id=values.get("external_id"),
            session_name=values.get("session_name", "osaccess"),
            username=values.get("username"),
            ca_certs=_relative(base, values.get("ca_certs")),
            client_cert=_relative(base, values.get("client_cert")),
            client_key=_relative(base, values.get("client_key")),
        )

    def _roles(self, node: Node | None, root: Node) -> list[DesiredRole] | None:
        if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
            self.error(
                node or root,
                "no roles: the 'roles' section is missing or empty",
                "list at least one role and who holds it",
            )
            return None
        if not isinstance(node, MappingNode):
            self.error(node, f"'roles' must be a mapping of role names, not {_describe(node)}")
            return None
        if not node.value:
            self.error(
                node, "the 'roles' section is empty", "list at least one role and who holds it"
            )
            return None
        roles = []
        for key, value in node.value:
            name = self._role_name(key)
            role = self._role(name, key, value)
            if name is not None and role is not None:
                roles.append(role)
        return roles

    def _role_name(self, key: Node) -> str | None:
        if not isinstance(key, ScalarNode) or key.tag != _YAML_STR:
            self.error(key, f"a role name must be a string, not {_describe(key)}", "quote it")
            return None
        name = str(key.value)
        problem = role_name_problem(name)
        if problem:
            self.error(
                key,
                f"role name {name!r}: {problem}",
                "use the role's name exactly as OpenSearch shows it",
            )
            return None
        return name

    def _role(self, name: str | None, key: Node, node: Node) -> DesiredRole | None:
        location = f"{self.path}:{key.start_mark.line + 1}"
        collected: dict[str, list[tuple[str, Node]]] = {f: [] for f in FIELDS}
        ownership = Ownership.EXCLUSIVE
        description = None
        absent = False
        if isinstance(node, SequenceNode):
            self._principals(node, collected)
        elif isinstance(node, MappingNode):
            keys = self._keys(node, ROLE_KEYS, f"in role {name!r}")
            if "principals" in keys:
                self._principals(keys["principals"], collected)
            for field_name in FIELDS:
                if field_name in keys:
                    self._explicit(field_name, keys[field_name], collected)
            if "description" in keys:
                description = self._string(keys["description"], "description", allow_empty=True)
            if "ownership" in keys:
                raw = self._string(keys["ownership"], "ownership")
                if raw is not None:
                    try:
                        ownership = Ownership(raw)
                    except ValueError:
                        self.error(
                            keys["ownership"], f"ownership {raw!r} is not 'exclusive' or 'shared'"
                        )
            if "state" in keys:
                state = self._string(keys["state"], "state")
                if state not in (None, "present", "absent"):
                    self.error(keys["state"], f"state {state!r} is not 'present' or 'absent'")
                absent = state == "absent"
                if absent and ownership is Ownership.SHARED:
                    self.error(
                        keys["state"],
                        "a shared mapping cannot be 'absent': osaccess "
                        "does not own the whole mapping",
                        "drop 'state: absent' or make the role's ownership exclusive",
                    )
                if absent and any(collected.values()):
                    self.error(
                        keys["state"],
                        f"role {name!r} is 'absent' but lists principals",
                        "remove the principals or the state",
                    )
        elif isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            self.error(
                node,
                f"role {name!r} has no principals",
                "list principals, or write `state: absent` to delete the mapping",
            )
            return None
        else:
            self.error(
                node,
                f"role {name!r} must be a list of principals or a mapping, not {_describe(node)}",
            )
            return None
        if name is None:
            return None
        self._duplicates(name, collected)
        mapping = RoleMapping(
            description=description,
            **{f: frozenset(value for value, _ in collected[f]) for f in FIELDS},
        )
        return DesiredRole(name, mapping, ownership, absent, location)

    def _items(self, node: Node, what: str) -> Iterator[tuple[str, Node]]:
        if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            return
        if not isinstance(node, SequenceNode):
            self.error(
                node, f"{what} must be a list, not {_describe(node)}", f"write {what}: [value, ...]"
            )
            return
        for item in node.value:
            value = self._string(item, f"an entry of {what}", allow_empty=True)
            if value is None:
                continue
            stripped = value.strip()
            if not stripped:
                self.error(item, f"an empty entry in {what}", "remove it")
                continue
            if _CONTROL.search(value):
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

    def _principals(self, node: Node, collected: dict[str, list[tuple[str, Node]]]) -> None:
        for value, item in self._items(node, "principals"):
            info = classify(value)
            if info.kind is ArnKind.IAM_USER:
                collected["users"].append((value, item))
            elif info.kind is ArnKind.IAM_ROLE:
                collected["backend_roles"].append((value, item))
                self._sso_path(value, info, item)
            elif info.kind is ArnKind.NOT_AN_ARN:
                self.error(
                    item,
                    f"{value!r} is not an IAM ARN; 'principals' places IAM user and role ARNs only",
                    f"put it under users (a user name) or "
                    f"backend_roles (a backend role): users: [{value}]",
                )
            else:
                self._bad_arn(value, info, item)
            if value == "*":
                self._everyone(item, "principals")

    def _explicit(
        self, field_name: str, node: Node, collected: dict[str, list[tuple[str, Node]]]
    ) -> None:
        for value, item in self._items(node, field_name):
            collected[field_name].append((value, item))
            if value == "*":
                self._everyone(item, field_name)
            if field_name == "hosts":
                continue
            info = classify(value)
            if info.kind is ArnKind.NOT_AN_ARN:
                continue
            if info.kind is ArnKind.IAM_USER and field_name != "users":
                self.error(
                    item,
                    f"{value!r} is an IAM user ARN under {field_name}; OpenSearch "
                    "sees IAM users as user names, never as backend roles",
                    "move it to users (or to principals, which places it)",
                )
            elif info.kind is ArnKind.IAM_ROLE and field_name == "users":
                self.error(
                    item,
                    f"{value!r} is an IAM role ARN under users; OpenSearch sees "
                    "IAM roles as backend roles",
                    "move it to backend_roles (or to principals, which places it)",
                )
            elif info.kind is ArnKind.IAM_ROLE:
                self._sso_path(value, info, item)
            elif info.kind is not ArnKind.IAM_USER:
                self._bad_arn(value, info, item)

    def _bad_arn(self, value: str, info: ArnInfo, item: Node) -> None:
        if info.kind is ArnKind.ASSUMED_ROLE:
            self.error(
                item,
                f"{value!r} is an STS session, which OpenSearch never sees: "
                "Amazon presents the IAM role itself",
                f"map the role instead, probably {role_arn_for_session(info)} — with its "
                "path if it has one (check with `aws iam get-role`)",
            )
        elif info.kind is ArnKind.IAM_GROUP:
            self.error(
                item,
                f"{value!r} is an IAM group; groups cannot sign requests, so "
                "OpenSearch never sees them",
                "map the group's users or a role they assume",
            )
        elif info.kind is ArnKind.ACCOUNT_ROOT:
            self.error(
                item,
                f"{value!r} is an account root, which does not name a principal OpenSearch sees",
                "map the IAM users or roles of that account",
            )
        elif info.kind is ArnKind.FEDERATED_USER:
            self.error(
                item,
                f"{value!r} is an STS federated user session",
                "map the IAM user or role behind it",
            )
        else:
            self.error(
                item,
                f"{value!r} is a malformed or unsupported ARN: {info.problem}",
                "IAM ARNs look like arn:aws:iam::123456789012:role/name or "
                "arn:aws:iam::123456789012:user/name",
            )

    def _sso_path(self, value: str, info: ArnInfo, item: Node) -> None:
        if info.is_sso_role_without_path:
            self.warn(
                item,
                f"{value!r} is an IAM Identity Center role without its path; "
                "OpenSearch sees arn:aws:iam::<account>:role/aws-reserved/"
                "sso.amazonaws.com/<region>/AWSReservedSSO_..., so this will match "
                "nobody",
                f"copy the role's full ARN from `aws iam get-role --role-name {info.name}`",
            )

    def _everyone(self, item: Node, field_name: str) -> None:
        self.warn(
            item,
            f"'*' in {field_name} grants the role to everyone who can authenticate",
            "list principals explicitly unless that is intended",
        )

    def _duplicates(self, name: str, collected: dict[str, list[tuple[str, Node]]]) -> None:
        for field_name, values in collected.items():
            seen: set[str] = set()
            for value, item in values:
                if value in seen:
                    self.warn(
                        item,
                        f"{value!r} is listed twice in role {name!r} ({field_name})",
                        "remove the repetition",
                    )
                seen.add(value)


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


def _is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return (
        bool(_SECRET_KEYS.match(name))
        or difflib.SequenceMatcher(None, lowered, "password").ratio() >= 0.8
    )


def role_name_problem(name: str) -> str | None:
    """Why the security API would reject (or mishandle) a role name, or None."""
    if not name.strip():
        return "it is empty"
    if name != name.strip():
        return "it has leading or trailing white space"
    if name.startswith("_"):
        return "names starting with '_' are reserved by the security plugin"
    if _CONTROL.search(name):
        return "it contains control characters"
    if len(name) > MAX_VALUE_LENGTH:
        return f"it is longer than {MAX_VALUE_LENGTH} characters"
    if "/" in name:
        return "it contains '/', which the role API cannot address"
    return None


def region_from_endpoint(endpoint: str) -> str | None:
    host = urlsplit(endpoint).hostname or ""
    match = re.search(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.(?:es|aoss)\.amazonaws\.com(?:\.cn)?$", host)
    return match[1] if match else None


def _relative(base: Path, value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else base / path)


def _describe(node: Node) -> str:
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
