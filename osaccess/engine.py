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
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from osaccess import errors
from osaccess.cluster import SecurityApi
from osaccess.model import (
    DEFINITION_KINDS,
    FIELDS,
    KINDS_BY_NAME,
    Definition,
    Kind,
    LiveDefinition,
    LiveMapping,
    LiveState,
    MappingFile,
    RoleMapping,
    Safety,
)
from osaccess.plan import Action, Change, DefinitionChange, Plan, plan
from osaccess.plandoc import fingerprint
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
    """Read everything (one GET per resource type, and who the caller is) and plan."""
    live = api.read_state()
    identity = Identity.from_authinfo(api.authinfo())
    plan_ = plan(file.roles, live, file.safety.protect, file.definitions)
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


P = TypeVar("P")


@dataclass(frozen=True)
class _Target(Generic[P]):
    """One resource type as the write loop sees it: P is what is written (a mapping plan, or
    the changes to one kind of definition)."""

    what: str  # for messages: "role mappings", "roles", ...
    read: Callable[[], Any]
    operations: Callable[[P], list[dict[str, Any]]]
    stale: Callable[[P, Any], list[str]]  # what moved since the plan (empty: nothing)
    applied: Callable[[P, Any], bool]
    patch: Callable[[list[dict[str, Any]]], str]


def _mapping_target(api: SecurityApi) -> _Target[Plan]:
    return _Target(
        "role mappings",
        api.read_mappings,
        lambda p: p.operations(),
        lambda p, fresh: describe_stale(stale_changes(p, fresh), fresh),
        _applied,
        api.patch_mappings,
    )


def _definition_target(api: SecurityApi, kind: Kind) -> _Target[tuple[DefinitionChange, ...]]:
    def current(fresh: dict[str, LiveDefinition], name: str) -> Definition | None:
        entry = fresh.get(name)
        return entry.definition if entry is not None else None

    def stale(changes: tuple[DefinitionChange, ...], fresh: dict[str, LiveDefinition]) -> list[str]:
        return [
            f"{c.name}: changed by someone else since the plan"
            for c in changes
            if current(fresh, c.name) != c.before
        ]

    return _Target(
        f"{kind.label}s",
        lambda: api.read_definitions(kind),
        lambda changes: [c.operation() for c in changes],
        stale,
        lambda changes, fresh: all(current(fresh, c.name) == c.after for c in changes),
        lambda ops: api.patch(kind.endpoint, ops),
    )


def _write(
    target: _Target[P],
    first: P,
    *,
    on_conflict: Callable[[], P],
    guard: Callable[[P, Any], None],
    max_retries: int,
    sleep: bool,
) -> tuple[P, int, str]:
    """Re-read, refuse if stale, PATCH; on 409 get what to write from ``on_conflict``."""
    current = first
    attempt = 0
    while True:
        attempt += 1
        if not target.operations(current):
            return current, attempt, "nothing to do"
        fresh = target.read()
        stale = target.stale(current, fresh)
        if stale:
            raise errors.Refused(
                f"the cluster changed since the plan was made, in {target.what} this apply "
                "would change:\n" + "\n".join(f"  - {line}" for line in stale),
                hint="run plan again, review, and apply",
            )
        guard(current, fresh)
        try:
            return current, attempt, target.patch(target.operations(current))
        except errors.Conflict:
            if attempt > max_retries:
                raise errors.Conflict(
                    f"another writer kept changing the {target.what}; gave up after {attempt} "
                    "attempts",
                    hint="wait for the other change to finish and run apply again",
                    status=409,
                ) from None
            log.warning(
                "another writer changed the %s at the same time; re-reading and trying again "
                "(attempt %d of %d)",
                target.what,
                attempt + 1,
                max_retries + 1,
            )
            if sleep:
                time.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))
            current = on_conflict()
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
            after = target.read()
            if target.applied(current, after):
                log.warning("the cluster reported an error (%s), but the change is in place", exc)
                return current, attempt, "applied (the cluster reported an error after writing)"
            if isinstance(exc, errors.AnswerTimeout):
                raise errors.AnswerTimeout(
                    f"{exc.message}; the change is not on the cluster yet but may still be "
                    "written by it",
                    hint="run `osaccess plan` in a minute to see whether it was applied",
                    endpoint=exc.endpoint,
                    request=exc.request,
                ) from None
            if not target.stale(current, after):
                raise type(exc)(
                    f"{exc.message}; nothing was changed",
                    hint="the write did not happen; run apply again later",
                    endpoint=exc.endpoint,
                    request=exc.request,
                    status=exc.status,
                ) from None
            raise


def write_order(plan_: Plan) -> list[str]:
    """The resource types to write, one PATCH each: when anything is created or updated, in
    dependency order (action groups, roles, tenants, mappings: a mapping needs its role); when
    the plan only deletes, the reverse (mappings before the roles they name)."""
    kinds = [kind.name for kind in DEFINITION_KINDS] + ["mappings"]
    present = [k for k in kinds if (plan_.changes if k == "mappings" else plan_.definitions_of(k))]
    upserts = any(c.action is not Action.DELETE for c in plan_.changes) or any(
        c.action is not Action.DELETE for c in plan_.definition_changes
    )
    return present if upserts else list(reversed(present))


