"""The one way a plan becomes writes, whatever its source, and what happened for each file.

:func:`run` takes plans from any source (made now by :func:`osaccess.run.orchestrator.apply_files`,
or read from a reviewed plan file by :func:`~osaccess.run.orchestrator.apply_reviewed`): it shows
each plan, settles the empty and the refused ones, asks once for the rest, writes them, records
each :class:`Outcome` in the audit log and hands it on once it is final. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from osaccess import errors
from osaccess.cluster.clients import Overrides
from osaccess.cluster.security import SecurityApi
from osaccess.model import ClusterSpec
from osaccess.run.audit_log import AuditRecord, Result, append
from osaccess.run.engine import ApplyResult
from osaccess.run.parallel import map_bounded
from osaccess.run.plan import Plan
from osaccess.run.plandoc import PlanContext

# how a run connects to a cluster (tests hand in a fake one)
Connector = Callable[[ClusterSpec, Overrides], SecurityApi]


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

    def audit_record(self, extra: dict[str, object] | None = None) -> AuditRecord:
        message = getattr(self.error, "message", None) if self.error else None
        extra = dict(extra or {})
        if isinstance(self.error, errors.PartiallyApplied):
            extra.update(applied=list(self.error.applied), failed=self.error.failed)
        elif self.writes:
            extra.update(applied=list(self.writes))
        if self.notes:
            extra.update(notes=list(self.notes))
        return AuditRecord(
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


@dataclass
class Ready:
    """One plan that apply may write: its outcome so far, why it must not go ahead (raises
    Refused), and how to write it."""

    outcome: Outcome
    write: Callable[[], ApplyResult]
    refuse: Callable[[], None] = lambda: None


def run(
    items: Iterable[Ready | Outcome],
    *,
    confirm: Callable[[list[Outcome]], bool],
    on_planned: Callable[[Outcome], None],
    on_done: Callable[[Outcome], None],
    audit_log: Path | None,
    extra: dict[str, object] | None = None,
    parallel: int = 1,
    stop_at_failure: bool = False,
) -> list[Outcome]:
    """The one way a plan becomes writes, whatever its source (a plan made now, or a reviewed
    plan file): show each plan, settle the empty and the refused ones, ask once for the rest,
    write them (in parallel, or in turn stopping at the first failure), record each outcome in
    the audit log, and hand it to ``on_done`` once it is final."""
    finished: list[Outcome] = []
    ready: list[Ready] = []

    def finish(
        outcome: Outcome, result: Result | None = None, error: Exception | None = None
    ) -> None:
        if result is not None:
            outcome.result, outcome.error = result, error
        finished.append(outcome)
        if audit_log is not None:
            append(audit_log, outcome.audit_record(extra))
        on_done(outcome)

    for item in items:
        if isinstance(item, Outcome):
            finish(item)
            if stop_at_failure and item.error is not None:
                break
            continue
        on_planned(item.outcome)
        if item.outcome.plan is None or item.outcome.plan.empty:
            finish(item.outcome, Result.NOTHING_TO_DO)
            continue
        try:
            item.refuse()
        except errors.Refused as exc:
            finish(item.outcome, Result.REFUSED, exc)
            if stop_at_failure:
                break
            continue
        ready.append(item)
    if ready and not confirm([item.outcome for item in ready]):
        for item in ready:
            finish(item.outcome, Result.DECLINED)
        return finished
    if stop_at_failure:
        for item in ready:
            try:
                record(item.outcome, item.write())
            except Exception as exc:
                finish(item.outcome, failure(exc), exc)
                break
            finish(item.outcome)
    else:
        results = map_bounded(
            ready, lambda i: i.write(), parallel, label=lambda i: i.outcome.file, what="applied"
        )
        for item, result in zip(ready, results, strict=True):
            if isinstance(result, Exception):
                finish(item.outcome, failure(result), result)
            else:
                record(item.outcome, result)
                finish(item.outcome)
    return finished


def record(outcome: Outcome, result: ApplyResult) -> None:
    outcome.plan, outcome.attempts = result.plan, result.attempts
    outcome.writes, outcome.notes = result.writes, result.notes
    outcome.result = Result.APPLIED


def failure(exc: BaseException) -> Result:
    if isinstance(exc, errors.PartiallyApplied):
        return Result.PARTIALLY_APPLIED
    return Result.REFUSED if isinstance(exc, errors.Refused) else Result.FAILED
