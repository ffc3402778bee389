"""Do the IAM principals a mapping names exist, as OpenSearch will see them?

A mapping value that is an IAM user or role ARN matches only if the principal exists under exactly
that ARN: path and case included. This module checks each ARN against IAM (read-only: GetRole,
GetUser, ListRoles, ListUsers) in the accounts the credentials can read; an ARN in any other
account is "not checked", never an error. When the name exists under another path or in another
case, the finding gives the exact ARN to use.

IAM Identity Center permission sets named in a file (``sso: AdminAccess``) resolve here too: each
becomes the one role ``aws-reserved/sso.amazonaws.com/[REGION/]AWSReservedSSO_<set>_<suffix>`` of
its account (ListRoles with that path prefix); none or several is an error listing the candidates.

The checking is pure over a :class:`Directory` per account; :func:`aws_directories` makes them
from boto3 (through :mod:`osaccess.aws.session`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, TypeVar

from osaccess import errors
from osaccess.file.arn import ArnKind, classify
from osaccess.file.principals import SsoRef, one_iam_principal
from osaccess.kinds.mappings import RoleMapping, WantedMapping
from osaccess.model import MappingFile

_T = TypeVar("_T")
Status = Literal["exists", "missing", "not checked"]


class Directory(Protocol):
    """The IAM principals of one account."""

    def find(self, kind: str, name: str) -> str | None:
        """The ARN of the role or user with exactly this name, or None."""

    def arns(self, kind: str) -> list[str]:
        """Every role or user ARN of the account."""

    def sso_roles(self) -> list[str]:
        """The ARNs of the account's IAM Identity Center roles (under SSO_PATH)."""

    def expect(self, kind: str, count: int) -> None:
        """``count`` names of this kind are about to be looked up (a directory may then list
        the account's principals once instead of asking for each)."""


class Unavailable(Exception):
    """IAM cannot be read in this account (throttled past botocore's retries, refused, or
    unreachable): its principals are "not checked"."""


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
    if not one_iam_principal(arn):
        return None
    info = classify(arn)
    kind = "role" if info.kind is ArnKind.IAM_ROLE else "user"
    assert info.account is not None and info.name is not None
    directory = directory_for(info.account)
    if isinstance(directory, str):
        return Finding(arn, "not checked", f"{arn}: not checked ({directory})")
    try:
        return _check(arn, kind, info.name, info.account, directory)
    except Unavailable as exc:
        return Finding(arn, "not checked", f"{arn}: not checked ({exc})")


def _check(arn: str, kind: str, name_: str, account: str, directory: Directory) -> Finding:
    found = directory.find(kind, name_)
    if found == arn:
        return Finding(arn, "exists", f"{arn}: the {kind} exists")
    if found is not None:  # IAM finds names whatever their case: say what differs
        name = found.rsplit("/", 1)[-1]
        differs = (
            "under another path"
            if name == name_
            else "with its name in another case"
            if found.lower() == arn.lower()
            else "under another path and with its name in another case"
        )
        return Finding(
            arn,
            "missing",
            f"{arn}: no such {kind}; a {kind} named {name} exists {differs}",
            use=found,
        )
    same = [a for a in directory.arns(kind) if a.rsplit("/", 1)[-1].lower() == name_.lower()]
    if len(same) == 1:
        return Finding(
            arn, "missing", f"{arn}: no such {kind}; the name differs in case", use=same[0]
        )
    return Finding(arn, "missing", f"{arn}: no such {kind} in account {account}")


SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
_SSO_ROLE = re.compile(
    r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/aws-reserved/sso\.amazonaws\.com/"
    r"(?:[a-z0-9-]+/)?AWSReservedSSO_(?P<set>.+)_(?P<suffix>[0-9a-f]+)$"
)


def permission_set_of(arn: str) -> str | None:
    """The permission set of an IAM Identity Center role ARN, or None for any other ARN."""
    match = _SSO_ROLE.match(arn)
    return match["set"] if match else None


def resolve_sso(ref: SsoRef, account: str, directory: Directory | str) -> str:
    """The one role of ``ref``'s permission set in ``account``; ConfigError otherwise, naming
    the file and line and listing the candidates."""
    where = f"{ref.location}: " if ref.location else ""
    if isinstance(directory, str):
        raise errors.ConfigError(
            f"{where}sso: {ref.permission_set}: cannot list the roles of account {account} "
            f"({directory})",
            hint="osaccess needs iam:ListRoles there (cluster.iam_lookup_roles for another "
            "account), or write the role's ARN instead",
        )
    roles = directory.sso_roles()
    found = sorted(arn for arn in roles if permission_set_of(arn) == ref.permission_set)
    if len(found) == 1:
        return found[0]
    if found:
        raise errors.ConfigError(
            f"{where}sso: {ref.permission_set}: {len(found)} IAM Identity Center roles of "
            f"account {account} have this permission set: {', '.join(found)}",
            hint="write the ARN you mean instead of sso:, and delete the stale role if one is",
        )
    sets = sorted({s for s in map(permission_set_of, roles) if s})
    same = [s for s in sets if s.lower() == ref.permission_set.lower()]
    if same:
        hint = f"the name differs in case: write sso: {same[0]}"
    elif sets:
        hint = f"permission sets with a role in account {account}: {', '.join(sets)}"
    else:
        hint = "no permission set is assigned in that account (no role under " + SSO_PATH + ")"
    raise errors.ConfigError(
        f"{where}sso: {ref.permission_set}: no IAM Identity Center role of account {account} "
        "has this permission set",
        hint=hint,
    )


