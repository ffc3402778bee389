"""osaccess as a library: load, plan, apply and explain from other programs (a Lambda, a
notebook, another CLI). The command line is a thin layer over these functions; they return the
same model objects it renders. Documented in docs/python-api.md.

    import osaccess.api as osaccess
    file = osaccess.load("mappings/logs.yaml")
    result = osaccess.plan(file)
    if not result.plan.empty:
        osaccess.apply(file)

Every function raises :class:`osaccess.errors.OsaccessError` subclasses (see that module's
docstring for the tree); none prints anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osaccess import errors
from osaccess.access import cani, review, whocan
from osaccess.access.explain import Explanation, holders
from osaccess.access.explain import explain as explain_subject
from osaccess.access.state import (
    ResolvedPrincipal,
    State,
    evaluated,
    offline_state,
    principal_in,
)
from osaccess.aws.domainpolicy import Verdict
from osaccess.cluster.clients import (
    Overrides,
    cluster_account,
    connect,
    domain_access,
    iam_directories,
    iam_lookup,
)
from osaccess.cluster.security import SecurityApi
from osaccess.file.importer import includes, render_import
from osaccess.file.loader import load as _load_result
from osaccess.file.principals import one_iam_principal
from osaccess.kinds.mappings import MAPPINGS, present
from osaccess.model import ClusterSpec, LiveState, MappingFile
from osaccess.plugin.matching import Caller
from osaccess.run.answer_state import state_for
from osaccess.run.orchestrator import apply_files, apply_reviewed, plan_files
from osaccess.run.pipeline import Outcome

if TYPE_CHECKING:
    from osaccess.access.assertions import Report
    from osaccess.aws.iam import Finding

__all__ = [
    "IamCheck",
    "Outcome",
    "Overrides",
    "WhoAmI",
    "access_review",
    "apply",
    "apply_plan_file",
    "check_iam",
    "connect",
    "explain",
    "import_file",
    "load",
    "plan",
    "read_live",
    "role_holders",
    "test_offline",
    "whoami",
]


def load(path: str | Path) -> MappingFile:
    """Load and validate a mapping file; raise ConfigError listing every problem."""
    result = _load_result(str(path))
    if result.file is None:
        raise errors.ConfigError(
            f"{path}: {len(result.errors)} error(s)",
            hint="\n".join(p.render() for p in result.errors),
        )
    return result.file


def _one(outcomes: list[Outcome]) -> Outcome:
    (outcome,) = outcomes
    if outcome.error is not None:
        raise outcome.error
    return outcome


def plan(file: MappingFile, overrides: Overrides | None = None) -> Outcome:
    """What apply would change (``.plan``) and what it would refuse (``.context.refusals``).
    Read-only."""
    return _one(plan_files([file], overrides or Overrides(), parallel=1))


def apply(
    file: MappingFile,
    overrides: Overrides | None = None,
    *,
    force: bool = False,
    audit_log: Path | None = None,
) -> Outcome:
    """Plan, check the guards, write in one PATCH and verify; raise Refused when a guard says
    no (``force`` lifts the removal threshold and deletion guards only)."""
    return _one(apply_files([file], overrides or Overrides(), force=force, audit_log=audit_log))


def apply_plan_file(
    path: Path, overrides: Overrides | None = None, *, force: bool = False
) -> list[Outcome]:
    """Apply a reviewed plan file (from ``plan --out``) exactly."""
    outcomes = apply_reviewed(path, [], overrides or Overrides(), force=force)
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    return outcomes


def _cluster(cluster: MappingFile | ClusterSpec | None) -> ClusterSpec | None:
    return cluster.cluster if isinstance(cluster, MappingFile) else cluster


def read_live(
    cluster: MappingFile | ClusterSpec | None,
    overrides: Overrides | None = None,
    *,
    client: SecurityApi | None = None,
) -> LiveState:
    """Everything a cluster holds of every kind. ``client`` reuses a connection."""
    if client is not None:
        return client.read_state()
    with connect(_cluster(cluster), overrides or Overrides()) as api:
        return api.read_state()


def import_file(
    cluster: MappingFile | ClusterSpec | None,
    overrides: Overrides | None = None,
    *,
    include: Sequence[str] = ("mappings",),
) -> str:
    """A mapping file's text holding what the cluster holds (plan of it shows no changes):
    ``include``: any kind's ``include`` name (:func:`osaccess.file.importer.includes`)."""
    unknown = sorted(set(include) - set(includes()))
    if unknown:
        raise errors.ConfigError(
            f"import cannot include {', '.join(unknown)}",
            hint=f"choose from {', '.join(includes())}",
        )
    with connect(_cluster(cluster), overrides := overrides or Overrides()) as api:
        live = api.read_state()
        named = _sso_entries(live, _cluster(cluster), overrides)
        return render_import(
            live, api.cluster, source=api.endpoint, include=tuple(include), sso_entries=named
        )


