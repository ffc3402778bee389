"""The state an access answer is asked of, and the principal as the node would see it.

One place builds the evaluator's input for every answer (explain, can-i, who-can, the access
review, the file's access tests and a plan's access impact): from a cluster read (live), from a
file alone (offline: the plugin's built-in roles and action groups stand in for the cluster's),
or from a read with a plan's changes applied. And one place says who a principal is to the
node: an internal user of the state, an IAM user or role as Amazon presents it, an STS session
as the role behind it (its path from IAM when IAM can be asked), or a user name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from osaccess.access.known import Known
from osaccess.access.permissions import Evaluator, internal_caller
from osaccess.file.arn import ArnKind, classify, role_arn_for_session
from osaccess.file.principals import field_for
from osaccess.kinds.action_groups import ACTION_GROUPS, ActionGroup, builtin_groups
from osaccess.kinds.base import Change
from osaccess.kinds.internal_users import INTERNAL_USERS, InternalUser, users_of
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.mappings import MAPPINGS, RoleMapping, present, sso_refs
from osaccess.kinds.planning import applied
from osaccess.kinds.roles import ROLES, RoleDefinition, builtin_roles
from osaccess.model import LiveState, MappingFile
from osaccess.plugin.matching import Caller

if TYPE_CHECKING:
    from osaccess.aws.iam import Directory
    from osaccess.cluster.security import SecurityApi

# what IAM knows of an account, for the path of an STS session's role (None: IAM not asked)
DirectoryFor = Callable[[str], "Directory | str"]


@dataclass(frozen=True)
class State:
    """Mappings, role definitions and action groups, from a cluster or a file."""

    mappings: Mapping[str, RoleMapping]
    definitions: Mapping[str, RoleDefinition]
    groups: Mapping[str, ActionGroup]
    source: str
    users: Mapping[str, InternalUser] = field(default_factory=dict)
    # alias or data stream -> the indices behind it, read live (None: not known here)
    aliases: Mapping[str, frozenset[str]] | None = None
    known: Known | None = None  # the node's version and its indices, read live

    @functools.cached_property
    def evaluator(self) -> Evaluator:
        return Evaluator(self.mappings, self.definitions, self.groups, self.users)


def offline_state(file: MappingFile) -> State:
    """What a file grants, with the plugin's built-in roles and action groups."""
    defined = {(d.kind, d.name): d.definition for d in file.entries}
    definitions: dict[str, RoleDefinition] = dict(builtin_roles())
    groups: dict[str, ActionGroup] = dict(builtin_groups())
    for (kind, name), definition in defined.items():
        if kind == "roles" and isinstance(definition, RoleDefinition):
            definitions[name] = definition
        elif kind == "action_groups" and isinstance(definition, ActionGroup):
            groups[name] = definition
    unresolved = ", ".join(sorted({ref.label for ref in sso_refs(file.entries)}))
    return State(
        present(file.entries),
        definitions,
        groups,
        f"{file.path} (offline: what the file grants, with the built-in roles and action "
        "groups; shared roles also keep what the cluster holds"
        + (f"; not counted, as only IAM can resolve them: {unresolved}" if unresolved else "")
        + "; internal users: only the file's)",
        {
            name: definition
            for (kind, name), definition in defined.items()
            if kind == INTERNAL_USERS.name and isinstance(definition, InternalUser)
        },
    )


def live_state(live: LiveState, source: str) -> State:
    """A cluster read as an answer's state (each kind's entries as its model)."""
    return State(
        live.models(MAPPINGS.name),
        live.models(ROLES.name),
        live.models(ACTION_GROUPS.name),
        source,
        users_of(live),
    )


def evaluated(state: State) -> Evaluator:
    """The state's evaluator, built once (its caches serve every question about the state)."""
    return state.evaluator


def of_evaluator(evaluator: Evaluator, source: str) -> State:
    return State(
        evaluator.mappings,
        evaluator.definitions,
        evaluator.expander.groups,
        source,
        evaluator.users,
    )


def _evaluator_of(live: LiveState, reuse: Evaluator | None = None) -> Evaluator:
    """The evaluator of a cluster read (``reuse``: see Evaluator)."""
    s = live.models
    return Evaluator(s(MAPPINGS.name), s(ROLES.name), s(ACTION_GROUPS.name), users_of(live), reuse)


