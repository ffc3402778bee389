"""The write loop: one resource type's PATCH, as safely as the API allows.

:func:`write_parts` re-reads before writing and refuses a stale plan, re-plans after a 409,
waits out a 429, and after a 500 or a lost or late answer re-reads to learn whether the write
happened (until the write's deadline, :mod:`osaccess.cluster.pace`), never writing twice. A
write waits as long as its size needs; ``max_operations`` splits it into parts, only when asked.
What a resource type is to the loop (how to read it, what is stale, what landed) is a
:class:`Target`, which the engine builds per kind.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from osaccess import errors
from osaccess.cluster import pace
from osaccess.kinds.base import WriteCost

log = logging.getLogger("osaccess.run.writes")

MAX_CONFLICT_RETRIES = 3

P = TypeVar("P")
Guard = Callable[[Any, Any], None]  # (what is about to be written, the fresh read): raises


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
class Target(Generic[P]):
    """One resource type as the write loop sees it: P is what is written (a mapping plan, or
    the changes to one kind of definition)."""

    what: str  # for messages: "role mappings", "roles", ...
    cost: WriteCost  # what one operation costs the node (the kind's)
    read: Callable[[], Any]
    operations: Callable[[P], list[dict[str, Any]]]
    stale: Callable[[P, Any], list[str]]  # what moved since the plan (empty: nothing)
    landed: Callable[[P, Any], int]  # how many of P's changes the cluster shows
    patch: Callable[[list[dict[str, Any]], float], str]
    names: Callable[[P], list[str]]  # the entities P changes, in order
    keep: Callable[[P, Callable[[str], bool]], P]  # P with only the entities a test passes
    # how many roles the cluster holds, for a kind whose every operation makes the plugin read
    # the roles again (role mappings, action groups, internal users: docs/safety.md); read only
    # before a large write
    roles: Callable[[], int] | None = None


@dataclass(frozen=True)
class Written(Generic[P]):
    value: P  # what was written (after a re-plan, what the re-plan wrote)
    attempts: int
    message: str
    note: str | None = None  # e.g. the answer was late, but the change is in place


def _roles_on_cluster(target: Target[P], operations: int) -> int | None:
    """How many roles the cluster holds, for a large write of a kind whose every operation makes
    the plugin read them again; None for other writes, or when they cannot be counted (the write
    goes ahead, estimated without them)."""
    if target.roles is None or operations < pace.COUNT_ROLES_FROM:
        return None
    try:
        return target.roles()
    except errors.ClusterError as exc:
        log.warning(
            "could not count the roles on the cluster before writing the %s (%s); the write's "
            "deadline is estimated without them",
            target.what,
            exc,
        )
        return None


def _write(
    target: Target[P],
    first: P,
    again: Callable[[], P],
    guard: Guard,
    options: WriteOptions,
    part: str,
) -> Written[P]:
    """Re-read, refuse if stale, PATCH; on 409 get what to write from ``again``."""
    current = first
    attempt = 0
    while True:
        attempt += 1
        operations = target.operations(current)
        if not operations:
            return Written(current, attempt, "nothing to do")
        fresh = target.read()
        stale = target.stale(current, fresh)
        if stale:
            raise errors.Refused(
                f"the cluster changed since the plan was made, in {target.what} this apply "
                "would change:\n" + "\n".join(f"  - {line}" for line in stale),
                hint="run plan again, review, and apply",
            )
        guard(current, fresh)
        roles = _roles_on_cluster(target, len(operations))
        speed = pace.pace(
            target.cost,
            len(operations),
            len(fresh),
            options.read_timeout,
            roles=roles,
            removals=sum(1 for op in operations if op.get("op") == "remove"),
            passwords=sum(
                1
                for op in operations
                if isinstance(op.get("value"), dict) and "password" in op["value"]
            ),
        )
        if speed.long:
            options.progress(
                f"writing {len(operations):,} changes to the {target.what}{part} in one request; "
                f"the security plugin takes {pace.about(speed.expected)} for this size"
                + (f" ({roles:,} roles on the cluster)" if roles is not None else "")
                + (
                    f" (osaccess waits at most {pace.about(speed.deadline)}: consider "
                    "--max-operations-per-write)"
                    if speed.beyond_bound
                    else ""
                )
            )
        started = time.monotonic()
        try:
            return Written(current, attempt, target.patch(operations, speed.deadline))
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
            current = again()
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
            return Written(current, attempt, message, note)


def _await(
    target: Target[P], current: P, exc: errors.ClusterError, until: float, options: WriteOptions
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


def write_parts(
    target: Target[P],
    first: P,
    *,
    on_conflict: Callable[[], P],
    guard: Guard,
    options: WriteOptions,
    name: str,
) -> tuple[list[Written[P]], list[str]]:
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
    written: list[Written[P]] = []
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
            of = f" (part {len(labels) + 1} of {parts})" if parts > 1 else ""
            result = _write(target, chunk, again, guard, options, of)
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