def resolve_file(
    file: MappingFile, directory_for: Callable[[str], Directory | str], default_account: str
) -> tuple[MappingFile, dict[str, str]]:
    """The file with every ``sso:`` entry replaced by its role ARN (a backend role), and what each
    resolved ARN was called in the file. Every entry is tried; the errors come together."""
    names: dict[str, str] = {}
    problems: list[str] = []
    entries = []
    for entry in file.entries:
        role = entry.definition
        if not isinstance(role, WantedMapping) or not role.sso:
            entries.append(entry)
            continue
        arns = set()
        for ref in role.sso:
            account = ref.account or default_account
            try:
                arn = resolve_sso(ref, account, directory_for(account))
            except errors.ConfigError as exc:
                problems.append(exc.message + (f" ({exc.hint})" if exc.hint else ""))
                continue
            arns.add(arn)
            names[arn] = f"sso: {ref.permission_set}"
        mapping = replace(role.mapping, backend_roles=role.mapping.backend_roles | arns)
        entries.append(replace(entry, definition=replace(role, mapping=mapping, sso=())))
    if problems:
        raise errors.PlanError(
            f"{len(problems)} IAM Identity Center permission set(s) do not resolve to one role",
            problems,
            hint="fix the names or accounts, or write the role ARNs",
        )
    return replace(file, entries=tuple(entries)), names


def sso_entries(
    arns: Iterable[str], directory_for: Callable[[str], Directory | str], default_account: str
) -> dict[str, dict[str, str]]:
    """For `import`: the ``sso:`` entry to write for each IAM Identity Center role ARN whose
    permission set resolves back to exactly that ARN (others stay ARNs)."""
    entries: dict[str, dict[str, str]] = {}
    for arn in sorted(set(arns)):
        name = permission_set_of(arn)
        if name is None:
            continue
        account = arn.split(":")[4]
        try:
            if resolve_sso(SsoRef(name), account, directory_for(account)) != arn:
                continue
        except errors.ConfigError:  # none or several: the ARN says what is meant
            continue
        entries[arn] = (
            {"sso": name}
            if account == default_account
            else {
                "sso": name,
                "account": account,
            }
        )
    return entries


def values_of(mappings: Iterable[RoleMapping]) -> set[str]:
    fields = ("users", "backend_roles", "and_backend_roles")
    return {value for mapping in mappings for f in fields for value in mapping.values(f)}


def plan_warnings(
    file_mappings: Iterable[RoleMapping],
    live_mappings: dict[str, RoleMapping],
    directory_for: Callable[[str], Directory | str],
) -> list[str]:
    """What a plan says about IAM: principals of the file that do not exist (with the ARN to use),
    and mappings on the cluster that name principals that no longer exist (orphans). All of them
    are looked up together, so that a large file costs a few listings, not a call each."""
    wanted = values_of(file_mappings)
    others = {role: values_of([mapping]) - wanted for role, mapping in live_mappings.items()}
    findings = {f.arn: f for f in check_all(wanted.union(*others.values()), directory_for)}
    lines = [
        f"IAM: {findings[arn].text()}"
        for arn in sorted(wanted)
        if arn in findings and findings[arn].status == "missing"
    ]
    for role, values in sorted(others.items()):
        for arn in sorted(values):
            finding = findings.get(arn)
            if finding is not None and finding.status == "missing":
                lines.append(
                    f"IAM: the mapping of {role!r} on the cluster names {finding.text()} "
                    "(an orphan)"
                )
    return lines


def check_all(
    arns: Iterable[str], directory_for: Callable[[str], Directory | str]
) -> list[Finding]:
    """The findings for many values. Each account's directory hears first how many users and
    roles will be looked up in it (:meth:`Directory.expect`)."""
    values = sorted(set(arns))
    counts: dict[tuple[str, str], int] = {}
    for value in values:
        if one_iam_principal(value):
            info = classify(value)
            kind = "role" if info.kind is ArnKind.IAM_ROLE else "user"
            key = (str(info.account), kind)
            counts[key] = counts.get(key, 0) + 1
    for (account, kind), count in counts.items():
        directory = directory_for(account)
        if not isinstance(directory, str):
            directory.expect(kind, count)
    findings = [check(arn, directory_for) for arn in values]
    return [f for f in findings if f is not None]


# More names of one kind in one account than this, and the account's users (or roles) are listed
# once, 1,000 per page, instead of one GetUser (GetRole) each: a plan's IAM calls then grow with
# the accounts and pages, not with the file. Fewer, and exact lookups cost less.
LIST_ABOVE = 20
PAGE_SIZE = 1000


