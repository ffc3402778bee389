"""Which state an access answer is asked of: the live cluster, a file alone (offline), or the
cluster after a reviewed plan file. The states themselves are :mod:`osaccess.access.state`;
reading a plan file is the run's, hence here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from osaccess import errors
from osaccess.access.state import (
    State,
    before_and_after,
    cluster_facts,
    live_state,
    of_evaluator,
    offline_state,
)
from osaccess.model import ClusterSpec, MappingFile
from osaccess.overrides import Overrides


def after_plan(path: Path, overrides: Overrides | None) -> State:
    """The cluster as a reviewed plan would leave it: read live, the plan's changes applied."""
    from osaccess.cluster.clients import connect
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
    return of_evaluator(before_and_after(live, plan.changes)[1], source)


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
    from osaccess.cluster.clients import connect

    spec = cluster.cluster if isinstance(cluster, MappingFile) else cluster
    with connect(spec, overrides or Overrides()) as api:
        state = live_state(api.read_state(), f"{api.endpoint} (live)")
        aliases, known = cluster_facts(api)
        return replace(state, aliases=aliases, known=known)