def _sso_entries(
    live: LiveState, spec: ClusterSpec | None, overrides: Overrides
) -> dict[str, dict[str, str]]:
    """The IAM Identity Center roles of the mappings that import writes as ``sso:`` entries (AWS
    only; when IAM cannot be read, every role stays an ARN)."""
    from osaccess.aws.iam import sso_entries

    directories = iam_directories(spec, overrides)
    if directories is None:
        return {}
    arns = [arn for mapping in live.models(MAPPINGS.name).values() for arn in mapping.backend_roles]
    try:
        return sso_entries(arns, directories, cluster_account(spec, directories))
    except Exception:  # IAM cannot say: keep the ARNs
        return {}


def explain(
    principal: str,
    cluster: MappingFile | ClusterSpec | None = None,
    overrides: Overrides | None = None,
    *,
    backend_roles: Sequence[str] = (),
    host: str | None = None,
    offline: bool = False,
    plan: Path | None = None,
) -> Explanation:
    """Which mappings match a principal, its roles, and what they allow (with the role and the
    action groups behind each grant): live, or with ``offline`` from the file alone."""
    state = state_for(cluster, overrides, offline, plan)
    subject = _principal(state, principal, cluster, overrides, backend_roles, host, offline)
    found = explain_subject(subject, state.mappings, state.definitions, state.groups, state.source)
    if offline or not one_iam_principal(subject.caller.user_name):
        return found
    domain = domain_access(_cluster(cluster), overrides or Overrides())
    if domain is None:  # not on Amazon OpenSearch Service
        return found
    who = subject.caller.user_name
    if isinstance(domain, str):
        return replace(found, domain=Verdict(who, "not checked", domain))
    verdicts = domain.verdicts([who])
    return replace(found, domain=verdicts[0]) if verdicts else found


def can_i(
    principal: str,
    action: str,
    index: str | None = None,
    cluster: MappingFile | ClusterSpec | None = None,
    overrides: Overrides | None = None,
    *,
    backend_roles: Sequence[str] = (),
    attributes: Mapping[str, str] | None = None,
    host: str | None = None,
    offline: bool = False,
    plan: Path | None = None,
) -> cani.Answer:
    """May the principal do it? ``action`` is an action name or a REST form ("GET /x/_search");
    checked before anything is read. An internal user of the state is taken as the state knows
    it; ``attributes`` are added (or, for anyone else, are the attributes)."""
    request = cani.request_for(action, index)
    state = state_for(cluster, overrides, offline, plan)
    subject = _principal(state, principal, cluster, overrides, backend_roles, host, offline)
    return can_i_in(state, subject.caller, request, attributes)


def can_i_in(
    state: State,
    caller: Caller,
    request: cani.Request,
    attributes: Mapping[str, str] | None = None,
) -> cani.Answer:
    """can-i's answer over a state already read: the caller as the state knows it (an internal
    user's backend roles and attributes), ``attributes`` added."""
    evaluator = evaluated(state)
    found = evaluator.resolve(caller)
    if found is None:  # an internal user the state does not hold: it cannot log in
        found = replace(caller, internal=False)
    merged = {**dict(found.attributes), **(attributes or {})}
    found = replace(found, attributes=tuple(sorted(merged.items())))
    answer = cani.can_i(evaluator.of(found), found, request, state.aliases, state.known)
    answer = replace(answer, held=held_by(state, found))
    if answer.allowed or found.host is not None:
        return answer
    # hosts mappings match the address a request comes from, which only the node sees
    by_host = sorted(r for r, m in state.mappings.items() if m.hosts)
    if by_host:
        wider = evaluator.for_roles(evaluator.roles(found) | set(by_host))
        if cani.can_i(wider, found, request, state.aliases, state.known).allowed:
            what = (
                f"the host the request comes from: {', '.join(by_host)} map hosts, and would "
                "let it through (give --host ADDRESS)"
            )
            return replace(answer, also=(*answer.also, what))
    return answer


def who_can(
    action: str,
    index: str | None = None,
    cluster: MappingFile | ClusterSpec | None = None,
    overrides: Overrides | None = None,
    *,
    offline: bool = False,
    plan: Path | None = None,
) -> whocan.WhoCan:
    """Every principal the state knows that may do ``action`` (on ``index``): an action name, a
    REST form, a pattern or an action group (any of its actions); ``index`` may be a pattern."""
    if ":" in action or " " in action:  # an action group is known only to the state
        cani.request_for(action, index, loose=True)  # a bad ACTION is refused before reading
    state = state_for(cluster, overrides, offline, plan)
    return whocan.who_can(evaluated(state), action, index, source=state.source)


def held_by(state: State, caller: Caller) -> tuple[tuple[str, str], ...]:
    """How the caller holds each of its roles, as explain says it: the mapping entry that
    matched it, or held directly."""
    from osaccess.plugin.matching import DIRECT, roles_of

    found = []
    for role, matches in sorted(roles_of(state.mappings, caller).items()):
        how = [
            "held directly"
            if m.field == DIRECT
            else f"mapped through {m.field} {m.pattern!r} (matches {m.matched!r})"
            for m in matches
        ]
        found.append((role, "; ".join(how)))
    return tuple(found)