class BotoDirectory:
    """A :class:`Directory` over an IAM client; read-only calls, cached. Throttling is retried
    by botocore's own retry mode (:func:`osaccess.aws.retry_config`); a failure that outlasts
    it makes the account unavailable (:class:`Unavailable`) for the rest of the run."""

    def __init__(self, client: object) -> None:
        self.client = client
        self._all: dict[str, list[str]] = {}
        self._listing: set[str] = set()
        self._by_name: dict[str, dict[str, str]] = {}
        self._broken: str | None = None

    def expect(self, kind: str, count: int) -> None:
        if count > LIST_ABOVE:
            self._listing.add(kind)

    def find(self, kind: str, name: str) -> str | None:
        if kind in self._listing:
            # IAM names are unique whatever their case, and GetRole finds them so too
            if kind not in self._by_name:
                self._by_name[kind] = {a.rsplit("/", 1)[-1].lower(): a for a in self.arns(kind)}
            return self._by_name[kind].get(name.lower())
        if kind == "role":
            found = self._call("get_role", "NoSuchEntity", RoleName=name)
            return None if found is None else str(found["Role"]["Arn"])
        found = self._call("get_user", "NoSuchEntity", UserName=name)
        return None if found is None else str(found["User"]["Arn"])

    def arns(self, kind: str) -> list[str]:
        if kind not in self._all:
            operation, key = ("list_roles", "Roles") if kind == "role" else ("list_users", "Users")
            self._all[kind] = [item["Arn"] for item in self._list(operation, key)]
        return self._all[kind]

    def probe(self) -> None:
        """One cheap read (a single role), to learn early whether IAM can be read at all."""
        self.client.list_roles(MaxItems=1)  # type: ignore[attr-defined]

    def sso_roles(self) -> list[str]:
        if "sso" not in self._all:
            roles = self._list("list_roles", "Roles", PathPrefix=SSO_PATH)
            self._all["sso"] = [item["Arn"] for item in roles]
        return self._all["sso"]

    def _list(self, operation: str, key: str, **arguments: str) -> list[dict[str, str]]:
        def pages() -> list[dict[str, str]]:
            paginator = self.client.get_paginator(operation)  # type: ignore[attr-defined]
            config = {"PageSize": PAGE_SIZE}
            found = paginator.paginate(**arguments, PaginationConfig=config)
            return [item for page in found for item in page[key]]

        return self._guarded(pages)

    def _call(self, operation: str, missing: str, **arguments: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        def call() -> dict[str, Any] | None:
            try:
                return dict(getattr(self.client, operation)(**arguments))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == missing:
                    return None
                raise

        return self._guarded(call)

    def _guarded(self, call: Callable[[], _T]) -> _T:
        if self._broken is not None:
            raise Unavailable(self._broken)
        try:
            return call()
        except Exception as exc:  # throttled past the retries, refused, unreachable
            from osaccess.aws.session import describe_failure

            self._broken = f"IAM could not be read: {describe_failure(exc)}"
            raise Unavailable(self._broken) from exc


class AwsDirectories:
    """Directories for the caller's own account and for each account with a lookup role
    (``iam_lookup_roles``); other accounts are "not checked". Call it with an account."""

    def __init__(self, identity: object, lookup_roles: dict[str, str] | None = None) -> None:
        from osaccess.aws.session import AwsIdentity

        assert isinstance(identity, AwsIdentity)
        self.identity = identity
        self.lookup_roles = lookup_roles or {}
        self._cache: dict[str, Directory | str] = {}
        self._own: str | None = None

    def caller_account(self) -> str:
        """The account of the credentials osaccess signs with (after assume_role)."""
        if self._own is None:
            self._own = self.identity.account or str(
                self.identity.client("sts").get_caller_identity()["Account"]
            )
        return self._own

    def __call__(self, account: str) -> Directory | str:
        if account not in self._cache:
            self._cache[account] = self._directory(account)
        return self._cache[account]

    def _directory(self, account: str) -> Directory | str:
        try:
            if account == self.caller_account():
                found = BotoDirectory(self.identity.client("iam"))
            elif account in self.lookup_roles:
                credentials = self.identity.assume(
                    self.lookup_roles[account], "osaccess-iam-lookup"
                )
                found = BotoDirectory(self.identity.client("iam", credentials))
            else:
                return (
                    f"the credentials belong to account {self.caller_account()}; add an "
                    f"iam_lookup_roles entry for {account} to check it"
                )
            found.probe()  # fails now, rather than mid-check, without IAM read access
            return found
        except Exception as exc:  # any failure makes the account "not checked"
            from osaccess.aws.session import describe_failure

            return f"cannot read IAM in account {account}: {describe_failure(exc)}"


def aws_directories(identity: object, lookup_roles: dict[str, str] | None = None) -> AwsDirectories:
    """:class:`AwsDirectories` over an :class:`osaccess.aws.session.AwsIdentity`."""
    return AwsDirectories(identity, lookup_roles)
