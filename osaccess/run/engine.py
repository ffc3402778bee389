"""Plan and apply for one cluster, through one code path: a dry run rehearses what apply does.

make_plan(api, file)   -> Planned            one GET per kind and authinfo, two round trips
execute(api, planned)  -> ApplyResult        per type: re-read (1), one PATCH (1); verify
execute_reviewed(...)  -> ApplyResult        a plan file, exactly as reviewed

Each kind is written in one collection PATCH (or, when asked, in parts), through the write loop
of :mod:`osaccess.run.writes`, in the kinds' write order; a failure after an earlier kind landed
is :class:`~osaccess.errors.PartiallyApplied`, naming both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from osaccess import errors, kinds
from osaccess.access.assertions import Report
from osaccess.access.assertions import run as run_tests
from osaccess.access.impact import access_impact, states
from osaccess.cluster import pace
from osaccess.cluster.security import SecurityApi
from osaccess.kinds.base import Action, DefinitionChange, DefinitionKind, DesiredDefinition
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.mappings import DesiredRole, RoleMapping, moved
from osaccess.model import LiveState, MappingFile, Safety
from osaccess.run.plan import Plan, diff
from osaccess.run.plandoc import fingerprint
from osaccess.run.safety import Identity, Refusal, evaluate
from osaccess.run.sources import cluster_facts
from osaccess.run.writes import MAX_CONFLICT_RETRIES, Target, WriteOptions, write_parts


def plan(
    desired: Sequence[DesiredRole],
    live: LiveState,
    protect: frozenset[str] = frozenset(),
    definitions: Sequence[DesiredDefinition] = (),
    *,
    impact: bool = True,
) -> Plan:
    """The plan (:func:`osaccess.run.plan.diff`) with its access impact: who gains and loses
    what. ``impact=False`` leaves the impact out: enough to know whether anything is left to do."""
    planned = diff(desired, live, protect, definitions)
    if not impact:
        return planned
    found = access_impact(live, planned.changes, planned.definition_changes)
    return replace(planned, access_changes=found)


@dataclass(frozen=True)
class Planned:
    """A plan and everything it was made from."""

    live: LiveState
    plan: Plan
    identity: Identity | None
    refusals: tuple[Refusal, ...]
    tests: Report | None = None  # the file's access tests, on the cluster after the plan


def make_plan(api: SecurityApi, file: MappingFile) -> Planned:
    """Read everything (one GET per resource type, and who the caller is) and plan."""
    live, info = api.read_state_and_authinfo()
    identity = Identity.from_authinfo(info)
    plan_ = plan(file.roles, live, file.safety.protect, file.definitions)
    refusals = evaluate(plan_, live, file.safety, identity)
    report = None
    if file.tests:
        facts = cluster_facts(api)  # read only for files with tests
        report = run_tests(
            file.tests,
            states(live, plan_.changes, plan_.definition_changes)[1],
            file.path,
            AFTER,
            facts,
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


def _current(mappings: Mapping[str, LiveDefinition], role: str) -> RoleMapping | None:
    entry = mappings.get(role)
    return entry.definition if entry is not None else None


def _refuse_stale(lines: list[str]) -> errors.Refused:
    return errors.Refused(
        "the cluster changed since the plan was made, in mappings this apply would change:\n"
        + "\n".join(f"  - {line}" for line in lines),
        hint="run plan again, review, and apply",
    )


def _mapping_target(api: SecurityApi) -> Target[Plan]:
    def landed(p: Plan, fresh: dict[str, LiveDefinition]) -> int:
        return sum(1 for c in p.changes if _current(fresh, c.role) == c.after)

    return Target(
        "role mappings",
        "rolesmapping",
        api.read_mappings,
        lambda p: p.operations(),
        lambda p, fresh: moved(p.changes, fresh),
        landed,
        lambda ops, timeout: api.patch_mappings(ops, timeout=timeout),
        lambda p: [c.role for c in p.changes],
        lambda p, test: replace(p, changes=tuple(c for c in p.changes if test(c.role))),
        roles=lambda: len(api.read_roles()),
    )


def _definition_target(
    api: SecurityApi, kind: DefinitionKind
) -> Target[tuple[DefinitionChange, ...]]:
    def current(fresh: dict[str, LiveDefinition], name: str) -> Any | None:
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

    return Target(
        f"{kind.label}s",
        kind.endpoint,
        lambda: api.read_definitions(kind),
        lambda changes: [op for c in changes for op in c.operations()],
        stale,
        landed,
        lambda ops, timeout: api.patch(kind.endpoint, ops, timeout=timeout),
        lambda changes: [c.name for c in changes],
        lambda changes, test: tuple(c for c in changes if test(c.name)),
        roles=(lambda: len(api.read_roles())) if pace.reads_roles(kind.endpoint) else None,
    )


def write_order(plan_: Plan) -> list[str]:
    """The kinds to write, one PATCH each: when anything is created or updated, in the kinds'
    write order (action groups, roles, tenants, mappings: a mapping needs its role); when the
    plan only deletes, the reverse (mappings before the roles they name)."""
    names = [kind.name for kind in kinds.in_write_order()]
    mappings = kinds.MAPPINGS.name
    present = [k for k in names if (plan_.changes if k == mappings else plan_.definitions_of(k))]
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
    guard: Callable[[Plan, dict[str, LiveDefinition]], None],
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
            if kind_name == kinds.MAPPINGS.name:
                results, labels = write_parts(
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
                results_d, labels = write_parts(
                    _definition_target(api, kinds.by_name(kind_name)),
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

    def guard(candidate: Plan, fresh: dict[str, LiveDefinition]) -> None:
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
        stale = moved(reviewed.changes, live.mappings)
        if stale:
            raise _refuse_stale(stale)
        if fingerprint(live, reviewed) != seen:
            raise errors.Refused(
                "the cluster changed since the plan was made, in what the plan leaves unchanged "
                "or in its definitions (its fingerprint no longer matches); the reviewed plan no "
                "longer describes the cluster",
                hint="run plan again, review, and apply",
            )

    def same_plan_again() -> Plan:
        return reviewed  # _write re-reads and refuses if the conflict touched our mappings

    def guard(candidate: Plan, fresh: dict[str, LiveDefinition]) -> None:
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
        differ = [
            c.role for c in written.changes if _current(dict(after.mappings), c.role) != c.after
        ]
        differ += [
            f"{c.label} {c.name}"
            for c in written.definition_changes
            if after.definition(c.kind, c.name) != c.after
        ]
        if differ:
            raise errors.VerificationFailed(
                "after apply the cluster does not hold what the plan wrote in: "
                + ", ".join(differ),
                hint="someone may have changed them at the same moment; run plan again",
            )
    return replace(result, verified=True)
