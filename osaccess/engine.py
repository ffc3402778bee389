"""Plan and apply for one cluster, through one code path: a dry run rehearses what apply does.

make_plan(api, file)   -> Planned            3 requests: all mappings, all roles, authinfo
execute(api, planned)  -> ApplyResult        re-read (1), one PATCH (1), verify (1)
execute_reviewed(...)  -> ApplyResult        a plan file, exactly as reviewed

The write loop (:func:`_write`) re-reads before writing and refuses a stale plan, re-plans after
a 409, waits out a 429, and after a 500 or a lost answer re-reads to learn whether the write
happened, never writing twice without knowing.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from osaccess import errors
from osaccess.cluster import SecurityApi
from osaccess.model import FIELDS, LiveMapping, LiveState, MappingFile, RoleMapping, Safety
from osaccess.plan import Change, Plan, plan
from osaccess.plandoc import fingerprint, managed_roles
from osaccess.safety import Identity, Refusal, evaluate

log = logging.getLogger("osaccess.engine")

MAX_CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class Planned:
    """A plan and everything it was made from."""

    live: LiveState
    plan: Plan
    identity: Identity | None
    refusals: tuple[Refusal, ...]


def make_plan(api: SecurityApi, file: MappingFile) -> Planned:
    live = api.read_state()
    identity = Identity.from_authinfo(api.authinfo())
    plan_ = plan(file.roles, live, file.safety.protect)
    return Planned(live, plan_, identity, tuple(evaluate(plan_, live, file.safety, identity)))


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan  # the plan that was written (a re-plan after a conflict may differ)
    attempts: int
    message: str
    verified: bool


def refuse_if_unsafe(refusals: tuple[Refusal, ...] | list[Refusal], force: bool) -> None:
    """Raise :class:`errors.Refused` for the refusals that --force does not lift."""
    blocking = [r for r in refusals if not (r.forcible and force)]
    if not blocking:
        return
    forcible_only = all(r.forcible for r in blocking)
    raise errors.Refused(
        "refusing to apply:\n" + "\n".join(f"  - [{r.guard}] {r.message}" for r in blocking),
        hint="if this is really intended, run apply again with --force"
        if forcible_only
        else "change the file (or its protect/admin_roles settings); --force does not lift "
        "this guard",
    )


def _current(mappings: dict[str, LiveMapping], role: str) -> RoleMapping | None:
    entry = mappings.get(role)
    return entry.mapping if entry is not None else None


def stale_changes(current_plan: Plan, mappings: dict[str, LiveMapping]) -> list[Change]:
    """Changes whose mapping on the cluster is no longer what the plan saw."""
    return [c for c in current_plan.changes if _current(mappings, c.role) != c.before]


def describe_stale(stale: list[Change], mappings: dict[str, LiveMapping]) -> list[str]:
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


def _refuse_stale(stale: list[Change], mappings: dict[str, LiveMapping]) -> errors.Refused:
    return errors.Refused(
        "the cluster changed since the plan was made, in mappings this apply would change:\n"
        + "\n".join(f"  - {line}" for line in describe_stale(stale, mappings)),
        hint="run plan again, review, and apply",
    )


def _applied(current_plan: Plan, mappings: dict[str, LiveMapping]) -> bool:
    return all(_current(mappings, c.role) == c.after for c in current_plan.changes)


def _write(
    api: SecurityApi,
    first: Plan,
    *,
    on_conflict: Callable[[], Plan],
    guard: Callable[[Plan, dict[str, LiveMapping]], None],
    max_retries: int,
    sleep: bool,
) -> tuple[Plan, int, str]:
    """Re-read, refuse if stale, PATCH; on 409 get a new plan from ``on_conflict``."""
    current_plan = first
    attempt = 0
    while True:
        attempt += 1
        if current_plan.empty:
            return current_plan, attempt, "nothing to do"
        fresh = api.read_mappings()
        stale = stale_changes(current_plan, fresh)
        if stale:
            raise _refuse_stale(stale, fresh)
        guard(current_plan, fresh)
        try:
            return current_plan, attempt, api.patch_mappings(current_plan.operations())
        except errors.Conflict:
            if attempt > max_retries:
                raise errors.Conflict(
                    f"another writer kept changing the role mappings; gave up after {attempt} "
                    "attempts",
                    hint="wait for the other change to finish and run apply again",
                    endpoint=api.endpoint,
                    status=409,
                ) from None
            log.warning(
                "another writer changed the role mappings at the same time; "
                "re-reading and trying again (attempt %d of %d)",
                attempt + 1,
                max_retries + 1,
            )
            if sleep:
                time.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))
            current_plan = on_conflict()
        except errors.Throttled as exc:
            if attempt > max_retries:
                raise
            delay = exc.retry_after if exc.retry_after is not None else 0.5 * 2**attempt
            log.warning(
                "the cluster is busy (HTTP %s); re-reading and trying again in %.1fs",
                exc.status,
                delay,
            )
            if sleep:
                time.sleep(delay * (1 if exc.retry_after is not None else random.uniform(0.5, 1)))
        except (errors.ServerError, errors.ConnectionFailed) as exc:
            # The write may have happened (500 after the index write, a lost answer): look
            # before doing anything else. Never send the write again without knowing.
            after = api.read_mappings()
            if _applied(current_plan, after):
                log.warning("the cluster reported an error (%s), but the change is in place", exc)
                return (
                    current_plan,
                    attempt,
                    "applied (the cluster reported an error after writing)",
                )
            if isinstance(exc, errors.AnswerTimeout):
                raise errors.AnswerTimeout(
                    f"{exc.message}; the change is not on the cluster yet but may still be "
                    "written by it",
                    hint="run `osaccess plan` in a minute to see whether it was applied",
                    endpoint=exc.endpoint,
                    request=exc.request,
                ) from None
            if not stale_changes(current_plan, after):
                raise type(exc)(
                    f"{exc.message}; nothing was changed",
                    hint="the write did not happen; run apply again later",
                    endpoint=exc.endpoint,
                    request=exc.request,
                    status=exc.status,
                ) from None
            raise


def execute(
    api: SecurityApi,
    file: MappingFile,
    planned: Planned,
    *,
    force: bool = False,
    max_retries: int = MAX_CONFLICT_RETRIES,
    sleep: bool = True,
) -> ApplyResult:
    """Write the plan in one collection PATCH, guarding against concurrent changes."""
    refuse_if_unsafe(planned.refusals, force)
    live = planned.live

    def replan() -> Plan:
        nonlocal live
        live = api.read_state()
        return plan(file.roles, live, file.safety.protect)

    def guard(candidate: Plan, fresh: dict[str, LiveMapping]) -> None:
        if candidate is not planned.plan:  # a re-plan after a conflict: check it again
            state = LiveState(fresh, live.roles, live.prefix)
            refuse_if_unsafe(evaluate(candidate, state, file.safety, planned.identity), force)

    written, attempts, message = _write(
        api, planned.plan, on_conflict=replan, guard=guard, max_retries=max_retries, sleep=sleep
    )
    if written.empty:
        return ApplyResult(written, attempts, message, verified=True)
    after = api.read_mappings()
    remaining = plan(file.roles, LiveState(after, live.roles, live.prefix), file.safety.protect)
    if not remaining.empty:
        raise errors.VerificationFailed(
            "after apply the cluster still differs from the file in: "
            + ", ".join(c.role for c in remaining.changes),
            hint="someone may have changed the mappings at the same moment; run plan again",
        )
    return ApplyResult(written, attempts, message, verified=True)


def execute_reviewed(
    api: SecurityApi,
    reviewed: Plan,
    safety: Safety,
    seen: str | None,
    *,
    force: bool = False,
    max_retries: int = MAX_CONFLICT_RETRIES,
    sleep: bool = True,
    on_identity: Callable[[str], None] | None = None,
) -> ApplyResult:
    """Apply exactly a reviewed plan: never re-planned. Refused when any mapping of the file's
    roles moved since the plan was made (``seen``: the plan's fingerprint of them)."""
    identity = Identity.from_authinfo(api.authinfo())
    if on_identity is not None:
        on_identity(identity.user_name)

    def same_plan_again() -> Plan:
        return reviewed  # _write re-reads and refuses if the conflict touched our mappings

    def guard(candidate: Plan, fresh: dict[str, LiveMapping]) -> None:
        if seen is not None and fingerprint(fresh, managed_roles(reviewed)) != seen:
            raise errors.Refused(
                "the cluster changed since the plan was made, in mappings the plan "
                "leaves unchanged (its fingerprint no longer matches); the reviewed plan no "
                "longer describes the cluster",
                hint="run plan again, review, and apply",
            )
        refuse_if_unsafe(
            evaluate(candidate, LiveState(fresh, frozenset()), safety, identity), force
        )

    written, attempts, message = _write(
        api,
        reviewed,
        on_conflict=same_plan_again,
        guard=guard,
        max_retries=max_retries,
        sleep=sleep,
    )
    if not written.empty:
        after = api.read_mappings()
        if not _applied(written, after):
            raise errors.VerificationFailed(
                "after apply the cluster does not hold what the plan wrote in: "
                + ", ".join(c.role for c in written.changes if _current(after, c.role) != c.after),
                hint="someone may have changed the mappings at the same moment; run plan again",
            )
    return ApplyResult(written, attempts, message, verified=True)
