"""Loading and validating mapping files. Every problem names file:line:column and the fix.

All problems of a file are collected and reported at once; a file with any error yields no
:class:`~osaccess.model.MappingFile`, so nothing is ever sent for it. The shape (keys, types,
choices, ranges) comes from :mod:`osaccess.file.format`, the JSON Schema's source too; where an
ARN belongs comes from :mod:`osaccess.file.principals`. Reading YAML safely (size, aliases,
duplicate keys, secrets) is :mod:`osaccess.file.source`.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from osaccess.access import builtin
from osaccess.aws.arn import ArnInfo, ArnKind, role_arn_for_session
from osaccess.aws.session import region_from_endpoint
from osaccess.cluster.endpoint import FIX as ENDPOINT_FIX
from osaccess.cluster.endpoint import problem as endpoint_problem
from osaccess.file.format import (
    ACCOUNT_PATTERN,
    ACTION_GROUP,
    CLUSTER,
    INDEX_PERMISSION,
    MANAGED_SECTIONS,
    PERMISSION_SET_PATTERN,
    ROLE,
    ROLE_DEFINITION,
    SSO,
    TENANT,
    TENANT_PERMISSION,
    THRESHOLDS,
    TOP,
    Field,
    Section,
)
from osaccess.file.principals import CONTROL as _CONTROL
from osaccess.file.principals import MAX_VALUE_LENGTH, field_for, role_name_problem
from osaccess.file.source import (
    YAML_STR,
    LoadResult,
    Problem,
    YamlReader,
    describe,
    find_files,
    is_secret_key,
    yaml_value,
)
from osaccess.model import (
    ACTION_GROUPS,
    DEFAULT_ADMIN_ROLES,
    FIELDS,
    ROLES,
    TENANTS,
    ActionGroup,
    ClusterSpec,
    Definition,
    DesiredDefinition,
    DesiredRole,
    IndexPermission,
    MappingFile,
    Ownership,
    RoleDefinition,
    RoleMapping,
    Safety,
    SsoRef,
    Tenant,
    TenantPermission,
    canonical_dls,
)

__all__ = ["LoadResult", "Problem", "find_files", "load"]


def load(path: str) -> LoadResult:
    return _Loader(path).run()


class _Loader(YamlReader):
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

    def _document(self, root: Node) -> MappingFile | None:
        if not isinstance(root, MappingNode):
            self.error(
                root,
                "a mapping file is a YAML mapping with 'cluster' and 'roles'",
                "see the README for an example",
            )
            return None
        top = self._keys(root, TOP)
        cluster = self._cluster(top.get("cluster"), root)
        definitions = self._definitions(top)
        has_definitions = any(name in top for name in MANAGED_SECTIONS if name != "roles")
        roles: list[DesiredRole] | None = []
        if "roles" in top or not has_definitions:
            roles = self._roles(top.get("roles"), root)
        safety = self._safety(top)
        if cluster is None or roles is None:
            return None
        return MappingFile(self.path, cluster, tuple(roles), safety, tuple(definitions))

    # -- definitions: roles, action groups, tenants ------------------------------------------

    def _definitions(self, top: dict[str, Node]) -> list[DesiredDefinition]:
        found: list[DesiredDefinition] = []
        actions: list[tuple[str, Node, str]] = []  # (action, node, where) for the offline checks
        groups: dict[str, tuple[frozenset[str], Node]] = {}
        for kind, section_name, section in (
            (ACTION_GROUPS, "action_groups", ACTION_GROUP),
            (ROLES, "role_definitions", ROLE_DEFINITION),
            (TENANTS, "tenants", TENANT),
        ):
            node = top.get(section_name)
            if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
                continue
            if not isinstance(node, MappingNode):
                self.error(
                    node, f"'{section_name}' must be a mapping of names, not {describe(node)}"
                )
                continue
            for key, value in node.value:
                name = self._entity_name(key, kind.label)
                if name is None:
                    continue
                reserved = builtin.reserved_problem(kind.name, name)
                if reserved:
                    self.error(key, reserved[0], reserved[1])
                    continue
                if not isinstance(value, MappingNode):
                    self.error(
                        value,
                        f"{kind.label} {name!r} must be a mapping of its keys, not "
                        f"{describe(value)}",
                        f"valid keys: {', '.join(section.keys)}",
                    )
                    continue
                keys = self._keys(value, section, f"in {kind.label} {name!r}")
                location = f"{self.path}:{key.start_mark.line + 1}"
                if "state" in keys and self._choice(keys["state"], section.field("state")) == (
                    "absent"
                ):
                    if len(keys) > 1:
                        self.error(
                            keys["state"],
                            f"{kind.label} {name!r} is 'absent' but says what it holds",
                            "remove the other keys or the state",
                        )
                    found.append(DesiredDefinition(kind.name, name, None, location))
                    continue
                definition: Definition | None
                if kind is ROLES:
                    definition = self._role_definition(name, keys, actions)
                elif kind is ACTION_GROUPS:
                    definition = self._action_group(name, keys, value, actions)
                    if definition is not None:
                        groups[name] = (definition.allowed_actions, key)
                else:
                    definition = Tenant(self._description(keys))
                if definition is not None:
                    found.append(DesiredDefinition(kind.name, name, definition, location))
        self._check_actions(actions, groups)
        return found

    def _entity_name(self, key: Node, label: str) -> str | None:
        if not isinstance(key, ScalarNode) or key.tag != YAML_STR:
            self.error(key, f"a {label} name must be a string, not {describe(key)}", "quote it")
            return None
        name = str(key.value)
        problem = role_name_problem(name)
        if problem:
            self.error(key, f"{label} name {name!r}: {problem}", "use a plain name")
            return None
        return name

    def _description(self, keys: dict[str, Node]) -> str | None:
        if "description" not in keys:
            return None
        return self._string(keys["description"], "description", allow_empty=True)

    def _values(self, keys: dict[str, Node], name: str) -> list[tuple[str, Node]]:
        return list(self._items(keys[name], name)) if name in keys else []

    def _required(self, keys: dict[str, Node], node: Node, section: Section) -> bool:
        missing = [f.name for f in section.fields if f.required and f.name not in keys]
        for name in missing:
            self.error(node, f"{name} is missing {section.where}", f"add {name}: [...]")
        return self._filled(keys, section) and not missing

    def _filled(self, keys: dict[str, Node], section: Section) -> bool:
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

    def _role_definition(
        self, name: str, keys: dict[str, Node], actions: list[tuple[str, Node, str]]
    ) -> RoleDefinition | None:
        cluster = self._values(keys, "cluster_permissions")
        actions += [(value, item, "cluster") for value, item in cluster]
        index: list[IndexPermission] = []
        for item in self._sections(keys.get("index_permissions"), "index_permissions"):
            entry = self._keys(item, INDEX_PERMISSION, f"in an index permission of {name!r}")
            if not self._required(entry, item, INDEX_PERMISSION):
                continue
            allowed = self._values(entry, "allowed_actions")
            actions += [(value, node, "index") for value, node in allowed]
            index.append(
                IndexPermission(
                    index_patterns=frozenset(v for v, _ in self._values(entry, "index_patterns")),
                    allowed_actions=frozenset(v for v, _ in allowed),
                    dls=self._dls(entry["dls"]) if "dls" in entry else None,
                    fls=frozenset(v for v, _ in self._values(entry, "fls")),
                    masked_fields=frozenset(v for v, _ in self._values(entry, "masked_fields")),
                )
            )
        tenants: list[TenantPermission] = []
        for item in self._sections(keys.get("tenant_permissions"), "tenant_permissions"):
            entry = self._keys(item, TENANT_PERMISSION, f"in a tenant permission of {name!r}")
            if not self._required(entry, item, TENANT_PERMISSION):
                continue
            allowed = self._values(entry, "allowed_actions")
            actions += [(value, node, "kibana") for value, node in allowed]
            tenants.append(
                TenantPermission(
                    frozenset(v for v, _ in self._values(entry, "tenant_patterns")),
                    frozenset(v for v, _ in allowed),
                )
            )
        return RoleDefinition(
            cluster_permissions=frozenset(v for v, _ in cluster),
            index_permissions=frozenset(index),
            tenant_permissions=frozenset(tenants),
            description=self._description(keys),
        )

    def _sections(self, node: Node | None, what: str) -> list[MappingNode]:
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

    def _dls(self, node: Node) -> str | None:
        if isinstance(node, MappingNode):
            value: object = yaml_value(node)
        elif isinstance(node, ScalarNode) and node.tag == YAML_STR:
            try:
                value = json.loads(str(node.value))
            except ValueError as exc:
                self.error(
                    node,
                    f"dls is not valid JSON: {exc}",
                    "write the query as a YAML mapping, or as a JSON object in quotes",
                )
                return None
        else:
            value = None
        if not isinstance(value, dict):
            self.error(
                node,
                'dls must be a JSON object (a query such as {"term": {"team": "blue"}})',
                "write the query as a YAML mapping, or as a JSON object in quotes",
            )
            return None
        return canonical_dls(json.dumps(value))

    def _action_group(
        self, name: str, keys: dict[str, Node], node: Node, actions: list[tuple[str, Node, str]]
    ) -> ActionGroup | None:
        if "allowed_actions" not in keys:
            self.error(node, f"action group {name!r} has no allowed_actions", "list its actions")
            return None
        if not self._filled(keys, ACTION_GROUP):
            return None
        allowed = self._values(keys, "allowed_actions")
        kind = self._choice(keys["type"], ACTION_GROUP.field("type")) if "type" in keys else None
        actions += [(value, item, kind or "any") for value, item in allowed]
        return ActionGroup(frozenset(v for v, _ in allowed), kind, self._description(keys))

    def _check_actions(
        self,
        actions: list[tuple[str, Node, str]],
        groups: dict[str, tuple[frozenset[str], Node]],
    ) -> None:
        known = set(builtin.action_groups()) | set(groups)
        hints = dict(builtin.unknown_actions((a for a, _, _ in actions), known))
        for action, node, _ in actions:
            if action not in hints:
                continue
            close = hints[action]
            self.warn(
                node,
                f"{action!r} is neither a built-in action group, nor one of this file's, nor "
                "an action (such as indices:data/read/* or cluster:monitor/*)",
                f"did you mean {close!r}?" if close else "check the name",
            )
        for cycle in builtin.cycles({name: members for name, (members, _) in groups.items()}):
            self.error(
                groups[cycle[0]][1],
                f"action groups refer to each other in a cycle: {' -> '.join(cycle)}",
                "remove one of the references",
            )

    def _safety(self, top: dict[str, Node]) -> Safety:
        protect: set[str] = set()
        if "protect" in top:
            for value, item in self._items(top["protect"], "protect"):
                placement = field_for(value)
                if placement.is_arn and placement.field is None:
                    self._bad_arn(value, placement.info, item)
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
                    f"'thresholds' must be a mapping, not {describe(node)}",
                    "write thresholds: {removal_percent: 25, removal_minimum: 8}",
                )
            else:
                keys = self._keys(node, THRESHOLDS)
                if "removal_percent" in keys:
                    percent = self._number(
                        keys["removal_percent"], THRESHOLDS.field("removal_percent")
                    )
                if "removal_minimum" in keys:
                    minimum = int(
                        self._number(keys["removal_minimum"], THRESHOLDS.field("removal_minimum"))
                    )
        return Safety(
            admin_roles=admin_roles,
            protect=frozenset(protect),
            removal_percent=percent,
            removal_minimum=minimum,
        )

    def _number(self, node: Node, field: Field) -> float:
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

    def _keys(self, node: MappingNode, section: Section, where: str = "") -> dict[str, Node]:
        allowed, where = section.keys, where or section.where
        found: dict[str, Node] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in allowed:
                found[name] = value
            elif not is_secret_key(name):
                close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
                fix = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else f"valid keys {where}: {', '.join(allowed)}"
                )
                self.error(key, f"unknown key {name!r} {where}", fix)
        return found

    def _string(self, node: Node, what: str, *, allow_empty: bool = False) -> str | None:
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

    def _choice(self, node: Node, field: Field, what: str = "") -> str | None:
        """A string field as the format defines it: non-empty, one of its choices."""
        what = what or field.name
        value = self._string(node, what, allow_empty=not field.non_empty)
        if value is not None and field.choices and value not in field.choices:
            self.error(
                node,
                f"{what} {value!r} is not one of {', '.join(field.choices)}",
                f"write one of {', '.join(field.choices)}",
            )
            return None
        return value

    def _cluster(self, node: Node | None, root: Node) -> ClusterSpec | None:
        if node is None:
            self.error(
                root, "no 'cluster' section", "add cluster: {endpoint: https://..., auth: aws}"
            )
            return None
        if not isinstance(node, MappingNode):
            self.error(node, f"'cluster' must be a mapping, not {describe(node)}")
            return None
        keys = self._keys(node, CLUSTER)
        values: dict[str, str] = {}
        lookup_roles: list[str] = []
        for name, value_node in keys.items():
            if CLUSTER.field(name).kind == "account":
                account = self._account(value_node, f"cluster.{name}")
                if account is not None:
                    values[name] = account
                continue
            if CLUSTER.field(name).kind == "strings":
                for arn, item in self._items(value_node, f"cluster.{name}"):
                    if field_for(arn).field != "backend_roles":
                        self.error(
                            item,
                            f"{arn!r} is not an IAM role ARN",
                            "write arn:aws:iam::<account>:role/<name>",
                        )
                    lookup_roles.append(arn)
                continue
            value = self._choice(value_node, CLUSTER.field(name), f"cluster.{name}")
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
            wrong = endpoint_problem(endpoint)
            if wrong is not None and "credentials" in wrong:
                self.error(
                    keys["endpoint"],
                    f"cluster.endpoint {wrong}",
                    "remove them; use auth: basic with OSACCESS_PASSWORD",
                )
            elif wrong is not None:
                self.error(keys["endpoint"], f"cluster.endpoint {endpoint!r} {wrong}", ENDPOINT_FIX)
                endpoint = None  # no library parses it further
        for name, fix in _AWS_VALUE_FIXES.items():
            value = values.get(name)
            pattern = CLUSTER.field(name).pattern or ""
            if value is not None and not re.match(pattern, value):
                self.error(keys[name], f"cluster.{name} {value!r} {fix[0]}", fix[1])
                values.pop(name)
        domain = values.get("domain")
        if domain is not None and not re.match(CLUSTER.field("domain").pattern or "", domain):
            self.error(
                keys["domain"],
                f"cluster.domain {domain!r} is not an OpenSearch Service domain name",
                "write the domain's name: 3 to 28 lower-case letters, digits and hyphens, "
                "starting with a letter",
            )
        auth = values.get("auth", CLUSTER.field("auth").default)
        if "assume_role" in values:
            placement = field_for(values["assume_role"])
            if placement.field != "backend_roles":
                self.error(
                    keys["assume_role"],
                    f"cluster.assume_role must be an IAM role ARN ({placement.info.kind.value})",
                    "write it as arn:aws:iam::<account>:role/<name>",
                )
        if auth == "basic" and "username" not in values:
            self.error(
                keys.get("auth", node),
                "auth: basic needs cluster.username",
                "add username; the password comes from OSACCESS_PASSWORD",
            )
        region = values.get("region")
        if auth == "aws" and endpoint and region is None and region_from_endpoint(endpoint) is None:
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
            iam_lookup_roles=tuple(lookup_roles),
            domain=values.get("domain"),
            account=values.get("account"),
        )

    def _roles(self, node: Node | None, root: Node) -> list[DesiredRole] | None:
        """The role mappings (the `roles` section)."""
        if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
            self.error(
                node or root,
                "no roles: the 'roles' section is missing or empty",
                "list at least one role and who holds it",
            )
            return None
        if not isinstance(node, MappingNode):
            self.error(node, f"'roles' must be a mapping of role names, not {describe(node)}")
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
        if not isinstance(key, ScalarNode) or key.tag != YAML_STR:
            self.error(key, f"a role name must be a string, not {describe(key)}", "quote it")
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
        sso: list[SsoRef] = []
        ownership = Ownership.EXCLUSIVE
        description = None
        absent = False
        if isinstance(node, SequenceNode):
            self._principals(node, collected, sso)
        elif isinstance(node, MappingNode):
            keys = self._keys(node, ROLE, f"in role {name!r}")
            if "principals" in keys:
                self._principals(keys["principals"], collected, sso)
            for field_name in FIELDS:
                if field_name in keys:
                    self._explicit(field_name, keys[field_name], collected)
            if "description" in keys:
                description = self._choice(keys["description"], ROLE.field("description"))
            if "ownership" in keys:
                raw = self._choice(keys["ownership"], ROLE.field("ownership"))
                if raw is not None:
                    ownership = Ownership(raw)
            if "state" in keys:
                absent = self._choice(keys["state"], ROLE.field("state")) == "absent"
                if absent and ownership is Ownership.SHARED:
                    self.error(
                        keys["state"],
                        "a shared mapping cannot be 'absent': osaccess "
                        "does not own the whole mapping",
                        "drop 'state: absent' or make the role's ownership exclusive",
                    )
                if absent and (any(collected.values()) or sso):
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
                f"role {name!r} must be a list of principals or a mapping, not {describe(node)}",
            )
            return None
        if name is None:
            return None
        self._duplicates(name, collected)
        mapping = RoleMapping(
            description=description,
            **{f: frozenset(value for value, _ in collected[f]) for f in FIELDS},
        )
        return DesiredRole(name, mapping, ownership, absent, location, tuple(sso))

    def _items(
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

    def _principals(
        self, node: Node, collected: dict[str, list[tuple[str, Node]]], sso: list[SsoRef]
    ) -> None:
        def permission_set(item: MappingNode) -> None:
            ref = self._sso(item)
            if ref is None:
                return
            if any((r.permission_set, r.account) == (ref.permission_set, ref.account) for r in sso):
                self.warn(item, f"{ref.label} is listed twice", "remove one")
            else:
                sso.append(ref)

        for value, item in self._items(node, "principals", permission_set):
            placement = field_for(value)
            info = placement.info
            if placement.field is not None:
                collected[placement.field].append((value, item))
                self._sso_path(value, info, item)
            elif not placement.is_arn:
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

    def _account(self, node: Node, what: str) -> str | None:
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

    def _sso(self, node: MappingNode) -> SsoRef | None:
        """``{sso: PermissionSet, account: "111111111111"}``: an IAM Identity Center role."""
        keys = self._keys(node, SSO)
        if "sso" not in keys:
            self.error(
                node,
                "a mapping among principals must name a permission set: {sso: Name}",
                "write - sso: AdminAccess (optionally with account: '111111111111'), or an ARN",
            )
            return None
        name = self._choice(keys["sso"], SSO.field("sso"), "sso")
        if name is not None and not re.match(PERMISSION_SET_PATTERN, name):
            self.error(
                keys["sso"],
                f"sso {name!r} is not a permission set name",
                "write the permission set's name as IAM Identity Center shows it "
                "(1 to 32 letters, digits and +=,.@_-)",
            )
            name = None
        account = None
        if "account" in keys:
            account = self._account(keys["account"], "account")
            if account is None:
                return None
        if name is None:
            return None
        return SsoRef(name, account, f"{self.path}:{node.start_mark.line + 1}")

    def _explicit(
        self, field_name: str, node: Node, collected: dict[str, list[tuple[str, Node]]]
    ) -> None:
        for value, item in self._items(node, field_name):
            collected[field_name].append((value, item))
            if value == "*":
                self._everyone(item, field_name)
            if field_name == "hosts":
                continue
            placement = field_for(value)
            info = placement.info
            if not placement.is_arn:
                continue
            if placement.field == "users" and field_name != "users":
                self.error(
                    item,
                    f"{value!r} is an IAM user ARN under {field_name}; OpenSearch "
                    "sees IAM users as user names, never as backend roles",
                    "move it to users (or to principals, which places it)",
                )
            elif placement.field == "backend_roles" and field_name == "users":
                self.error(
                    item,
                    f"{value!r} is an IAM role ARN under users; OpenSearch sees "
                    "IAM roles as backend roles",
                    "move it to backend_roles (or to principals, which places it)",
                )
            elif placement.field == "backend_roles":
                self._sso_path(value, info, item)
            elif placement.field is None:
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


# What AWS accepts for the cluster block's AWS values, and how to write them
_AWS_VALUE_FIXES = {
    "region": ("is not an AWS region name", "write a region such as eu-west-1"),
    "session_name": (
        "is not a valid STS session name",
        "use 2 to 64 of the letters, digits and _+=,.@- (no spaces)",
    ),
    "external_id": (
        "is not a valid external id",
        "use 2 to 1,224 of the letters, digits and _+=,.@:/- (no spaces)",
    ),
}


def _relative(base: Path, value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else base / path)
