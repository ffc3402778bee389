"""The model both sides of a plan share: what a role mapping is, desired or live."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

FIELDS = ("users", "backend_roles", "and_backend_roles", "hosts")
AUTH_KINDS = ("aws", "basic", "cert", "none")


@dataclass(frozen=True)
class RoleMapping:
    """A role mapping with set semantics: order and duplicates never matter."""

    users: frozenset[str] = frozenset()
    backend_roles: frozenset[str] = frozenset()
    and_backend_roles: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()
    description: str | None = None

    def values(self, name: str) -> frozenset[str]:
        value: frozenset[str] = getattr(self, name)
        return value

    @property
    def principal_count(self) -> int:
        return sum(len(self.values(name)) for name in FIELDS)

    def to_wire(self) -> dict[str, Any]:
        """The body the security API takes: all four arrays (sorted), description when set."""
        body: dict[str, Any] = {name: sorted(self.values(name)) for name in FIELDS}
        if self.description is not None:
            body["description"] = self.description
        return body

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> RoleMapping:
        """From the API's JSON; ``reserved``/``hidden`` and unknown keys are ignored here."""

        def strings(name: str) -> frozenset[str]:
            raw = body.get(name) or []
            return frozenset(str(item).strip() for item in raw if isinstance(item, str))

        description = body.get("description")
        return cls(
            users=strings("users"),
            backend_roles=strings("backend_roles"),
            and_backend_roles=strings("and_backend_roles"),
            hosts=strings("hosts"),
            description=description if isinstance(description, str) else None,
        )

    @classmethod
    def of(cls, description: str | None = None, **fields: Iterable[str]) -> RoleMapping:
        return cls(
            description=description, **{name: frozenset(values) for name, values in fields.items()}
        )


class Ownership(Enum):
    EXCLUSIVE = "exclusive"  # the file is the whole truth for the role's mapping
    SHARED = "shared"  # the file adds its principals and never removes anyone else's


@dataclass(frozen=True)
class SsoRef:
    """An IAM Identity Center permission set named in a file (``sso: Name``): at plan time it
    becomes the account's AWSReservedSSO_<Name>_<suffix> role ARN, a backend role."""

    permission_set: str
    account: str | None = None  # None: the account of the credentials
    location: str = ""  # file:line

    @property
    def label(self) -> str:
        return f"sso: {self.permission_set}" + (
            f" (account {self.account})" if self.account else ""
        )


@dataclass(frozen=True)
class DesiredRole:
    name: str
    mapping: RoleMapping
    ownership: Ownership = Ownership.EXCLUSIVE
    absent: bool = False  # the mapping must not exist (exclusive only)
    location: str = ""  # file:line where the role is declared
    sso: tuple[SsoRef, ...] = ()  # permission sets still to resolve into backend roles


@dataclass(frozen=True)
class LiveMapping:
    mapping: RoleMapping
    reserved: bool = False
    hidden: bool = False


@dataclass(frozen=True)
class LiveState:
    """What one read of the cluster returned."""

    mappings: Mapping[str, LiveMapping]
    roles: frozenset[str]
    prefix: str = "_plugins/_security"
    version: str | None = None
    # kind name (roles, action_groups, tenants) -> name -> definition, when read
    definitions: Mapping[str, Mapping[str, LiveDefinition]] = field(default_factory=dict)

    def defined(self, kind: str) -> Mapping[str, LiveDefinition]:
        return self.definitions.get(kind, {})

    def definition(self, kind: str, name: str) -> Definition | None:
        entry = self.defined(kind).get(name)
        return entry.definition if entry is not None else None


@dataclass(frozen=True)
class ClusterSpec:
    endpoint: str
    auth: str = "aws"
    region: str | None = None
    assume_role: str | None = None
    external_id: str | None = None
    session_name: str = "osaccess"
    username: str | None = None
    ca_certs: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    # roles to assume to read IAM in other accounts (one per account: the account is in the ARN)
    iam_lookup_roles: tuple[str, ...] = ()
    # the Amazon OpenSearch Service domain's name (default: from the endpoint)
    domain: str | None = None
    # the domain's AWS account: the default account of sso entries (default: the credentials')
    account: str | None = None


DEFAULT_ADMIN_ROLES = ("all_access", "security_manager")


@dataclass(frozen=True)
class Safety:
    """The guards of a file (see docs/safety.md)."""

    # roles that grant the security REST API: the caller must keep at least one of them
    admin_roles: tuple[str, ...] = DEFAULT_ADMIN_ROLES
    # principals never removed from any mapping (break-glass, master user)
    protect: frozenset[str] = frozenset()
    # refuse (without --force) removing more than this share of the managed principals ...
    removal_percent: float = 25.0
    # ... when the managed mappings hold at least this many principals
    removal_minimum: int = 8


@dataclass(frozen=True)
class MappingFile:
    path: str
    cluster: ClusterSpec
    roles: tuple[DesiredRole, ...] = field(default_factory=tuple)
    safety: Safety = field(default_factory=Safety)
    definitions: tuple[DesiredDefinition, ...] = field(default_factory=tuple)

    @property
    def sso_refs(self) -> tuple[SsoRef, ...]:
        """Every permission set named by ``sso:`` (resolved at plan time)."""
        return tuple(ref for role in self.roles for ref in role.sso)


