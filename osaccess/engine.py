"""Plan and apply, through one code path: a dry run rehearses exactly what apply does.

connect(file)      -> SecurityApi           (no request yet)
make_plan(api, f)  -> (LiveState, Plan)     2 requests: all mappings, all roles
execute(api, f, p) -> ApplyResult           re-read (1), one PATCH (1), verify (1)
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

from osaccess import errors
from osaccess.cluster import SecurityApi
from osaccess.model import FIELDS, ClusterSpec, LiveMapping, LiveState, MappingFile, RoleMapping
from osaccess.plan import Action, Change, Plan, plan
from osaccess.transport import ClusterAuth, Transport

log = logging.getLogger("osaccess.engine")

MAX_CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class Overrides:
    """Command-line settings that win over the file's cluster block."""

    endpoint: str | None = None
    ca_certs: str | None = None
    profile: str | None = None
    auth: str | None = None
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


def cluster_auth(spec: ClusterSpec, overrides: Overrides) -> ClusterAuth:
    kind = overrides.auth or spec.auth
    if kind not in ("aws", "basic", "cert", "none"):
        raise errors.ConfigError(f"unknown auth {kind!r}", hint="use aws, basic, cert or none")
    return ClusterAuth(
        kind=kind,  # type: ignore[arg-type]
        region=spec.region,
        profile=overrides.profile,
        assume_role=spec.assume_role,
        external_id=spec.external_id,
        session_name=spec.session_name,
        username=overrides.username or spec.username,
        password=overrides.password,
        client_cert=spec.client_cert,
        client_key=spec.client_key,
    )


def connect(file: MappingFile, overrides: Overrides) -> SecurityApi:
    endpoint = overrides.endpoint or file.cluster.endpoint
    transport = Transport(
        endpoint,
        cluster_auth(file.cluster, overrides),
        ca_certs=overrides.ca_certs or file.cluster.ca_certs,
        timeout=overrides.timeout,
    )
    return SecurityApi(transport)


def make_plan(api: SecurityApi, file: MappingFile) -> tuple[LiveState, Plan]:
    live = api.read_state()
    return live, plan(file.roles, live)


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan  # the plan that was written (a re-plan after a conflict may differ)
    attempts: int
    message: str
    verified: bool


def _current(mappings: dict[str, LiveMapping], role: str) -> RoleMapping | None:
    entry = mappings.get(role)
    return entry.mapping if entry is not None else None


def stale_changes(current_plan: Plan, mappings: dict[str, LiveMapping]) -> list[Change]:
    """Changes whose mapping on the cluster is no longer what the plan saw."""
    return [c for c in current_plan.changes if _current(mappings, c.role) != c.before]


def _describe_stale(stale: list[Change], mappings: dict[str, LiveMapping]) -> list[str]:
    lines = []
    for change in stale:
        now = _current(mappings, change.role)
        if change.before is None:
            lines.append(f"{change.role}: created by someone else since the plan")
        elif now is None:
            lines.append(f"{change.role}: deleted by someone else since the plan")
        else:
            gained = sorted(set().union(*(now.values(f) - change.before.values(f) for f in FIELDS)))
            lost = sorted(set().union(*(change.before.values(f) - now.values(f) for f in FIELDS)))
            detail = (
                "; ".join(
                    part
                    for part in (
                        f"gained {', '.join(gained)}" if gained else "",
                        f"lost {', '.join(lost)}" if lost else "",
                    )
                    if part
                )
                or "description changed"
            )
            lines.append(f"{change.role}: {detail}")
    return lines


def _applied(current_plan: Plan, mappings: dict[str, LiveMapping]) -> bool:
    return all(_current(mappings, c.role) == c.after for c in current_plan.changes)


def execute(
    api: SecurityApi,
    file: MappingFile,
    reviewed: Plan,
    live: LiveState,
    *,
    max_retries: int = MAX_CONFLICT_RETRIES,
    sleep: bool = True,
) -> ApplyResult:
    """Write the plan in one collection PATCH, guarding against concurrent changes."""
    current_plan = reviewed
    message = ""
    attempt = 0
    while True:
        attempt += 1
        if current_plan.empty:
            return ApplyResult(current_plan, attempt, "nothing to do", verified=True)
        fresh = api.read_mappings()
        stale = stale_changes(current_plan, fresh)
        if stale:
            raise errors.Refused(
                "the cluster changed since the plan was made, in mappings this apply would "
                "change:\n" + "\n".join(f"  - {line}" for line in _describe_stale(stale, fresh)),
                hint="run plan again, review, and apply",
            )
        try:
            message = api.patch_mappings(current_plan.operations())
            break
        except errors.Conflict:
            if attempt > max_retries:
                raise
            log.warning(
                "another writer changed the role mappings at the same time; "
                "re-reading and re-planning (attempt %d of %d)",
                attempt + 1,
                max_retries + 1,
            )
            if sleep:
                time.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))
            live = api.read_state()
            current_plan = plan(file.roles, live)
        except errors.ServerError as exc:
            after = api.read_mappings()
            if _applied(current_plan, after):
                log.warning("the cluster answered %s, but the change is in place", exc.status)
                message = "applied (the cluster reported an error after writing)"
                break
            if not stale_changes(current_plan, after):
                raise errors.ServerError(
                    f"{exc.message}; nothing was changed",
                    hint="the cluster refused the write; retry later",
                    endpoint=exc.endpoint,
                    request=exc.request,
                    status=exc.status,
                ) from None
            raise
    after = api.read_mappings()
    remaining = plan(file.roles, LiveState(after, live.roles, live.prefix))
    if not remaining.empty:
        raise errors.VerificationFailed(
            "after apply the cluster still differs from the file in: "
            + ", ".join(c.role for c in remaining.changes),
            hint="someone may have changed the mappings at the same moment; run plan again",
        )
    return ApplyResult(current_plan, attempt, message, verified=True)


__all__ = ["Action", "ApplyResult", "Overrides", "connect", "execute", "make_plan"]
