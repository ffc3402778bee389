"""The sandbox's table of IAM principals and their fake credentials (sandbox/principals.yml)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_IAM_ARN = re.compile(
    r"^arn:aws:iam::(?P<account>\d{12}):(?P<kind>user|role)/(?P<path_and_name>.+)$"
)


class PrincipalTableError(ValueError):
    """The principals file is unusable; the message names the file and the entry."""


@dataclass(frozen=True)
class Principal:
    """An IAM user or role that the sandbox knows."""

    name: str
    arn: str
    access_key_id: str
    secret_access_key: str
    denied_actions: frozenset[str] = field(default_factory=frozenset)

    @property
    def kind(self) -> str:
        """``user`` or ``role``."""
        match = _IAM_ARN.match(self.arn)
        assert match is not None  # checked when loaded
        return match["kind"]

    @property
    def account(self) -> str:
        match = _IAM_ARN.match(self.arn)
        assert match is not None
        return match["account"]

    @property
    def backend_roles(self) -> tuple[str, ...]:
        """What Amazon OpenSearch Service passes on as backend roles for this principal."""
        return (self.arn,) if self.kind == "role" else ()


@dataclass(frozen=True)
class SandboxDomain:
    """The domain the local OpenSearch service API describes, with its access policy."""

    name: str
    account: str
    access_policy: str  # JSON


@dataclass(frozen=True)
class PrincipalTable:
    region: str
    principals: tuple[Principal, ...]
    # ARNs that exist in the local IAM without credentials
    iam_only: tuple[str, ...] = ()
    domain: SandboxDomain | None = None
    # demo secrets, in the domain's account: Secrets Manager (name -> string) and SSM
    # Parameter Store SecureStrings (name -> value)
    secrets: tuple[tuple[str, str], ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()

    def by_access_key(self, access_key_id: str) -> Principal | None:
        for principal in self.principals:
            if principal.access_key_id == access_key_id:
                return principal
        return None

    def by_arn(self, arn: str) -> Principal | None:
        for principal in self.principals:
            if principal.arn == arn:
                return principal
        return None

    def by_name(self, name: str) -> Principal:
        for principal in self.principals:
            if principal.name == name:
                return principal
        raise KeyError(name)

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(sorted({p.account for p in self.principals}))


def load_principals(path: Path) -> PrincipalTable:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PrincipalTableError(f"{path}: cannot read the principals table: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("principals"), dict):
        raise PrincipalTableError(f"{path}: expected a mapping with 'region' and 'principals'")
    region = data.get("region")
    if not isinstance(region, str) or not region:
        raise PrincipalTableError(f"{path}: 'region' must be a region name such as eu-west-1")
    principals = []
    for name, entry in data["principals"].items():
        if not isinstance(entry, dict):
            raise PrincipalTableError(f"{path}: principal {name!r} must be a mapping")
        try:
            arn = str(entry["arn"])
            key = str(entry["access_key_id"])
            secret = str(entry["secret_access_key"])
        except KeyError as exc:
            raise PrincipalTableError(f"{path}: principal {name!r} lacks {exc.args[0]!r}") from exc
        if not _IAM_ARN.match(arn):
            raise PrincipalTableError(
                f"{path}: principal {name!r}: {arn!r} is not an IAM user or role ARN"
            )
        denied = entry.get("denied_actions") or []
        principals.append(Principal(str(name), arn, key, secret, frozenset(map(str, denied))))
    iam_only = [str(arn) for arn in data.get("iam_only") or []]
    for arn in iam_only:
        if not _IAM_ARN.match(arn):
            raise PrincipalTableError(f"{path}: iam_only: {arn!r} is not an IAM user or role ARN")
    found: dict[str, tuple[tuple[str, str], ...]] = {}
    for section in ("secrets", "parameters"):
        raw = data.get(section) or {}
        if not isinstance(raw, dict):
            raise PrincipalTableError(f"{path}: {section} must be a mapping of names to values")
        found[section] = tuple(
            (str(k), v if isinstance(v, str) else json.dumps(v, sort_keys=True))
            for k, v in raw.items()
        )
    return PrincipalTable(
        region,
        tuple(principals),
        tuple(iam_only),
        _domain(path, data),
        found["secrets"],
        found["parameters"],
    )


def _domain(path: Path, data: dict[str, Any]) -> SandboxDomain | None:
    raw = data.get("domain")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not {"name", "account", "access_policy"} <= raw.keys():
        raise PrincipalTableError(f"{path}: domain needs name, account and access_policy")
    return SandboxDomain(
        str(raw["name"]), str(raw["account"]), json.dumps(raw["access_policy"], sort_keys=True)
    )