def _apply_all(
    api: SecurityApi,
    first: Plan,
    *,
    on_conflict: Callable[[], Plan],
    guard: Callable[[Plan, dict[str, LiveMapping]], None],
    max_retries: int,
    sleep: bool,
) -> tuple[Plan, int, str]:
    """Write each resource type of the plan, one PATCH each, in :func:`write_order`. When a
    later type fails after an earlier one landed, raise PartiallyApplied naming both."""
    applied: list[str] = []
    written, attempts, message = first, 1, "nothing to do"
    for kind_name in write_order(first):
        try:
            if kind_name == "mappings":
                written, tries, message = _write(
                    _mapping_target(api),
                    written,
                    on_conflict=on_conflict,
                    guard=guard,
                    max_retries=max_retries,
                    sleep=sleep,
                )
            else:
                changes = first.definitions_of(kind_name)
                _, tries, message = _write(
                    _definition_target(api, KINDS_BY_NAME[kind_name]),
                    changes,
                    on_conflict=lambda changes=changes: changes,  # type: ignore[misc]
                    guard=lambda *_: None,
                    max_retries=max_retries,
                    sleep=sleep,
                )
        except errors.OsaccessError as exc:
            if not applied:
                raise
            raise errors.PartiallyApplied(
                applied=tuple(applied), failed=kind_name, cause=exc
            ) from exc
        attempts = max(attempts, tries)
        applied.append(kind_name)
    return written, attempts, message


def execute(
    api: SecurityApi,
    file: MappingFile,
    planned: Planned,
    *,
    force: bool = False,
    max_retries: int = MAX_CONFLICT_RETRIES,
    sleep: bool = True,
) -> ApplyResult:
    """Write the plan, one collection PATCH per resource type, guarding against concurrent
    changes; then re-read everything and verify that nothing is left to do."""
    refuse_if_unsafe(planned.refusals, force)
    live = planned.live

    def replan() -> Plan:
        nonlocal live
        live = api.read_state()
        return plan(file.roles, live, file.safety.protect, file.definitions)

    def guard(candidate: Plan, fresh: dict[str, LiveMapping]) -> None:
        if candidate is not planned.plan:  # a re-plan after a conflict: check it again
            state = replace(live, mappings=fresh)
            refuse_if_unsafe(evaluate(candidate, state, file.safety, planned.identity), force)

    written, attempts, message = _apply_all(
        api, planned.plan, on_conflict=replan, guard=guard, max_retries=max_retries, sleep=sleep
    )
    if written.empty:
        return ApplyResult(written, attempts, message, verified=True)
    remaining = plan(file.roles, api.read_state(), file.safety.protect, file.definitions)
    if not remaining.empty:
        raise errors.VerificationFailed(
            "after apply the cluster still differs from the file in: "
            + ", ".join(
                [c.role for c in remaining.changes]
                + [f"{c.label} {c.name}" for c in remaining.definition_changes]
            ),
            hint="someone may have changed them at the same moment; run plan again",
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
    """Apply exactly a reviewed plan: never re-planned. Refused when anything the file names
    moved since the plan was made (``seen``: the plan's fingerprint)."""
    identity = Identity.from_authinfo(api.authinfo())
    if on_identity is not None:
        on_identity(identity.user_name)
    if seen is not None:
        live = api.read_state()
        stale = [c for c in reviewed.changes if _current(dict(live.mappings), c.role) != c.before]
        if stale:
            raise _refuse_stale(stale, dict(live.mappings))
        if fingerprint(live, reviewed) != seen:
            raise errors.Refused(
                "the cluster changed since the plan was made, in what the plan leaves unchanged "
                "or in its definitions (its fingerprint no longer matches); the reviewed plan no "
                "longer describes the cluster",
                hint="run plan again, review, and apply",
            )

    def same_plan_again() -> Plan:
        return reviewed  # _write re-reads and refuses if the conflict touched our mappings

    def guard(candidate: Plan, fresh: dict[str, LiveMapping]) -> None:
        refuse_if_unsafe(
            evaluate(candidate, LiveState(fresh, frozenset()), safety, identity), force
        )

    written, attempts, message = _apply_all(
        api,
        reviewed,
        on_conflict=same_plan_again,
        guard=guard,
        max_retries=max_retries,
        sleep=sleep,
    )
    if not written.empty:
        after = api.read_state()
        moved = [
            c.role for c in written.changes if _current(dict(after.mappings), c.role) != c.after
        ]
        moved += [
            f"{c.label} {c.name}"
            for c in written.definition_changes
            if after.definition(c.kind, c.name) != c.after
        ]
        if moved:
            raise errors.VerificationFailed(
                "after apply the cluster does not hold what the plan wrote in: " + ", ".join(moved),
                hint="someone may have changed them at the same moment; run plan again",
            )
    return ApplyResult(written, attempts, message, verified=True)