def _principal(
    state: State,
    principal: str,
    cluster: MappingFile | ClusterSpec | None,
    overrides: Overrides | None,
    backend_roles: Sequence[str],
    host: str | None,
    offline: bool,
) -> ResolvedPrincipal:
    """The principal as the node would see it (access/state), IAM asked only live, and only
    when the principal needs it (an STS session's role path)."""
    lookup = None if offline else iam_lookup(_cluster(cluster), overrides or Overrides())
    return principal_in(state.users, principal, backend_roles, host, lookup)


def role_holders(
    role: str,
    cluster: MappingFile | ClusterSpec | None = None,
    overrides: Overrides | None = None,
    *,
    offline: bool = False,
    plan: Path | None = None,
) -> dict[str, Any]:
    """Who holds a role through its mapping, entry by entry."""
    state = state_for(cluster, overrides, offline, plan)
    data = holders(role, state.mappings.get(role), state.users)
    data["source"] = state.source
    return data


def access_review(
    cluster: MappingFile | ClusterSpec | None = None,
    overrides: Overrides | None = None,
    *,
    offline: bool = False,
    plan: Path | None = None,
) -> tuple[list[review.Entry], str]:
    """Every principal known to the cluster (or, ``offline``, to the file) with its roles and
    effective permissions; and where that came from."""
    state = state_for(cluster, overrides, offline, plan)
    entries = review.review(state.mappings, state.definitions, state.groups, state.users)
    return entries, state.source


OFFLINE = "offline: the file with the built-in roles and action groups"


def test_offline(files: Sequence[MappingFile]) -> list[Report]:
    """Each file's access tests against the file alone (the plugin's built-in roles and action
    groups standing in for the cluster's): a report per file that has tests, in order."""
    from osaccess.access.assertions import run

    return [
        run(file.tests, evaluated(offline_state(file)), file.path, OFFLINE)
        for file in files
        if file.tests
    ]


@dataclass(frozen=True)
class IamCheck:
    """What IAM says of the principals one file names (validate --iam)."""

    path: str
    checked: bool  # False: the cluster's auth is not aws, IAM was not asked
    names: Mapping[str, str]  # sso: entries resolved: role ARN -> what the file called it
    problems: tuple[str, ...]  # sso: entries that resolve to no role
    findings: tuple[Finding, ...]  # one per IAM user and role ARN

    @property
    def missing(self) -> int:
        return len(self.problems) + sum(1 for f in self.findings if f.status == "missing")

    @property
    def existing(self) -> int:
        return sum(1 for f in self.findings if f.status == "exists")


def check_iam(files: Sequence[MappingFile], overrides: Overrides | None = None) -> list[IamCheck]:
    """Ask IAM (read-only) whether every IAM user and role ARN each file names exists exactly,
    after resolving its ``sso:`` entries; one result per file, in order."""
    from osaccess.aws.iam import check_all, values_of
    from osaccess.cluster.clients import resolve_sso_entries

    overrides = overrides or Overrides()
    results = []
    for file in files:
        directory_for = iam_directories(file.cluster, overrides)
        if directory_for is None:
            results.append(IamCheck(file.path, False, {}, (), ()))
            continue
        problems: tuple[str, ...] = ()
        try:
            file, names = resolve_sso_entries(file, overrides)
        except errors.PlanError as exc:
            problems, names = tuple(exc.problems), {}
        findings = check_all(values_of(present(file.entries).values()), directory_for)
        results.append(IamCheck(file.path, True, dict(names), problems, tuple(findings)))
    return results


@dataclass(frozen=True)
class WhoAmI:
    user_name: str
    backend_roles: tuple[str, ...]
    roles: tuple[str, ...]
    endpoint: str
    api_prefix: str | None
    refusal: errors.ClusterError | None  # why role mappings may not be changed (None: they may)


def whoami(cluster: MappingFile | ClusterSpec | None, overrides: Overrides | None = None) -> WhoAmI:
    """Who the credentials are to OpenSearch, and whether they may change role mappings
    (probed without writing)."""
    with connect(_cluster(cluster), overrides or Overrides()) as api:
        info = api.authinfo()
        refusal: errors.ClusterError | None
        try:
            api.read_definitions(MAPPINGS)  # finds the prefix
            refusal = api.write_refusal(MAPPINGS)
        except errors.ClusterError as exc:
            refusal = exc
        return WhoAmI(
            user_name=str(info.get("user_name")),
            backend_roles=tuple(map(str, info.get("backend_roles") or [])),
            roles=tuple(sorted(map(str, info.get("roles") or []))),
            endpoint=api.endpoint,
            api_prefix=api.prefix,
            refusal=refusal,
        )
