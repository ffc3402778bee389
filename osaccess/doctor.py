"""`osaccess doctor`: check, in order, everything apply needs, with a verdict and advice each.

reachability -> TLS -> authentication -> API prefix and version -> read mappings ->
write mappings (probed without writing) -> every role of the file exists -> (on Amazon) the IAM
principals exist -> the domain's access policy lets the mapped principals in
-> (opt-in, --check-passwords) each internal user of the file logs in with its source's password
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from osaccess import errors, kinds
from osaccess.aws.domainpolicy import Domain, PolicyError, stale_principals
from osaccess.aws.iam import Directory, plan_warnings, values_of
from osaccess.cluster import compat
from osaccess.cluster.clients import (
    Overrides,
    aws_identity,
    connect,
    domain_access,
    iam_directories,
    resolve_sso_entries,
)
from osaccess.cluster.security import PREFIXES, SecurityApi
from osaccess.kinds.base import Kind
from osaccess.kinds.mappings import MAPPINGS, RoleMapping, present
from osaccess.kinds.roles import ROLES
from osaccess.model import MappingFile


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    advice: str | None = None

    def render(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"[{mark}] {self.name}: {self.detail}"
        return text + (f"\n       advice: {self.advice}" if self.advice and not self.ok else "")


def diagnose(file: MappingFile, overrides: Overrides) -> tuple[str, list[Check]]:
    """Connect to the file's cluster and run every check; the endpoint and the checks."""
    with connect(file.cluster, overrides) as api:
        try:
            directory_for = iam_directories(file.cluster, overrides)
        except errors.OsaccessError:
            directory_for = None
        unresolved = None
        if directory_for is not None:
            try:  # sso: entries name roles only IAM knows
                file, _ = resolve_sso_entries(file, overrides)
            except errors.OsaccessError as exc:
                unresolved = exc
        domain = domain_access(file.cluster, overrides)
        checks = run_checks(
            api, file, directory_for=directory_for, domain=domain, unresolved=unresolved
        )
        return api.endpoint, list(checks)


def run_checks(
    api: SecurityApi,
    file: MappingFile,
    connect_timeout: float = 5.0,
    directory_for: Callable[[str], Directory | str] | None = None,
    domain: Domain | str | None = None,
    unresolved: errors.OsaccessError | None = None,
) -> Iterator[Check]:
    """Yield checks in order; stop at the first failure that makes the rest meaningless."""
    parts = urlsplit(api.endpoint)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=connect_timeout).close()
    except OSError as exc:
        yield Check(
            "reachable",
            False,
            f"cannot open {host}:{port}: {exc.strerror or exc}",
            "check the endpoint, DNS, and the network path (VPC, security groups, VPN)",
        )
        return
    yield Check("reachable", True, f"{host}:{port} accepts connections")

    def attempt(name: str, action: Callable[[], str], good_advice: str | None = None) -> Check:
        try:
            return Check(name, True, action())
        except errors.OsaccessError as exc:
            return Check(name, False, _detail(exc), exc.hint or good_advice)

    tls = "TLS verified" if parts.scheme == "https" else "plain HTTP, no TLS"
    try:
        info: dict[str, Any] = api.authinfo()
    except errors.TLSFailed as exc:
        yield Check("TLS", False, exc.message, exc.hint)
        return
    except errors.ClusterError as exc:
        yield Check("TLS", parts.scheme == "https", tls)
        yield Check("authentication", False, exc.message, exc.hint)
        return
    yield Check("TLS", True, tls)
    roles = ", ".join(sorted(map(str, info.get("roles") or []))) or "none"
    backend = ", ".join(map(str, info.get("backend_roles") or [])) or "none"
    yield Check(
        "authentication",
        True,
        f"authenticated as {info.get('user_name')} (backend roles: {backend}; roles: {roles})",
    )

    def version() -> str:
        about = api.info()
        release: dict[str, Any] = about.get("version") or {}
        number = str(release.get("number", "?"))
        distribution = str(release.get("distribution", "elasticsearch"))
        found = f"{distribution} {number} ({era(distribution, number)})"
        if distribution != "opensearch":
            return found
        notes = [f"{d.behaviour}; {d.handling}" for d in compat.applicable(number)]
        return found + "".join(f"\n       known: {note}" for note in notes)

    check = attempt("version", version)
    if not check.ok:
        # Not a blocker: callers without cluster:monitor/main may not read GET /.
        check = Check("version", True, f"not visible to this caller ({check.detail})")
    yield check

    live: dict[str, RoleMapping] = {}  # read once here, used by the IAM and domain checks

    def read() -> str:
        # the mappings, read first: they find the prefix, and the IAM checks use them
        found = api.read_definitions(MAPPINGS)
        live.update((n, e.definition) for n, e in found.items())
        legacy = " (legacy prefix)" if api.prefix == PREFIXES[1] else ""
        return f"GET {api.prefix}/api/{MAPPINGS.endpoint} allowed{legacy}: {len(live)} mapping(s)"

    check = attempt("read role mappings", read)
    yield check
    if not check.ok:
        return

    # every kind the file names: may the caller write it?
    for kind in kinds.registered():
        if file.of(kind.name):
            yield attempt(f"write {kind.plural}", functools.partial(_write_probe, api, kind))

    def roles_exist() -> str:
        existing = api.read_roles() | {
            d.name for d in file.of(ROLES.name) if d.definition is not None
        }
        wanted = present(file.entries)
        missing = sorted(name for name in wanted if name not in existing)
        if missing:
            raise errors.PlanError(
                f"missing on the cluster: {', '.join(missing)}",
                [],
                hint="create the roles first, or fix their names in the file",
            )
        return f"all {len(wanted)} role(s) of {file.path} exist"

    yield attempt("roles of the file", roles_exist)
    if unresolved is not None:
        yield Check("IAM principals", False, _detail(unresolved), unresolved.hint)
    elif directory_for is not None:
        yield attempt("IAM principals", lambda: _principals_exist(live, file, directory_for))
    if domain is not None:
        yield _domain_policy(live, file, domain)


