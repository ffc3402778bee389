"""Do the IAM principals a mapping names exist, as OpenSearch will see them?

A mapping value that is an IAM user or role ARN matches only if the principal exists under exactly
that ARN: path and case included. This module checks each ARN against IAM (read-only: GetRole,
GetUser, ListRoles, ListUsers) in the accounts the credentials can read; an ARN in any other
account is "not checked", never an error. When the name exists under another path or in another
case, the finding gives the exact ARN to use.

The checking is pure over a :class:`Directory` per account; :func:`aws_directories` makes them
from boto3 (through :mod:`osaccess.aws`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from osaccess.arn import ArnKind, classify
from osaccess.matching import pattern_kind
from osaccess.model import RoleMapping

Status = Literal["exists", "missing", "not checked"]


class Directory(Protocol):
    """The IAM principals of one account."""

    def find(self, kind: str, name: str) -> str | None:
        """The ARN of the role or user with exactly this name, or None."""

    def arns(self, kind: str) -> list[str]:
        """Every role or user ARN of the account."""


@dataclass(frozen=True)
class Finding:
    arn: str
    status: Status
    message: str
    use: str | None = None  # the exact ARN to write instead

    def text(self) -> str:
        return self.message + (f"; use {self.use}" if self.use else "")


def check(arn: str, directory_for: Callable[[str], Directory | str]) -> Finding | None:
    """The finding for one value, or None when it is not an IAM user or role ARN (or is a
    wildcard or regex pattern, which names no single principal). ``directory_for`` gives an
    account's directory, or why that account cannot be read."""
    info = classify(arn)
    if info.kind not in (ArnKind.IAM_USER, ArnKind.IAM_ROLE) or pattern_kind(arn) != "exact":
        return None
    kind = "role" if info.kind is ArnKind.IAM_ROLE else "user"
    assert info.account is not None and info.name is not None
    directory = directory_for(info.account)
    if isinstance(directory, str):
        return Finding(arn, "not checked", f"{arn}: not checked ({directory})")
    found = directory.find(kind, info.name)
    if found == arn:
        return Finding(arn, "exists", f"{arn}: the {kind} exists")
    if found is not None:
        return Finding(
            arn,
            "missing",
            f"{arn}: no such {kind}; a {kind} named {info.name} exists under another path",
            use=found,
        )
    same = [a for a in directory.arns(kind) if a.rsplit("/", 1)[-1].lower() == info.name.lower()]
    if len(same) == 1:
        return Finding(
            arn, "missing", f"{arn}: no such {kind}; the name differs in case", use=same[0]
        )
    return Finding(arn, "missing", f"{arn}: no such {kind} in account {info.account}")


def values_of(mappings: Iterable[RoleMapping]) -> set[str]:
    fields = ("users", "backend_roles", "and_backend_roles")
    return {value for mapping in mappings for f in fields for value in mapping.values(f)}


def plan_warnings(
    file_mappings: Iterable[RoleMapping],
    live_mappings: dict[str, RoleMapping],
    directory_for: Callable[[str], Directory | str],
) -> list[str]:
    """What a plan says about IAM: principals of the file that do not exist (with the ARN to use),
    and mappings on the cluster that name principals that no longer exist (orphans)."""
    wanted = values_of(file_mappings)
    lines = [f"IAM: {f.text()}" for f in check_all(wanted, directory_for) if f.status == "missing"]
    for role, mapping in sorted(live_mappings.items()):
        for finding in check_all(values_of([mapping]) - wanted, directory_for):
            if finding.status == "missing":
                lines.append(
                    f"IAM: the mapping of {role!r} on the cluster names {finding.text()} "
                    "(an orphan)"
                )
    return lines


def check_all(
    arns: Iterable[str], directory_for: Callable[[str], Directory | str]
) -> list[Finding]:
    findings = [check(arn, directory_for) for arn in sorted(set(arns))]
    return [f for f in findings if f is not None]


class BotoDirectory:
    """A :class:`Directory` over an IAM client; read-only calls, cached."""

    def __init__(self, client: object) -> None:
        self.client = client
        self._all: dict[str, list[str]] = {}

    def find(self, kind: str, name: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            if kind == "role":
                return str(self.client.get_role(RoleName=name)["Role"]["Arn"])  # type: ignore[attr-defined]
            return str(self.client.get_user(UserName=name)["User"]["Arn"])  # type: ignore[attr-defined]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return None
            raise

    def arns(self, kind: str) -> list[str]:
        if kind not in self._all:
            operation, key = ("list_roles", "Roles") if kind == "role" else ("list_users", "Users")
            pages = self.client.get_paginator(operation).paginate()  # type: ignore[attr-defined]
            self._all[kind] = [item["Arn"] for page in pages for item in page[key]]
        return self._all[kind]


def aws_directories(
    identity: object, lookup_roles: dict[str, str] | None = None
) -> Callable[[str], Directory | str]:
    """Directories for the caller's own account and for each account with a lookup role
    (``iam_lookup_roles``); other accounts are "not checked"."""
    from osaccess.aws import AwsIdentity

    assert isinstance(identity, AwsIdentity)
    cache: dict[str, Directory | str] = {}
    own: list[str] = []

    def caller_account() -> str:
        if not own:
            own.append(
                identity.account or str(identity.client("sts").get_caller_identity()["Account"])
            )
        return own[0]

    def directory_for(account: str) -> Directory | str:
        if account in cache:
            return cache[account]
        try:
            if account == caller_account():
                found: Directory | str = BotoDirectory(identity.client("iam"))
            elif lookup_roles and account in lookup_roles:
                credentials = identity.assume(lookup_roles[account], "osaccess-iam-lookup")
                found = BotoDirectory(identity.client("iam", credentials))
            else:
                found = (
                    f"the credentials belong to account {caller_account()}; add an "
                    f"iam_lookup_roles entry for {account} to check it"
                )
            if isinstance(found, BotoDirectory):
                found.arns("role")  # fails now, rather than mid-check, without IAM read access
        except Exception as exc:  # any failure makes the account "not checked"
            found = f"cannot read IAM in account {account}: {type(exc).__name__}"
        cache[account] = found
        return found

    return directory_for
