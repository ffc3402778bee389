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
class DesiredRole:
    name: str
    mapping: RoleMapping
    ownership: Ownership = Ownership.EXCLUSIVE
    absent: bool = False  # the mapping must not exist (exclusive only)
    location: str = ""  # file:line where the role is declared


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


def pointer(name: str) -> str:
    """A JSON Pointer to a top-level member (RFC 6901 escaping)."""
    return "/" + name.replace("~", "~0").replace("/", "~1")