def diagnose_files(
    files: Sequence[MappingFile],
    overrides: Overrides,
    *,
    check_passwords: bool = False,
    login_endpoint: str | None = None,
) -> list[tuple[MappingFile, str, list[Check]]]:
    """:func:`diagnose` for every file (and, when asked, :func:`password_checks`): the file, its
    endpoint and its checks, in order."""
    found = []
    for file in files:
        endpoint, checks = diagnose(file, overrides)
        if check_passwords:
            checks += list(password_checks(file, overrides, login_endpoint))
        found.append((file, endpoint, checks))
    return found


def password_checks(
    file: MappingFile, overrides: Overrides, login_endpoint: str | None = None
) -> Iterator[Check]:
    """Opt-in: each internal user of the file whose password comes from a source logs in with
    it (one authinfo call as that user, basic auth, at ``login_endpoint`` or the cluster's).
    The password is read as apply reads it and never shown."""
    from osaccess.kinds.internal_users import INTERNAL_USERS, InternalUser
    from osaccess.run import secrets

    sources = secrets.sources_for(
        file.path, functools.partial(aws_identity, file.cluster, overrides)
    )
    try:
        file = secrets.resolve_file(file, sources)
    except errors.OsaccessError as exc:
        yield Check("passwords", False, _detail(exc), exc.hint)
        return
    users = [
        d
        for d in file.of(INTERNAL_USERS.name)
        if d.definition is not None and d.definition.secret is not None
    ]
    if not users:
        yield Check("passwords", True, "the file names no password source")
    for wanted in users:
        user = wanted.definition
        assert isinstance(user, InternalUser) and user.password and user.secret is not None
        name = f"password of {wanted.name}"
        if user.password.hash:
            yield Check(
                name, True, f"a hash ({user.password.text()}): not something to log in with"
            )
            continue
        login = replace(
            overrides,
            endpoint=login_endpoint or overrides.endpoint,
            auth="basic",
            username=wanted.name,
            password=user.secret.reveal(),
        )
        try:
            with connect(file.cluster, login) as api:
                info = api.authinfo()
        except errors.OsaccessError as exc:
            yield Check(
                name,
                False,
                f"the {user.password.text()} does not log in as {wanted.name}: {exc.message}",
                "osaccess plan shows whether apply would send it; on an endpoint that takes "
                "only SigV4, give --login-endpoint",
            )
            continue
        roles = ", ".join(sorted(map(str, info.get("roles") or []))) or "none"
        yield Check(name, True, f"the {user.password.text()} logs in (roles: {roles})")


def _write_probe(api: SecurityApi, kind: Kind) -> str:
    refusal = api.write_refusal(kind)
    if refusal is not None:
        raise refusal
    return f"PATCH {kind.endpoint} allowed (probed with an empty patch; nothing written)"


def _detail(exc: errors.OsaccessError) -> str:
    """The message, and each problem of a PlanError on a line of its own."""
    problems = getattr(exc, "problems", [])
    return exc.message + "".join(f"\n       - {p}" for p in problems)


def _domain_policy(live: dict[str, RoleMapping], file: MappingFile, domain: Domain | str) -> Check:
    """Does the domain's access policy let each mapped IAM principal in (before FGAC)?"""
    name = "domain access policy"
    if isinstance(domain, str):
        return Check(name, True, f"not checked: {domain}")
    mapped = values_of([*live.values(), *present(file.entries).values()])
    try:
        verdicts = domain.verdicts(mapped)
    except PolicyError as exc:
        return Check(name, False, str(exc))
    refused = [v for v in verdicts if v.refused]
    unsure = [v for v in verdicts if not v.refused and v.status != "allowed"]
    lines = [f"\n       refused: {v.text()}" for v in refused]
    lines += [f"\n       {v.text()}" for v in unsure]
    lines += [
        f"\n       the policy names {p}, the id of a deleted IAM role or user: a principal "
        "re-created under the same name does not match it; name the ARN again"
        for p in stale_principals(domain.policy)
    ]
    summary = (
        f"{len(verdicts) - len(refused) - len(unsure)} of {len(verdicts)} mapped IAM "
        f"principal(s) allowed by the policy of domain {domain.name}"
    )
    if refused:
        return Check(
            name,
            False,
            summary + "".join(lines),
            "allow these principals in the domain's access policy, or remove their mappings: "
            "their requests never reach OpenSearch",
        )
    return Check(name, True, summary + "".join(lines))


def _principals_exist(
    live: dict[str, RoleMapping],
    file: MappingFile,
    directory_for: Callable[[str], Directory | str],
) -> str:
    problems = plan_warnings(list(present(file.entries).values()), live, directory_for)
    if problems:
        raise errors.PlanError(
            f"{len(problems)} principal(s) do not exist as written",
            [p.removeprefix("IAM: ") for p in problems],
            hint="use the ARNs given; remove orphans from the cluster's mappings",
        )
    return "every IAM user and role the file and the cluster name exists (where IAM is readable)"


def era(distribution: str, number: str) -> str:
    """Which generation of the security REST API a version has (they answer differently)."""
    try:
        major, minor = (int(part) for part in number.split(".")[:2])
    except ValueError:
        return "unknown version"
    if distribution != "opensearch":
        return "Elasticsearch/OpenDistro: legacy _opendistro API"
    if (major, minor) >= (2, 10):
        return "security REST API of 2.10 and later"
    return "legacy security REST layer (before 2.10)"
