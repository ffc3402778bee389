"""Who each sandbox principal is to OpenSearch, asked through the IAM gateway (signed authinfo)."""

from __future__ import annotations

from dataclasses import dataclass

from osaccess.sandbox.principals import PrincipalTable
from osaccess.transport import ClusterAuth, Transport


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


def identify(gateway_url: str, ca_certs: str, profile: str, arn: str) -> Identity:
    transport = Transport(gateway_url, ClusterAuth(kind="aws", profile=profile), ca_certs=ca_certs)
    try:
        response = transport.request("GET", "_plugins/_security/authinfo")
        if response.status != 200:
            raise transport.error_for(response, "GET", "_plugins/_security/authinfo")
        info = response.json()
    finally:
        transport.close()
    return Identity(
        profile=profile,
        arn=arn,
        user_name=str(info["user_name"]),
        backend_roles=tuple(sorted(info.get("backend_roles", []))),
        roles=tuple(sorted(info.get("roles", []))),
    )
