"""What a mapping file says, across its kinds: the cluster block, the guards, the entries.

The kinds' own values (a role mapping, a role definition, an action group, ...) live with their
kind, under :mod:`osaccess.kinds`, and so does what a cluster read returned
(:class:`~osaccess.kinds.live.LiveState`, re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from osaccess.file.access_tests import AccessTest
    from osaccess.kinds.base import Desired

from osaccess.file.format import AUTH_KINDS
from osaccess.kinds.live import LiveState

__all__ = ["AUTH_KINDS", "ClusterSpec", "LiveState", "MappingFile", "Safety"]


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
    # every entry the file names, of every kind (role mappings, role definitions, ...)
    entries: tuple[Desired, ...] = field(default_factory=tuple)
    safety: Safety = field(default_factory=Safety)
    tests: tuple[AccessTest, ...] = field(default_factory=tuple)  # the tests: section

    def of(self, kind: str) -> tuple[Desired, ...]:
        """The file's entries of one kind."""
        return tuple(entry for entry in self.entries if entry.kind == kind)
