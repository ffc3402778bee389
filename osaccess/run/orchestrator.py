"""The work for mapping files against their clusters, one outcome per cluster.

For each file: connect -> read -> plan -> guard -> (confirm) -> write -> verify -> audit. `plan`,
`apply`, `apply --plan` (reviewed plans) and many-file runs all go through here; the command line
only parses options, calls these functions, renders what they return and turns the outcomes into
one exit code. Nothing here prints: rendering and prompting come in as callbacks.

plan_files(files, overrides)                       -> [Outcome]   read-only
apply_files(files, overrides, confirm=..., ...)    -> [Outcome]
apply_reviewed(path, files, overrides, ...)        -> [Outcome]
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from osaccess import errors
from osaccess.aws.iam import Directory, plan_warnings
from osaccess.cluster.connection import (
    Overrides,
    aws_identity,
    connect,
    iam_directories,
    resolve_sso_entries,
)
from osaccess.cluster.security import SecurityApi
from osaccess.kinds.mappings import MAPPINGS, present
from osaccess.model import MappingFile
from osaccess.run import audit, secrets
from osaccess.run.audit import Result
from osaccess.run.engine import ApplyResult, Planned, execute, execute_reviewed, make_plan
from osaccess.run.engine import refuse_if_unsafe as _refuse_if_unsafe
from osaccess.run.parallel import map_bounded
from osaccess.run.plan import Plan
from osaccess.run.plandoc import PlanContext, fingerprint
from osaccess.run.plandoc import read as read_plan_file


@dataclass
class Outcome:
    """What happened for one file and its cluster."""

    file: str
    endpoint: str
    plan: Plan | None = None
    context: PlanContext | None = None
    result: Result = Result.PLANNED
    error: Exception | None = None
    attempts: int = 0  # write attempts (more than one after a conflict)
    reviewed: bool = False  # applied from a plan file
    writes: tuple[str, ...] = ()  # each PATCH that landed ("roles", "mappings part 1 of 3 ...")
    notes: tuple[str, ...] = ()  # e.g. the answer was late, but the change was seen in place

    @property
    def caller(self) -> str | None:
        return self.context.caller if self.context else None

    @property
    def pending(self) -> bool:
        return self.plan is not None and not self.plan.empty

    def exit_code(self, detailed: bool = False) -> int:
        if self.error is not None:
            return errors.exit_code(self.error)
        if self.result == Result.DECLINED:
            return errors.EXIT_ERROR
        if self.result == Result.PLANNED and detailed and self.pending:
            return errors.EXIT_CHANGES
        return errors.EXIT_OK

    def audit_record(self, extra: dict[str, object] | None = None) -> audit.AuditRecord:
        message = getattr(self.error, "message", None) if self.error else None
        extra = dict(extra or {})
        if isinstance(self.error, errors.PartiallyApplied):
            extra.update(applied=list(self.error.applied), failed=self.error.failed)
        elif self.writes:
            extra.update(applied=list(self.writes))
        if self.notes:
            extra.update(notes=list(self.notes))
        return audit.AuditRecord(
            self.file,
            self.endpoint,
            caller=self.caller,
            plan=self.plan,
            result=self.result,
            error=message or (str(self.error) if self.error else None),
            extra=extra,
        )


def worst_exit(outcomes: Sequence[Outcome], detailed: bool = False) -> int:
    codes = [o.exit_code(detailed) for o in outcomes] or [errors.EXIT_OK]
    return max(codes, key=errors.severity)


def context_for(file: MappingFile, api: SecurityApi, planned: Planned) -> PlanContext:
    return PlanContext(
        file=file.path,
        endpoint=api.endpoint,
        api_prefix=planned.live.prefix,
        cluster=api.cluster,
        safety=file.safety,
        fingerprint=fingerprint(planned.live, planned.plan),
        caller=planned.identity.user_name if planned.identity else None,
        refusals=planned.refusals,
        tests=planned.tests,
    )


@dataclass
class _Prepared:
    file: MappingFile
    api: SecurityApi
    planned: Planned
    outcome: Outcome = field(init=False)

    def __post_init__(self) -> None:
        self.outcome = Outcome(
            self.file.path,
            self.api.endpoint,
            self.planned.plan,
            context_for(self.file, self.api, self.planned),
        )


def _prepare(
    files: Sequence[MappingFile], overrides: Overrides, parallel: int
) -> list[_Prepared | Outcome]:
    """Connect, read and plan every file (in parallel); a failure becomes a failed outcome."""

    def one(file: MappingFile) -> _Prepared:
        # one set of IAM lookups per file serves the sso: entries and the warnings
        directories = iam_directories(file.cluster, overrides)
        file, names = resolve_sso_entries(file, overrides, directories)  # before any request
        file = secrets.resolve_file(
            file,
            secrets.sources_for(file.path, lambda: aws_identity(file.cluster, overrides)),
            rotate=overrides.rotate_passwords,
        )
        api = connect(file.cluster, overrides)
        try:
            planned = make_plan(api, file)
            if names:
                planned = replace(planned, plan=replace(planned.plan, names=names))
            return _Prepared(file, api, with_iam_warnings(file, planned, directories))
        except BaseException:
            api.close()
            raise

    results = map_bounded(files, one, parallel, label=lambda f: f.path, what="planned")
    prepared: list[_Prepared | Outcome] = []
    for file, result in zip(files, results, strict=True):
        if isinstance(result, Exception):
            endpoint = overrides.endpoint or file.cluster.endpoint
            prepared.append(Outcome(file.path, endpoint, result=Result.FAILED, error=result))
        else:
            prepared.append(result)
    return prepared


def with_iam_warnings(
    file: MappingFile, planned: Planned, directory_for: Callable[[str], Directory | str] | None
) -> Planned:
    """The plan, with what IAM says of its principals (AWS only, read-only calls): those of the
    file that do not exist, and orphans on the cluster."""
    if directory_for is None:
        return planned
    live = planned.live.models(MAPPINGS.name)
    wanted = list(present(file.entries).values())
    found = tuple(plan_warnings(wanted, live, directory_for))
    if not found:
        return planned
    return replace(planned, plan=replace(planned.plan, warnings=planned.plan.warnings + found))


def plan_files(
    files: Sequence[MappingFile], overrides: Overrides, *, parallel: int = 8
) -> list[Outcome]:
    """Plan every file against its cluster. Read-only."""
    outcomes = []
    for item in _prepare(files, overrides, parallel):
        if isinstance(item, _Prepared):
            item.api.close()
            outcomes.append(item.outcome)
        else:
            outcomes.append(item)
    return outcomes


def apply_files(
    files: Sequence[MappingFile],
    overrides: Overrides,
    *,
    force: bool = False,
    parallel: int = 8,
    confirm: Callable[[list[Outcome]], bool] = lambda _: True,
    on_planned: Callable[[Outcome], None] = lambda _: None,
    on_done: Callable[[Outcome], None] = lambda _: None,
    audit_log: Path | None = None,
    max_operations: int | None = None,
    progress: Callable[[str, str], None] = lambda _file, _line: None,
) -> list[Outcome]:
    """Plan every file, refuse the unsafe plans, ask once (``confirm``) for the rest, apply them
    in parallel, verify, and audit each outcome. ``on_planned`` sees each plan before the
    question, ``on_done`` each outcome once it is final (in the files' order)."""
    prepared = _prepare(files, overrides, parallel)
    ready: list[_Prepared] = []
    finished: list[Outcome] = []

    def finish(outcome: Outcome) -> None:
        finished.append(outcome)
        if audit_log is not None:
            audit.append(audit_log, outcome.audit_record())
        on_done(outcome)

    try:
        for item in prepared:
            if isinstance(item, Outcome):
                finish(item)
                continue
            on_planned(item.outcome)
            if item.planned.plan.empty:
                item.outcome.result = Result.NOTHING_TO_DO
                finish(item.outcome)
                continue
            try:
                _refuse_if_unsafe(item.planned.refusals, force)
            except errors.Refused as exc:
                item.outcome.result, item.outcome.error = Result.REFUSED, exc
                finish(item.outcome)
                continue
            ready.append(item)
        if ready and not confirm([item.outcome for item in ready]):
            for item in ready:
                item.outcome.result = Result.DECLINED
                finish(item.outcome)
            return _in_order(files, finished)

        def write(item: _Prepared) -> ApplyResult:
            return execute(
                item.api,
                item.file,
                item.planned,
                force=force,
                max_operations=max_operations,
                progress=lambda line: progress(item.file.path, line),
            )

        results = map_bounded(ready, write, parallel, label=lambda i: i.file.path, what="applied")
        for item, result in zip(ready, results, strict=True):
            if isinstance(result, Exception):
                item.outcome.result = _failure(result)
                item.outcome.error = result
            else:
                _record(item.outcome, result)
            finish(item.outcome)
    finally:
        for item in prepared:
            if isinstance(item, _Prepared):
                item.api.close()
    return _in_order(files, finished)


def _record(outcome: Outcome, result: ApplyResult) -> None:
    outcome.plan, outcome.attempts = result.plan, result.attempts
    outcome.writes, outcome.notes = result.writes, result.notes
    outcome.result = Result.APPLIED


def _in_order(files: Sequence[MappingFile], outcomes: list[Outcome]) -> list[Outcome]:
    rank = {file.path: index for index, file in enumerate(files)}
    return sorted(outcomes, key=lambda o: rank.get(o.file, len(rank)))


def apply_reviewed(
    path: Path,
    files: Sequence[MappingFile],
    overrides: Overrides,
    *,
    force: bool = False,
    confirm: Callable[[list[Outcome]], bool] = lambda _: True,
    on_planned: Callable[[Outcome], None] = lambda _: None,
    on_done: Callable[[Outcome], None] = lambda _: None,
    audit_log: Path | None = None,
    max_operations: int | None = None,
    progress: Callable[[str, str], None] = lambda _file, _line: None,
) -> list[Outcome]:
    """Apply a reviewed plan file exactly: never re-planned, refused when stale, altered or
    meant for another cluster. Stops at the first plan that fails or is refused."""
    extra: dict[str, object] = {"plan_file": str(path)}
    outcomes: list[Outcome] = []

    def finish(outcome: Outcome) -> Outcome:
        outcomes.append(outcome)
        if audit_log is not None:
            audit.append(audit_log, outcome.audit_record(extra))
        on_done(outcome)
        return outcome

    try:
        entries = read_plan_file(path)
    except errors.OsaccessError as exc:
        finish(Outcome(str(path), overrides.endpoint or "unknown", result=_failure(exc), error=exc))
        return outcomes
    by_path = {f.path: f for f in files}
    for plan, context in entries:
        outcome = Outcome(context.file, context.endpoint, plan, context, reviewed=True)
        asked = overrides.endpoint or (
            by_path[context.file].cluster.endpoint if context.file in by_path else None
        )
        problem = None
        if files and context.file not in by_path:
            problem = errors.Refused(
                f"{path}: the plan is for {context.file}, which is not among the files given",
                hint="give the same files the plan was made for",
            )
        elif asked is not None and asked.rstrip("/") != context.endpoint.rstrip("/"):
            problem = errors.Refused(
                f"{path}: the plan was made for another cluster ({context.endpoint}, not {asked})",
                hint="apply a plan only to the cluster it was made for",
            )
        failing = [r for r in context.refusals if r.guard == "access-test"]
        if problem is None and failing and not plan.empty:
            problem = errors.Refused(
                f"{path}: the cluster after this plan fails access tests:\n"
                + "\n".join(f"  - {r.message}" for r in failing),
                hint="change the file until `osaccess test` passes, plan again, and apply",
            )
        if problem is not None:
            outcome.result, outcome.error = Result.REFUSED, problem
            finish(outcome)
            break
        on_planned(outcome)
        if plan.empty:
            outcome.result = Result.NOTHING_TO_DO
            finish(outcome)
            continue
        if not confirm([outcome]):
            outcome.result = Result.DECLINED
            finish(outcome)
            break
        assert context.cluster is not None and context.safety is not None  # plandoc.load
        try:
            plan = secrets.attach(
                plan,
                secrets.sources_for(
                    context.file, functools.partial(aws_identity, context.cluster, overrides)
                ),
            )
            with connect(context.cluster, replace(overrides, endpoint=None)) as api:
                api.prefix = context.api_prefix

                def seen_as(who: str, outcome: Outcome = outcome) -> None:
                    assert outcome.context is not None
                    outcome.context = replace(outcome.context, caller=who)

                def heard(line: str, file: str = context.file) -> None:
                    progress(file, line)

                result = execute_reviewed(
                    api,
                    plan,
                    context.safety,
                    context.fingerprint,
                    force=force,
                    on_identity=seen_as,
                    max_operations=max_operations,
                    progress=heard,
                )
        except Exception as exc:
            outcome.result, outcome.error = _failure(exc), exc
            finish(outcome)
            break
        _record(outcome, result)
        finish(outcome)
    return outcomes


def _failure(exc: BaseException) -> Result:
    if isinstance(exc, errors.PartiallyApplied):
        return Result.PARTIALLY_APPLIED
    return Result.REFUSED if isinstance(exc, errors.Refused) else Result.FAILED