def pointer(name: str) -> str:
    """A JSON Pointer to a top-level member (RFC 6901 escaping)."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


# -- definitions: roles, action groups and tenants -----------------------------------------------


def canonical_dls(query: str) -> str:
    """A DLS query in one spelling (compact JSON, sorted keys), so that white space and key
    order never show as drift. A query that is not JSON is kept as it is."""
    import json

    try:
        return json.dumps(json.loads(query), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return query


@dataclass(frozen=True)
class IndexPermission:
    index_patterns: frozenset[str]
    allowed_actions: frozenset[str]
    dls: str | None = None  # a JSON query, canonical (canonical_dls)
    fls: frozenset[str] = frozenset()  # fields, or ~field to exclude
    masked_fields: frozenset[str] = frozenset()

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "index_patterns": sorted(self.index_patterns),
            "allowed_actions": sorted(self.allowed_actions),
            "fls": sorted(self.fls),
            "masked_fields": sorted(self.masked_fields),
        }
        if self.dls is not None:
            body["dls"] = self.dls
        return body

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> IndexPermission:
        dls = body.get("dls")
        return cls(
            index_patterns=_strings(body.get("index_patterns")),
            allowed_actions=_strings(body.get("allowed_actions")),
            dls=canonical_dls(dls) if isinstance(dls, str) and dls.strip() else None,
            fls=_strings(body.get("fls")),
            masked_fields=_strings(body.get("masked_fields")),
        )

    def sort_key(self) -> str:
        import json

        return json.dumps(self.to_wire(), sort_keys=True)


@dataclass(frozen=True)
class TenantPermission:
    tenant_patterns: frozenset[str]
    allowed_actions: frozenset[str]

    def to_wire(self) -> dict[str, Any]:
        return {
            "tenant_patterns": sorted(self.tenant_patterns),
            "allowed_actions": sorted(self.allowed_actions),
        }

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> TenantPermission:
        return cls(_strings(body.get("tenant_patterns")), _strings(body.get("allowed_actions")))

    def sort_key(self) -> str:
        return repr(self.to_wire())


@dataclass(frozen=True)
class RoleDefinition:
    """What a role allows. Set semantics throughout: order and duplicates never matter."""

    cluster_permissions: frozenset[str] = frozenset()
    index_permissions: frozenset[IndexPermission] = frozenset()
    tenant_permissions: frozenset[TenantPermission] = frozenset()
    description: str | None = None

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "cluster_permissions": sorted(self.cluster_permissions),
            "index_permissions": [
                p.to_wire() for p in sorted(self.index_permissions, key=IndexPermission.sort_key)
            ],
            "tenant_permissions": [
                p.to_wire() for p in sorted(self.tenant_permissions, key=TenantPermission.sort_key)
            ],
        }
        if self.description is not None:
            body["description"] = self.description
        return body

    def actions(self) -> frozenset[str]:
        """Every action or action group the role names, wherever it names it."""
        found = set(self.cluster_permissions)
        for permission in self.index_permissions:
            found |= permission.allowed_actions
        for tenant in self.tenant_permissions:
            found |= tenant.allowed_actions
        return frozenset(found)

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> RoleDefinition:
        description = body.get("description")
        return cls(
            cluster_permissions=_strings(body.get("cluster_permissions")),
            index_permissions=frozenset(
                IndexPermission.from_wire(p)
                for p in body.get("index_permissions") or []
                if isinstance(p, Mapping)
            ),
            tenant_permissions=frozenset(
                TenantPermission.from_wire(p)
                for p in body.get("tenant_permissions") or []
                if isinstance(p, Mapping)
            ),
            description=description if isinstance(description, str) else None,
        )


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
        kind, description = body.get("type"), body.get("description")
        return cls(
            allowed_actions=_strings(body.get("allowed_actions")),
            type=kind if isinstance(kind, str) else None,
            description=description if isinstance(description, str) else None,
        )


@dataclass(frozen=True)
class Tenant:
    description: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {} if self.description is None else {"description": self.description}

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> Tenant:
        description = body.get("description")
        return cls(description if isinstance(description, str) else None)


Definition = RoleDefinition | ActionGroup | Tenant


def _strings(raw: Any) -> frozenset[str]:
    return frozenset(str(v).strip() for v in raw or [] if isinstance(v, str))


@dataclass(frozen=True)
class Kind:
    """A resource type the security API keeps in its own document."""

    name: str  # as in the file and the plan: roles, action_groups, tenants, mappings
    endpoint: str  # after <prefix>/api/
    label: str  # for people: "role", "action group", "tenant", "mapping"
    model: type[Any]


ROLES = Kind("roles", "roles", "role", RoleDefinition)
ACTION_GROUPS = Kind("action_groups", "actiongroups", "action group", ActionGroup)
TENANTS = Kind("tenants", "tenants", "tenant", Tenant)
# Dependency order when creating: groups before the roles that use them, roles before tenants
# (nothing depends on tenants but roles name them) and before the mappings that name roles.
DEFINITION_KINDS = (ACTION_GROUPS, ROLES, TENANTS)
KINDS_BY_NAME = {k.name: k for k in DEFINITION_KINDS}


@dataclass(frozen=True)
class DesiredDefinition:
    kind: str  # a Kind.name
    name: str
    definition: Definition | None  # None: absent (the definition must not exist)
    location: str = ""  # file:line


@dataclass(frozen=True)
class LiveDefinition:
    definition: Definition
    reserved: bool = False
    hidden: bool = False
    static: bool = False

    @property
    def protected_by_plugin(self) -> str | None:
        for flag in ("static", "reserved", "hidden"):
            if getattr(self, flag):
                return flag
        return None
