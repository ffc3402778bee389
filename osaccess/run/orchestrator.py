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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from osaccess import errors
from osaccess.aws.iam import Directory, plan_warnings
from osaccess.cluster.clients import (
    Overrides,
    aws_identity,
    connect,
    iam_directories,
    resolve_sso_entries,
)
from osaccess.cluster.security import SecurityApi
from osaccess.kinds.mappings import MAPPINGS, present
from osaccess.model import MappingFile
from osaccess.run import pipeline, secrets
from osaccess.run.audit_log import Result
from osaccess.run.engine import ApplyResult, Planned, execute, execute_reviewed, make_plan
from osaccess.run.engine import refuse_if_unsafe as _refuse_if_unsafe
from osaccess.run.parallel import map_bounded
from osaccess.run.pipeline import Connector, Outcome, Ready
from osaccess.run.plan import Plan
from osaccess.run.plandoc import PlanContext, fingerprint
from osaccess.run.plandoc import read as read_plan_file


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
    files: Sequence[MappingFile],
    overrides: Overrides,
    parallel: int,
    connector: Connector = connect,
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
        api = connector(file.cluster, overrides)
        try:
            planned = make_plan(api, file, directories)
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
    files: Sequence[MappingFile],
    overrides: Overrides,
    *,
    parallel: int = 8,
    connector: Connector = connect,
) -> list[Outcome]:
    """Plan every file against its cluster. Read-only."""
    outcomes = []
    for item in _prepare(files, overrides, parallel, connector):
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
    connector: Connector = connect,
) -> list[Outcome]:
    """Plan every file, refuse the unsafe plans, ask once (``confirm``) for the rest, apply them
    in parallel, verify, and audit each outcome. ``on_planned`` sees each plan before the
    question, ``on_done`` each outcome once it is final."""

    def ready(item: _Prepared) -> Ready:
        return Ready(
            item.outcome,
            lambda: execute(
                item.api,
                item.file,
                item.planned,
                force=force,
                max_operations=max_operations,
                progress=lambda line: progress(item.file.path, line),
            ),
            lambda: _refuse_if_unsafe(item.planned.refusals, force),
        )

    prepared = _prepare(files, overrides, parallel, connector)
    try:
        outcomes = pipeline.run(
            [ready(item) if isinstance(item, _Prepared) else item for item in prepared],
            confirm=confirm,
            on_planned=on_planned,
            on_done=on_done,
            audit_log=audit_log,
            parallel=parallel,
        )
    finally:
        for item in prepared:
            if isinstance(item, _Prepared):
                item.api.close()
    return _in_order(files, outcomes)


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
    connector: Connector = connect,
) -> list[Outcome]:
    """Apply a reviewed plan file exactly: never re-planned, refused when stale, altered or
    meant for another cluster. Stops at the first plan that fails or is refused."""

    def items() -> Iterator[Ready | Outcome]:
        try:
            entries = read_plan_file(path)
        except errors.OsaccessError as exc:
            endpoint = overrides.endpoint or "unknown"
            yield Outcome(str(path), endpoint, result=pipeline.failure(exc), error=exc)
            return
        by_path = {f.path: f for f in files}
        for plan, context in entries:
            outcome = Outcome(context.file, context.endpoint, plan, context, reviewed=True)
            problem = _mismatch(path, plan, context, by_path, overrides, bool(files))
            if problem is not None:
                outcome.result, outcome.error = Result.REFUSED, problem
                yield outcome
                return
            yield Ready(
                outcome,
                functools.partial(
                    _write_reviewed, outcome, overrides, force, max_operations, progress, connector
                ),
            )

    return pipeline.run(
        items(),
        confirm=confirm,
        on_planned=on_planned,
        on_done=on_done,
        audit_log=audit_log,
        extra={"plan_file": str(path)},
        stop_at_failure=True,
    )


def _mismatch(
    path: Path,
    plan: Plan,
    context: PlanContext,
    by_path: dict[str, MappingFile],
    overrides: Overrides,
    named: bool,
) -> errors.Refused | None:
    """Why a reviewed plan may not be applied here: another file or cluster, failing tests."""
    asked = overrides.endpoint or (
        by_path[context.file].cluster.endpoint if context.file in by_path else None
    )
    if named and context.file not in by_path:
        return errors.Refused(
            f"{path}: the plan is for {context.file}, which is not among the files given",
            hint="give the same files the plan was made for",
        )
    if asked is not None and asked.rstrip("/") != context.endpoint.rstrip("/"):
        return errors.Refused(
            f"{path}: the plan was made for another cluster ({context.endpoint}, not {asked})",
            hint="apply a plan only to the cluster it was made for",
        )
    failing = [r for r in context.refusals if r.guard == "access-test"]
    if failing and not plan.empty:
        return errors.Refused(
            f"{path}: the cluster after this plan fails access tests:\n"
            + "\n".join(f"  - {r.message}" for r in failing),
            hint="change the file until `osaccess test` passes, plan again, and apply",
        )
    return None


def _write_reviewed(
    outcome: Outcome,
    overrides: Overrides,
    force: bool,
    max_operations: int | None,
    progress: Callable[[str, str], None],
    connector: Connector,
) -> ApplyResult:
    """A reviewed plan's passwords read again, then the plan written exactly."""
    context, plan = outcome.context, outcome.plan
    assert context is not None and plan is not None
    assert context.cluster is not None and context.safety is not None  # plandoc.load
    plan = secrets.attach(
        plan,
        secrets.sources_for(
            context.file, functools.partial(aws_identity, context.cluster, overrides)
        ),
    )
    with connector(context.cluster, replace(overrides, endpoint=None)) as api:
        api.prefix = context.api_prefix

        def seen_as(who: str) -> None:
            assert outcome.context is not None
            outcome.context = replace(outcome.context, caller=who)

        return execute_reviewed(
            api,
            plan,
            context.safety,
            context.fingerprint,
            force=force,
            on_identity=seen_as,
            max_operations=max_operations,
            progress=lambda line: progress(context.file, line),
        )
