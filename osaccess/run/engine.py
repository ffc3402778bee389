"""Plan and apply for one cluster, through one code path: a dry run rehearses what apply does.

make_plan(api, file)   -> Planned            5 requests: one GET per resource type, authinfo
execute(api, planned)  -> ApplyResult        per type: re-read (1), one PATCH (1); verify
execute_reviewed(...)  -> ApplyResult        a plan file, exactly as reviewed

The write loop (:func:`_write`) re-reads before writing and refuses a stale plan, re-plans after
a 409, waits out a 429, and after a 500 or a lost or late answer re-reads to learn whether the
write happened (until the write's deadline, :mod:`osaccess.cluster.pace`), never writing twice.
A write waits as long as its size needs; ``max_operations`` splits it into parts, only when asked.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from osaccess import errors
from osaccess.cluster import pace
from osaccess.cluster.security import SecurityApi
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
from osaccess.run.plan import Action, Change, DefinitionChange, Plan, plan
from osaccess.run.plandoc import fingerprint
from osaccess.run.safety import Identity, Refusal, evaluate

log = logging.getLogger("osaccess.run.engine")

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


P = TypeVar("P")


@dataclass(frozen=True)
class WriteOptions:
    """How apply writes: ``max_operations`` splits a type's PATCH into parts of at most that
    many operations (explicitly, never by itself); ``progress`` hears what a person should see
    while a long write runs; ``sleep`` is off in tests."""

    max_retries: int = MAX_CONFLICT_RETRIES
    sleep: bool = True
    max_operations: int | None = None
    progress: Callable[[str], None] = lambda _: None
    read_timeout: float = 30.0  # the transport's: no write's deadline is shorter


@dataclass(frozen=True)
class _Target(Generic[P]):
    """One resource type as the write loop sees it: P is what is written (a mapping plan, or
    the changes to one kind of definition)."""

    what: str  # for messages: "role mappings", "roles", ...
    endpoint: str  # rolesmapping, roles, ...: what the write's cost depends on
    read: Callable[[], Any]
    operations: Callable[[P], list[dict[str, Any]]]
    stale: Callable[[P, Any], list[str]]  # what moved since the plan (empty: nothing)
    landed: Callable[[P, Any], int]  # how many of P's changes the cluster shows
    patch: Callable[[list[dict[str, Any]], float], str]
    names: Callable[[P], list[str]]  # the entities P changes, in order
    keep: Callable[[P, Callable[[str], bool]], P]  # P with only the entities a test passes


def _mapping_target(api: SecurityApi) -> _Target[Plan]:
    def landed(p: Plan, fresh: dict[str, LiveMapping]) -> int:
        return sum(1 for c in p.changes if _current(fresh, c.role) == c.after)

    return _Target(
        "role mappings",
        "rolesmapping",
        api.read_mappings,
        lambda p: p.operations(),
        lambda p, fresh: describe_stale(stale_changes(p, fresh), fresh),
        landed,
        lambda ops, timeout: api.patch_mappings(ops, timeout=timeout),
        lambda p: [c.role for c in p.changes],
        lambda p, test: replace(p, changes=tuple(c for c in p.changes if test(c.role))),
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

    def landed(changes: tuple[DefinitionChange, ...], fresh: dict[str, LiveDefinition]) -> int:
        return sum(1 for c in changes if current(fresh, c.name) == c.after)

    return _Target(
        f"{kind.label}s",
        kind.endpoint,
        lambda: api.read_definitions(kind),
        lambda changes: [c.operation() for c in changes],
        stale,
        landed,
        lambda ops, timeout: api.patch(kind.endpoint, ops, timeout=timeout),
        lambda changes: [c.name for c in changes],
        lambda changes, test: tuple(c for c in changes if test(c.name)),
    )


@dataclass(frozen=True)
class _Written(Generic[P]):
    value: P  # what was written (after a re-plan, what the re-plan wrote)
    attempts: int
    message: str
    note: str | None = None  # e.g. the answer was late, but the change is in place


def _write(
    target: _Target[P],
    first: P,
    *,
    on_conflict: Callable[[], P],
    guard: Callable[[P, Any], None],
    options: WriteOptions,
    part: str = "",
) -> _Written[P]:
    """Re-read, refuse if stale, PATCH; on 409 get what to write from ``on_conflict``."""
    current = first
    attempt = 0
    while True:
        attempt += 1
        operations = target.operations(current)
        if not operations:
            return _Written(current, attempt, "nothing to do")
        fresh = target.read()
        stale = target.stale(current, fresh)
        if stale:
            raise errors.Refused(
                f"the cluster changed since the plan was made, in {target.what} this apply "
                "would change:\n" + "\n".join(f"  - {line}" for line in stale),
                hint="run plan again, review, and apply",
            )
        guard(current, fresh)
        speed = pace.pace(target.endpoint, len(operations), len(fresh), options.read_timeout)
        if speed.long:
            options.progress(
                f"writing {len(operations):,} changes to the {target.what}{part} in one request; "
                f"the security plugin takes {pace.about(speed.expected)} for this size"
                + (
                    f" (osaccess waits at most {pace.about(speed.deadline)}: consider "
                    "--max-operations-per-write)"
                    if speed.beyond_bound
                    else ""
                )
            )
        started = time.monotonic()
        try:
            return _Written(current, attempt, target.patch(operations, speed.deadline))
        except errors.Conflict:
            if attempt > options.max_retries:
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
                options.max_retries + 1,
            )
            if options.sleep:
                time.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))
            current = on_conflict()
        except errors.Throttled as exc:
            if attempt > options.max_retries:
                raise
            delay = exc.retry_after if exc.retry_after is not None else 0.5 * 2**attempt
            log.warning(
                "the cluster is busy (HTTP %s); re-reading and trying again in %.1fs",
                exc.status,
                delay,
            )
            if options.sleep:
                time.sleep(delay * (1 if exc.retry_after is not None else random.uniform(0.5, 1)))
        except (errors.ServerError, errors.ConnectionFailed) as exc:
            # The write may have happened (500 after the index write) or may still be running
            # (a lost or late answer): look before doing anything else, and never send the
            # write again without knowing.
            note = _await(target, current, exc, started + speed.deadline, options)
            late = isinstance(exc, errors.AnswerTimeout | errors.AnswerLost)
            message = (
                "applied (the answer was late or lost)"
                if late
                else "applied (the cluster reported an error after writing)"
            )
            return _Written(current, attempt, message, note)


def _await(
    target: _Target[P], current: P, exc: errors.ClusterError, until: float, options: WriteOptions
) -> str:
    """After a write whose answer was an error or never came: re-read until the cluster shows
    the planned state (a lost or late answer: until the write's deadline), and say so; raise
    with exactly what was seen otherwise."""
    lost = isinstance(exc, errors.AnswerTimeout | errors.AnswerLost)
    if lost:
        options.progress(
            f"{exc.message}; re-reading the {target.what} until the change shows "
            f"(for {pace.about(max(0.0, until - time.monotonic()))} at most)"
        )
    polls = 0
    after: Any = None
    while True:
        try:
            after = target.read()
        except errors.ClusterError as failed:  # a busy node: keep looking until the deadline
            log.warning("re-reading the %s failed: %s", target.what, failed.message)
        else:
            if target.landed(current, after) == len(target.names(current)):
                log.warning("%s, but the change is in place", exc.message)
                return (
                    f"the answer was lost or late ({exc.message}), but the change was seen in place"
                    if lost
                    else f"the cluster reported an error after writing ({exc.message}), but the "
                    "change is in place"
                )
        remaining = until - time.monotonic()
        if not lost or remaining <= 0 or not options.sleep:
            break
        time.sleep(min(pace.poll_delay(polls), remaining))
        polls += 1
    total = len(target.operations(current))
    seen = target.landed(current, after) if after is not None else 0
    if lost:
        raise type(exc)(
            f"{exc.message}; after waiting until the write's deadline the cluster shows "
            f"{seen} of the {total} planned change(s) to the {target.what}; the node may still "
            "write them (a PATCH lands whole or not at all)",
            hint="run `osaccess plan` later to see whether it landed; it holds only what is left",
            endpoint=exc.endpoint,
            request=exc.request,
            status=exc.status,
        ) from None
    if after is not None and not target.stale(current, after):
        raise type(exc)(
            f"{exc.message}; nothing was changed",
            hint="the write did not happen; run apply again later",
            endpoint=exc.endpoint,
            request=exc.request,
            status=exc.status,
        ) from None
    raise exc


def _write_parts(
    target: _Target[P],
    first: P,
    *,
    on_conflict: Callable[[], P],
    guard: Callable[[P, Any], None],
    options: WriteOptions,
    name: str,
) -> tuple[list[_Written[P]], list[str]]:
    """Write one resource type: in one PATCH, or, with ``max_operations``, in parts of at most
    that many operations, each atomic. Raise PartiallyApplied naming the parts that landed when
    a later part fails."""
    size = options.max_operations
    total = len(target.names(first))
    parts = 1 if not size or total <= size else -(-total // size)
    if parts > 1:
        options.progress(
            f"splitting {total:,} changes to the {target.what} into {parts} writes of at most "
            f"{size:,} (--max-operations-per-write): each write is atomic, the whole apply is not"
        )
    done: set[str] = set()
    latest = first
    written: list[_Written[P]] = []
    labels: list[str] = []

    def head(whole: P) -> P:
        todo = [n for n in target.names(whole) if n not in done]
        chosen = set(todo[:size] if parts > 1 and size else todo)
        return target.keep(whole, lambda name: name in chosen)

    def again() -> P:
        nonlocal latest
        latest = on_conflict()
        return head(latest)

    while True:
        chunk = head(latest)
        if not target.names(chunk):
            break
        label = name if parts == 1 else f"{name} part {len(labels) + 1} of {parts}"
        try:
            result = _write(
                target,
                chunk,
                on_conflict=again,
                guard=guard,
                options=options,
                part=f" (part {len(labels) + 1} of {parts})" if parts > 1 else "",
            )
        except errors.OsaccessError as exc:
            if not labels:
                raise
            raise errors.PartiallyApplied(applied=tuple(labels), failed=label, cause=exc) from exc
        written.append(result)
        done.update(target.names(result.value))
        if parts > 1:
            label += f" ({len(target.names(result.value)):,} changes)"
            options.progress(f"{target.what} part {len(labels) + 1} of {parts}: written")
        labels.append(label)
    return written, labels


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


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan  # the plan that was written (a re-plan after a conflict may differ)
    attempts: int
    message: str
    verified: bool
    writes: tuple[str, ...] = ()  # each PATCH that landed, e.g. "role mappings (40 changes)"
    notes: tuple[str, ...] = ()  # what a person should know: a late answer, ...


def _apply_all(
    api: SecurityApi,
    first: Plan,
    *,
    on_conflict: Callable[[], Plan],
    guard: Callable[[Plan, dict[str, LiveMapping]], None],
    options: WriteOptions,
) -> ApplyResult:
    """Write each resource type of the plan, in :func:`write_order`. When a later write fails
    after an earlier one landed, raise PartiallyApplied naming both."""
    applied: list[str] = []
    notes: list[str] = []
    written, attempts, message = first, 1, "nothing to do"
    options = replace(options, read_timeout=api.transport.timeout)
    for kind_name in write_order(first):
        try:
            if kind_name == "mappings":
                results, labels = _write_parts(
                    _mapping_target(api),
                    first,
                    on_conflict=on_conflict,
                    guard=guard,
                    options=options,
                    name=kind_name,
                )
                if results:
                    changes = tuple(c for r in results for c in r.value.changes)
                    written = replace(results[-1].value, changes=changes)
            else:
                changes_of = first.definitions_of(kind_name)
                results_d, labels = _write_parts(
                    _definition_target(api, KINDS_BY_NAME[kind_name]),
                    changes_of,
                    on_conflict=lambda changes=changes_of: changes,  # type: ignore[misc]
                    guard=lambda *_: None,
                    options=options,
                    name=kind_name,
                )
                results = results_d  # type: ignore[assignment]
        except errors.PartiallyApplied as exc:
            raise errors.PartiallyApplied(
                applied=(*applied, *exc.applied), failed=exc.failed, cause=exc.cause
            ) from exc.cause
        except errors.OsaccessError as exc:
            if not applied:
                raise
            raise errors.PartiallyApplied(
                applied=tuple(applied), failed=kind_name, cause=exc
            ) from exc
        for result in results:
            attempts = max(attempts, result.attempts)
            message = result.message
            if result.note:
                notes.append(result.note)
        applied.extend(labels)
    return ApplyResult(written, attempts, message, False, tuple(applied), tuple(notes))


def execute(
    api: SecurityApi,
    file: MappingFile,
    planned: Planned,
    *,
    force: bool = False,
    max_retries: int = MAX_CONFLICT_RETRIES,
    sleep: bool = True,
    max_operations: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> ApplyResult:
    """Write the plan, one collection PATCH per resource type (or parts of at most
    ``max_operations``), guarding against concurrent changes; then re-read everything and
    verify that nothing is left to do."""
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

    result = _apply_all(
        api,
        planned.plan,
        on_conflict=replan,
        guard=guard,
        options=WriteOptions(max_retries, sleep, max_operations, progress),
    )
    if result.plan.empty:
        return replace(result, verified=True)
    remaining = plan(
        file.roles, api.read_state(), file.safety.protect, file.definitions, impact=False
    )
    if not remaining.empty:
        raise errors.VerificationFailed(
            "after apply the cluster still differs from the file in: "
            + ", ".join(
                [c.role for c in remaining.changes]
                + [f"{c.label} {c.name}" for c in remaining.definition_changes]
            ),
            hint="someone may have changed them at the same moment; run plan again",
        )
    return replace(result, verified=True)


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
    max_operations: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
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

    result = _apply_all(
        api,
        reviewed,
        on_conflict=same_plan_again,
        guard=guard,
        options=WriteOptions(max_retries, sleep, max_operations, progress),
    )
    written = result.plan
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
    return replace(result, verified=True)
