"""Who each sandbox principal is to OpenSearch, asked through the IAM gateway (signed authinfo)."""

from __future__ import annotations

from dataclasses import dataclass

from osaccess.cluster.clients import Overrides, connect
from osaccess.model import ClusterSpec
from sandbox.principals import PrincipalTable


@dataclass(frozen=True)
class Identity:
    profile: str
    arn: str
    user_name: str
    backend_roles: tuple[str, ...]
    roles: tuple[str, ...]


def sandbox_profiles(table: PrincipalTable) -> list[tuple[str, str]]:
    """(profile, ARN) for every principal's own key, then every assumed-role profile."""
    own = [(f"sandbox-{p.name}", p.arn) for p in table.principals]
    assumed = [(f"sandbox-assumed-{p.name}", p.arn) for p in table.principals if p.kind == "role"]
    return own + assumed


def identities(table: PrincipalTable, gateway_url: str, ca_certs: str) -> list[Identity]:
    """Who every sandbox profile is to OpenSearch, in :func:`sandbox_profiles` order."""
    return [
        identify(gateway_url, ca_certs, profile, arn) for profile, arn in sandbox_profiles(table)
    ]


def identify(gateway_url: str, ca_certs: str, profile: str, arn: str) -> Identity:
    spec = ClusterSpec(gateway_url, auth="aws", ca_certs=ca_certs)
    with connect(spec, Overrides(profile=profile)) as api:
        info = api.authinfo()
    return Identity(
        profile=profile,
        arn=arn,
        user_name=str(info["user_name"]),
        backend_roles=tuple(sorted(info.get("backend_roles", []))),
        roles=tuple(sorted(info.get("roles", []))),
    )
