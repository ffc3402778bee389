"""Loading and validating mapping files. Every problem names file:line:column and the fix.

All problems of a file are collected and reported at once; a file with any error yields no
:class:`~osaccess.model.MappingFile`, so nothing is ever sent for it. The loader reads the
cluster block and the guards itself, and hands each kind's section to its kind
(:mod:`osaccess.kinds`); the shape of everything comes from :mod:`osaccess.file.format`, the
JSON Schema's source too, and the checks from :class:`~osaccess.file.reader.Reader`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import MappingNode, Node

from osaccess import kinds
from osaccess.file.access_tests import read_tests
from osaccess.file.endpoint import FIX as ENDPOINT_FIX
from osaccess.file.endpoint import problem as endpoint_problem
from osaccess.file.endpoint import region_from_endpoint
from osaccess.file.format import CLUSTER, THRESHOLDS
from osaccess.file.layout import managed_sections, top
from osaccess.file.principals import bad_arn, field_for
from osaccess.file.reader import Reader
from osaccess.file.source import Problem, describe, find_files
from osaccess.kinds.base import Desired
from osaccess.model import DEFAULT_ADMIN_ROLES, ClusterSpec, MappingFile, Safety

__all__ = ["LoadResult", "Problem", "find_files", "load"]


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


def load(path: str) -> LoadResult:
    return _Loader(path).run()


class _Loader(Reader):
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
        top_keys = self.keys(root, top())
        cluster = self._cluster(top_keys.get("cluster"), root)
        entries: list[Desired] = []
        for kind in kinds.registered():
            if kind.section in top_keys:
                entries += kind.read_section(self, top_keys[kind.section])
        for kind in kinds.registered():
            kind.finish(self)
        if not any(s in top_keys for s in managed_sections()):
            self.error(
                root,
                "no roles: the file manages nothing (it has none of the sections "
                f"{', '.join(managed_sections())})",
                "list at least one role and who holds it under 'roles'",
            )
        safety = self._safety(top_keys)
        tests = read_tests(self, top_keys.get("tests"))
        if cluster is None:
            return None
        return MappingFile(self.path, cluster, tuple(entries), safety, tests)

    def _safety(self, top: dict[str, Node]) -> Safety:
        protect: set[str] = set()
        if "protect" in top:
            for value, item in self.items(top["protect"], "protect"):
                placement = field_for(value)
                if placement.is_arn and placement.field is None:
                    bad_arn(self, value, placement.info, item)
                protect.add(value)
        admin_roles: tuple[str, ...] = DEFAULT_ADMIN_ROLES
        if "admin_roles" in top:
            names = [value for value, _ in self.items(top["admin_roles"], "admin_roles")]
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
                keys = self.keys(node, THRESHOLDS)
                if "removal_percent" in keys:
                    percent = self.number(
                        keys["removal_percent"], THRESHOLDS.field("removal_percent")
                    )
                if "removal_minimum" in keys:
                    minimum = int(
                        self.number(keys["removal_minimum"], THRESHOLDS.field("removal_minimum"))
                    )
        return Safety(
            admin_roles=admin_roles,
            protect=frozenset(protect),
            removal_percent=percent,
            removal_minimum=minimum,
        )

    def _cluster(self, node: Node | None, root: Node) -> ClusterSpec | None:
        if node is None:
            self.error(
                root, "no 'cluster' section", "add cluster: {endpoint: https://..., auth: aws}"
            )
            return None
        if not isinstance(node, MappingNode):
            self.error(node, f"'cluster' must be a mapping, not {describe(node)}")
            return None
        keys = self.keys(node, CLUSTER)
        values: dict[str, str] = {}
        lookup_roles: list[str] = []
        for name, value_node in keys.items():
            if CLUSTER.field(name).kind == "account":
                account = self.account(value_node, f"cluster.{name}")
                if account is not None:
                    values[name] = account
                continue
            if CLUSTER.field(name).kind == "strings":
                for arn, item in self.items(value_node, f"cluster.{name}"):
                    if field_for(arn).field != "backend_roles":
                        self.error(
                            item,
                            f"{arn!r} is not an IAM role ARN",
                            "write arn:aws:iam::<account>:role/<name>",
                        )
                    lookup_roles.append(arn)
                continue
            value = self.choice(value_node, CLUSTER.field(name), f"cluster.{name}")
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