def before_and_after(
    live: LiveState, changes: Sequence[Change] = ()
) -> tuple[Evaluator, Evaluator]:
    """The evaluators of a cluster read and of the same read with the changes applied (offline,
    the changes land on the plugin's built-in roles and action groups)."""
    builtins: dict[str, Callable[[], Mapping[str, Any]]] = {
        ROLES.name: builtin_roles,
        ACTION_GROUPS.name: builtin_groups,
    }
    missing = {
        kind: {name: LiveDefinition(model) for name, model in found().items()}
        for kind, found in builtins.items()
        if kind not in live.definitions
    }
    if missing:
        live = replace(live, definitions={**live.definitions, **missing})
    before = _evaluator_of(live)
    return before, _evaluator_of(applied(live, changes), before)


def cluster_facts(api: SecurityApi) -> tuple[Mapping[str, frozenset[str]] | None, Known]:
    """What can-i needs besides the security configuration: aliases and data streams, the
    version and the indices (read only when an answer needs them)."""
    version, indices = api.read_known()
    return api.read_aliases(), Known(version, indices)


# -- the principal as the node sees it --------------------------------------------------------


@dataclass(frozen=True)
class ResolvedPrincipal:
    """The principal as the security plugin would see it, and how we got there."""

    caller: Caller
    described: str
    notes: tuple[str, ...] = ()


def subject_for(
    principal: str, backend_roles: list[str] | None = None, host: str | None = None
) -> ResolvedPrincipal:
    subject = _subject(principal.strip(), frozenset(backend_roles or ()))
    if host is None:
        return subject
    caller = Caller(subject.caller.user_name, subject.caller.backend_roles, host)
    return ResolvedPrincipal(caller, subject.described, subject.notes)


def _subject(principal: str, extra: frozenset[str]) -> ResolvedPrincipal:
    placement = field_for(principal)
    info = placement.info
    if placement.field == "backend_roles":
        return ResolvedPrincipal(
            Caller(principal, frozenset({principal}) | extra),
            "IAM role: Amazon presents it with the role ARN as user name and as its "
            "only backend role",
        )
    if placement.field == "users":
        return ResolvedPrincipal(
            Caller(principal, extra),
            "IAM user: Amazon presents it with the user ARN as user name and no backend roles",
        )
    if info.kind is ArnKind.ASSUMED_ROLE:
        role = role_arn_for_session(info)
        return ResolvedPrincipal(
            Caller(role, frozenset({role}) | extra),
            "IAM role (from an STS session ARN)",
            (
                f"{principal} is an STS session; OpenSearch sees the role behind it, evaluated "
                f"here as {role}. If the role has a path (IAM Identity Center roles do: "
                "role/aws-reserved/sso.amazonaws.com/...), pass the full role ARN instead.",
            ),
        )
    return ResolvedPrincipal(
        Caller(principal, extra), "user name" + (" with the given backend roles" if extra else "")
    )


def internal_subject(
    name: str, user: InternalUser, extra: list[str], host: str | None
) -> ResolvedPrincipal:
    """An internal user, as the cluster (or the file) knows it."""
    caller = internal_caller(name, user, extra, host)
    direct = ", ".join(sorted(user.roles)) or "none"
    return ResolvedPrincipal(
        caller,
        f"internal user: its backend roles from the user database; roles held directly: {direct}",
    )


def principal_in(
    users: Mapping[str, InternalUser],
    principal: str,
    backend_roles: Sequence[str] = (),
    host: str | None = None,
    directory_for: DirectoryFor | None = None,
) -> ResolvedPrincipal:
    """The principal as the node would see it: an internal user of the state (``users``) with
    its backend roles and attributes; else by what the name is, an STS session's role with its
    path from IAM when ``directory_for`` can ask IAM."""
    name = principal.strip()
    user = users.get(name)
    if user is not None:
        return internal_subject(name, user, list(backend_roles), host)
    subject = subject_for(principal, list(backend_roles), host)
    if directory_for is None:
        return subject
    return _session_role_from_iam(subject, name, directory_for, backend_roles, host)


def _session_role_from_iam(
    subject: ResolvedPrincipal,
    principal: str,
    directory_for: DirectoryFor,
    backend_roles: Sequence[str],
    host: str | None,
) -> ResolvedPrincipal:
    """An STS session ARN does not carry its role's path; on AWS, IAM knows it (GetRole)."""
    info = classify(principal)
    if info.kind is not ArnKind.ASSUMED_ROLE or info.account is None or info.name is None:
        return subject
    directory = directory_for(info.account)
    if isinstance(directory, str):
        return subject
    role = directory.find("role", info.name)
    if role is None:
        return subject
    exact = subject_for(role, [*backend_roles], host)
    note = (
        f"{principal} is an STS session of {role} (the role's path comes from IAM); "
        "OpenSearch sees that role"
    )
    return ResolvedPrincipal(exact.caller, "IAM role (from an STS session ARN)", (note,))
