"""Plan and apply for one cluster, through one code path: a dry run rehearses what apply does.

make_plan(api, file)   -> Planned            every kind and the caller, read
execute(api, planned)  -> ApplyResult        per kind: re-read, one PATCH; then verify
execute_reviewed(...)  -> ApplyResult        a plan file, exactly as reviewed

Each kind is written in one collection PATCH (or, when asked, in parts), through the write loop
of :mod:`osaccess.run.writes`, in the kinds' write order; a failure after an earlier kind landed
is :class:`~osaccess.errors.PartiallyApplied`, naming both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from osaccess import errors, kinds
from osaccess.access.assertions import Report
from osaccess.access.assertions import run as run_tests
from osaccess.access.impact import access_impact
from osaccess.access.state import DirectoryFor, before_and_after, cluster_facts
from osaccess.cluster.security import SecurityApi
from osaccess.kinds.base import Action, Change, Desired, Kind
from osaccess.kinds.live import LiveDefinition
from osaccess.model import LiveState, MappingFile, Safety
from osaccess.run.plan import Plan, diff
from osaccess.run.plandoc import fingerprint
from osaccess.run.safety import Identity, Refusal, evaluate
from osaccess.run.writes import MAX_CONFLICT_RETRIES, Target, WriteOptions, write_parts


def plan(
    desired: Sequence[Desired],
    live: LiveState,
    protect: frozenset[str] = frozenset(),
    *,
    impact: bool = True,
) -> Plan:
    """The plan (:func:`osaccess.run.plan.diff`) with its access impact: who gains and loses
    what. ``impact=False`` leaves the impact out: enough to know whether anything is left to do."""
    planned = diff(desired, live, protect)
    if not impact:
        return planned
    return replace(planned, access_changes=access_impact(live, planned.changes))


@dataclass(frozen=True)
class Planned:
    """A plan and everything it was made from."""

    live: LiveState
    plan: Plan
    identity: Identity | None
    refusals: tuple[Refusal, ...]
    tests: Report | None = None  # the file's access tests, on the cluster after the plan


def make_plan(
    api: SecurityApi, file: MappingFile, directory_for: DirectoryFor | None = None
) -> Planned:
    """Read everything (one GET per kind, and who the caller is) and plan; the file's access
    tests run on the cluster after the plan (``directory_for``: IAM, as can-i asks it)."""
    live, info = api.read_state_and_authinfo()
    identity = Identity.from_authinfo(info)
    plan_ = plan(file.entries, live, file.safety.protect)
    refusals = evaluate(plan_, live, file.safety, identity)
    report = None
    if file.tests:
        facts = cluster_facts(api)  # read only for files with tests
        report = run_tests(
            file.tests,
            before_and_after(live, plan_.changes)[1],
            file.path,
            AFTER,
            facts,
            directory_for,
        )
        refusals += test_refusals(report)
    return Planned(live, plan_, identity, tuple(refusals), report)


AFTER = "the cluster as the plan would leave it"


def test_refusals(report: Report) -> list[Refusal]:
    """A failing access test refuses the apply; --force does not lift it."""
    return [
        Refusal("access-test", f"{report.path}:{f.line}: {f.test}: {f.reason}")
        for f in report.failures
    ]


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


Changes = tuple[Change, ...]


def _current(fresh: Mapping[str, LiveDefinition], name: str) -> Any | None:
    entry = fresh.get(name)
    return entry.definition if entry is not None else None


def _stale(changes: Sequence[Change], fresh: Mapping[str, LiveDefinition]) -> list[str]:
    """What moved on the cluster since the plan, in the entries these changes touch."""
    found = (kinds.by_name(c.kind).stale(c, _current(fresh, c.name)) for c in changes)
    return [line for line in found if line]


def _target(api: SecurityApi, kind: Kind) -> Target[Changes]:
    def landed(changes: Changes, fresh: dict[str, LiveDefinition]) -> int:
        return sum(1 for c in changes if _current(fresh, c.name) == c.after)

    return Target(
        kind.plural,
        kind.write_cost,
        lambda: api.read_definitions(kind),
        lambda changes: [op for c in changes for op in c.operations()],
        _stale,
        landed,
        lambda ops, timeout: api.patch(kind.endpoint, ops, timeout=timeout),
        lambda changes: [c.name for c in changes],
        lambda changes, test: tuple(c for c in changes if test(c.name)),
        roles=(lambda: len(api.read_roles())) if kind.write_cost.reads_roles else None,
    )


def write_order(plan_: Plan) -> list[str]:
    """The kinds to write, one PATCH each: when anything is created or updated, in the kinds'
    write order (action groups, roles, tenants, mappings: a mapping needs its role); when the
    plan only deletes, the reverse (mappings before the roles they name)."""
    present = [kind.name for kind in kinds.in_write_order() if plan_.of(kind.name)]
    upserts = any(c.action is not Action.DELETE for c in plan_.changes)
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
    on_conflict: Callable[[str], Changes],
    guard: Callable[[str, Changes, dict[str, LiveDefinition]], None],
    options: WriteOptions,
) -> ApplyResult:
    """Write each kind of the plan, in :func:`write_order`. When a later write fails after an
    earlier one landed, raise PartiallyApplied naming both. ``on_conflict(kind)``: what to write
    of that kind after a 409; ``guard(kind, changes, fresh)`` raises to refuse a write."""
    applied: list[str] = []
    notes: list[str] = []
    written: list[Change] = []
    attempts, message = 1, "nothing to do"
    options = replace(options, read_timeout=api.transport.timeout)
    for kind_name in write_order(first):
        try:
            results, labels = write_parts(
                _target(api, kinds.by_name(kind_name)),
                first.of(kind_name),
                on_conflict=functools.partial(on_conflict, kind_name),
                guard=functools.partial(guard, kind_name),
                options=options,
                name=kind_name,
            )
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
            written += result.value
            attempts = max(attempts, result.attempts)
            message = result.message
            if result.note:
                notes.append(result.note)
        applied.extend(labels)
    done = replace(first, changes=tuple(written)) if written else first
    return ApplyResult(done, attempts, message, False, tuple(applied), tuple(notes))


def _differ(changes: Sequence[Change], after: LiveState) -> list[str]:
    """The changes the cluster does not hold as planned."""
    return [
        f"{kinds.by_name(c.kind).called(c.name)}"
        for c in changes
        if after.definition(c.kind, c.name) != c.after
    ]


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
    """Write the plan, one collection PATCH per kind (or parts of at most ``max_operations``),
    guarding against concurrent changes; then re-read everything and verify that nothing is
    left to do."""
    refuse_if_unsafe(planned.refusals, force)
    live = planned.live
    latest = planned.plan

    def replan(kind: str) -> Changes:
        nonlocal live, latest
        live = api.read_state()
        latest = plan(file.entries, live, file.safety.protect)
        return latest.of(kind)

    def guard(kind: str, candidate: Changes, fresh: dict[str, LiveDefinition]) -> None:
        if latest is not planned.plan:  # a re-plan after a conflict: check it again
            state = live.replaced(kind, fresh)
            refuse_if_unsafe(evaluate(latest, state, file.safety, planned.identity), force)

    result = _apply_all(
        api,
        planned.plan,
        on_conflict=replan,
        guard=guard,
        options=WriteOptions(max_retries, sleep, max_operations, progress),
    )
    if result.plan.empty:
        return replace(result, verified=True)
    remaining = plan(file.entries, api.read_state(), file.safety.protect, impact=False)
    if not remaining.empty:
        raise errors.VerificationFailed(
            "after apply the cluster still differs from the file in: "
            + ", ".join(kinds.by_name(c.kind).called(c.name) for c in remaining.changes),
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
    live = LiveState()
    if seen is not None:
        live = api.read_state()
        stale = [
            line
            for kind in kinds.registered()
            for line in _stale(reviewed.of(kind.name), live.defined(kind.name))
        ]
        if stale:
            raise errors.Refused(
                "the cluster changed since the plan was made, in what this apply would change:\n"
                + "\n".join(f"  - {line}" for line in stale),
                hint="run plan again, review, and apply",
            )
        if fingerprint(live, reviewed) != seen:
            raise errors.Refused(
                "the cluster changed since the plan was made, in what the plan leaves unchanged "
                "(its fingerprint no longer matches); the reviewed plan no longer describes the "
                "cluster",
                hint="run plan again, review, and apply",
            )

    def same_plan_again(kind: str) -> Changes:
        return reviewed.of(kind)  # the write loop re-reads and refuses what moved

    def guard(kind: str, candidate: Changes, fresh: dict[str, LiveDefinition]) -> None:
        state = live.replaced(kind, fresh)
        refuse_if_unsafe(evaluate(reviewed, state, safety, identity), force)

    result = _apply_all(
        api,
        reviewed,
        on_conflict=same_plan_again,
        guard=guard,
        options=WriteOptions(max_retries, sleep, max_operations, progress),
    )
    if not result.plan.empty:
        differ = _differ(result.plan.changes, api.read_state())
        if differ:
            raise errors.VerificationFailed(
                "after apply the cluster does not hold what the plan wrote in: "
                + ", ".join(differ),
                hint="someone may have changed them at the same moment; run plan again",
            )
    return replace(result, verified=True)
