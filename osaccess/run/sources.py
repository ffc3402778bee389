"""Where an access answer's state comes from: the live cluster, a file alone (offline), the
state a file would produce on its cluster (its plan applied), or the state after a reviewed plan.
`explain`, `can-i`, `who-can`, `access-review` and `osaccess test` all ask one of these.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from osaccess import errors
from osaccess.access.cani import Known
from osaccess.access.permissions import Evaluator
from osaccess.kinds.action_groups import ActionGroup, builtin_groups
from osaccess.kinds.internal_users import INTERNAL_USERS, InternalUser, users_of
from osaccess.kinds.mappings import MAPPINGS, RoleMapping, present, sso_refs
from osaccess.kinds.roles import RoleDefinition, builtin_roles
from osaccess.model import ClusterSpec, LiveState, MappingFile

if TYPE_CHECKING:
    from osaccess.cluster.security import SecurityApi
from osaccess.overrides import Overrides


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
    return State(
        live.models(MAPPINGS.name),
        {
            n: e.definition
            for n, e in live.defined("roles").items()
            if isinstance(e.definition, RoleDefinition)
        },
        {
            n: e.definition
            for n, e in live.defined("action_groups").items()
            if isinstance(e.definition, ActionGroup)
        },
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


def after_plan(path: Path, overrides: Overrides | None) -> State:
    """The cluster as a reviewed plan would leave it: read live, the plan's changes applied."""
    from osaccess.access.impact import states
    from osaccess.cluster.connection import connect
    from osaccess.run.plandoc import fingerprint, read

    planned = read(path)
    if len(planned) != 1:
        raise errors.ConfigError(
            f"{path} holds {len(planned)} plans; --plan answers for one cluster's plan",
            hint="write one plan per file: osaccess plan FILE --out plan.json",
        )
    plan, context = planned[0]
    if context.cluster is None:
        raise errors.ConfigError(f"{path}: the plan does not say how to reach its cluster")
    with connect(context.cluster, overrides or Overrides()) as api:
        live = api.read_state()
    moved = context.fingerprint is not None and fingerprint(live, plan) != context.fingerprint
    source = f"{context.endpoint} after the plan {path}" + (
        " (the cluster changed since the plan was made: this is the plan applied to it now; "
        "apply --plan would refuse it)"
        if moved
        else ""
    )
    return of_evaluator(states(live, plan.changes)[1], source)


def state_for(
    cluster: MappingFile | ClusterSpec | None,
    overrides: Overrides | None,
    offline: bool,
    plan: Path | None = None,
) -> State:
    """Live, offline from the file, or after a reviewed plan."""
    if plan is not None:
        return after_plan(plan, overrides)
    if offline:
        if not isinstance(cluster, MappingFile):
            raise errors.ConfigError("explaining offline needs a mapping file")
        return offline_state(cluster)
    from osaccess.cluster.connection import connect

    spec = cluster.cluster if isinstance(cluster, MappingFile) else cluster
    with connect(spec, overrides or Overrides()) as api:
        state = live_state(api.read_state(), f"{api.endpoint} (live)")
        aliases, known = cluster_facts(api)
        return replace(state, aliases=aliases, known=known)


def cluster_facts(api: SecurityApi) -> tuple[Mapping[str, frozenset[str]] | None, Known]:
    """What can-i needs besides the security configuration: aliases and data streams, the
    version and the indices (4 GETs)."""
    version, indices = api.read_known()
    return api.read_aliases(), Known(version, indices)
