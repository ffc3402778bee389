"""validate, plan and apply."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from osaccess.cli import (
    EXIT_CHANGES,
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_OK,
    AuthOpt,
    CaCertsOpt,
    DebugOpt,
    EndpointOpt,
    FormatOpt,
    OutOpt,
    OutputFormat,
    ParallelOpt,
    PathsArg,
    ProfileOpt,
    TimeoutOpt,
    UsernameOpt,
    _exit_code,
    _guarded,
    _load_all,
    _overrides,
    _print_error,
    _raise,
    _setup_logging,
    _severity,
    _use_color,
    app,
)

if TYPE_CHECKING:  # only for types: validate and --help must not import the HTTP stack
    from osaccess.audit import AuditRecord
    from osaccess.cluster import SecurityApi
    from osaccess.engine import ApplyResult, Planned
    from osaccess.model import MappingFile
    from osaccess.plan import Plan
    from osaccess.planfile import Reviewed
    from osaccess.render import PlanContext


@app.command()
def validate(paths: PathsArg = None, debug: DebugOpt = False) -> None:
    """Check mapping files offline: placement of ARNs, types, names. Sends nothing."""
    _setup_logging(debug)
    _guarded(debug, lambda: _load_all(paths))


def _render(plans: list[tuple[Plan, PlanContext]], fmt: OutputFormat) -> None:
    from osaccess.render import plans_document, render_markdown, render_text

    if fmt is OutputFormat.json:
        sys.stdout.write(plans_document(plans))
        return
    for index, (plan_, context) in enumerate(plans):
        if index:
            sys.stdout.write("\n")
        if fmt is OutputFormat.markdown:
            render_markdown(plan_, context, sys.stdout)
        else:
            render_text(plan_, context, sys.stdout, color=_use_color())


def _write_out(out: Path, plans: list[tuple[Plan, PlanContext]]) -> None:
    from osaccess.errors import ConfigError
    from osaccess.render import plans_document

    try:
        out.write_text(plans_document(plans), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write {out}: {exc.strerror or exc}", hint="check the --out path"
        ) from None


def _context(file: MappingFile, api: SecurityApi, planned: Planned) -> PlanContext:
    from dataclasses import replace

    from osaccess.planfile import fingerprint
    from osaccess.render import PlanContext

    return PlanContext(
        file=file.path,
        endpoint=api.endpoint,
        api_prefix=planned.live.prefix,
        cluster=replace(file.cluster, endpoint=api.endpoint),
        safety=file.safety,
        fingerprint=fingerprint(planned.live.mappings, (r.name for r in file.roles)),
        caller=planned.identity.user_name if planned.identity else None,
        refusals=planned.refusals,
    )


@app.command(epilog=EXIT_CODES_HELP)
def plan(
    paths: PathsArg = None,
    endpoint: EndpointOpt = None,
    ca_certs: CaCertsOpt = None,
    profile: ProfileOpt = None,
    auth: AuthOpt = None,
    username: UsernameOpt = None,
    timeout: TimeoutOpt = 30.0,
    output_format: FormatOpt = OutputFormat.text,
    out: OutOpt = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    parallel: ParallelOpt = 8,
    debug: DebugOpt = False,
) -> None:
    """Show what apply would change on each cluster, and whether apply would refuse. Read-only.

    With --out, the plan can be applied later exactly as reviewed: apply --plan FILE."""
    _setup_logging(debug)
    files = _guarded(debug, lambda: _load_all(paths, quiet_ok=True))
    overrides = _overrides(endpoint, ca_certs, profile, auth, username, timeout)

    def plan_one(file: MappingFile) -> tuple[Plan, PlanContext]:
        from osaccess.engine import connect, make_plan

        api = connect(file, overrides)
        try:
            planned = make_plan(api, file)
        finally:
            api.transport.close()
        return planned.plan, _context(file, api, planned)

    def run() -> list[tuple[Plan, PlanContext] | Exception]:
        from osaccess.parallel import map_bounded

        return map_bounded(files, plan_one, parallel, label=lambda f: f.path, what="planned")

    outcomes = _guarded(debug, run)
    plans = [o for o in outcomes if not isinstance(o, Exception)]
    failed = [(f, o) for f, o in zip(files, outcomes, strict=True) if isinstance(o, Exception)]
    _render(plans, output_format)
    for file, exc in failed:
        _print_error(exc, debug, file.path)
    if out is not None:
        _guarded(debug, lambda: _write_out(out, plans))
        typer.echo(
            f"Plan written to {out}; apply it exactly with: osaccess apply --plan {out}", err=True
        )
    pending = any(not p.empty for p, _ in plans)
    if len(files) > 1:
        changed = sum(1 for p, _ in plans if not p.empty)
        typer.echo(
            f"Summary: {len(files)} file(s): {changed} with changes, "
            f"{len(plans) - changed} up to date, {len(failed)} failed.",
            err=True,
        )
    if failed:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_CHANGES if pending and detailed_exitcode else EXIT_OK)


ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Apply although the plan removes more than the threshold or "
        "deletes whole mappings (never lifts the lockout or protect guards).",
    ),
]
AuditOpt = Annotated[
    Path | None,
    typer.Option("--audit-log", help="Append a JSON record of each apply to this file."),
]


def _audited(audit_log: Path | None, record: AuditRecord, action: Callable[[], None]) -> None:
    """Run one apply; record how it ended (on stderr, and in the audit log when asked)."""
    from osaccess.errors import OsaccessError, Refused

    try:
        action()
    except Refused as exc:
        record.result, record.error = "refused", exc.message
        raise
    except typer.Exit as exc:
        if record.result == "started":
            record.result = "declined" if exc.exit_code else "nothing to do"
        raise
    except OsaccessError as exc:
        record.result, record.error = "failed", exc.message
        raise
    finally:
        if record.result != "started":
            _conclude(audit_log, record)


def _conclude(audit_log: Path | None, record: AuditRecord) -> None:
    """How an apply ended: a line on stderr, and a record in the audit log when asked."""
    from osaccess import audit

    typer.echo(record.summary(), err=True)
    if audit_log is not None:
        audit.append(audit_log, record)


@app.command(epilog=EXIT_CODES_HELP)
def apply(
    paths: PathsArg = None,
    endpoint: EndpointOpt = None,
    ca_certs: CaCertsOpt = None,
    profile: ProfileOpt = None,
    auth: AuthOpt = None,
    username: UsernameOpt = None,
    timeout: TimeoutOpt = 30.0,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: ForceOpt = False,
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", help="Apply exactly this reviewed plan (from plan --out)."),
    ] = None,
    audit_log: AuditOpt = None,
    parallel: ParallelOpt = 8,
    debug: DebugOpt = False,
) -> None:
    """Make each cluster match its file: one atomic PATCH per cluster, then verify.

    Safety refusals (lockout, protected principal, threshold, stale or altered plan) exit 3."""
    _setup_logging(debug)
    files = (
        _guarded(debug, lambda: _load_all(paths, quiet_ok=True))
        if (paths or plan_file is None)
        else []
    )
    overrides = _overrides(endpoint, ca_certs, profile, auth, username, timeout)
    if not yes and not sys.stdin.isatty():
        typer.echo("error: apply changes clusters; not on a terminal, so it needs --yes", err=True)
        typer.echo("hint: review `osaccess plan` first, then run apply --yes", err=True)
        raise typer.Exit(EXIT_ERROR)

    def confirm(endpoint_: str) -> None:
        if not yes and not typer.confirm(f"Apply these changes to {endpoint_}?"):
            typer.echo("Not applied.", err=True)
            raise typer.Exit(EXIT_ERROR)

    def report(result: ApplyResult, endpoint_: str, reviewed: bool) -> None:
        from osaccess.render import summary_line

        typer.echo(
            f"Applied to {endpoint_} in one request: "
            f"{summary_line(result.plan).removeprefix('Plan: ')}"
        )
        if result.attempts > 1:
            typer.echo(
                f"(after {result.attempts - 1} conflict(s) with another writer"
                f"{'' if reviewed else ', re-planned'})"
            )
        typer.echo("Verified: the cluster now matches the " + ("plan." if reviewed else "file."))

    def run_files() -> int:
        """Plan every file (in parallel), confirm once, apply (in parallel); the worst exit."""
        from osaccess.audit import AuditRecord
        from osaccess.engine import connect, execute, make_plan, refuse_if_unsafe
        from osaccess.errors import Refused
        from osaccess.parallel import map_bounded
        from osaccess.render import render_text

        worst = EXIT_OK

        def finish(record: AuditRecord, result: str, exc: Exception | None = None) -> None:
            nonlocal worst
            record.result = result
            if exc is not None:
                record.error = getattr(exc, "message", str(exc))
                _print_error(exc, debug, record.file)
                worst = max(worst, _exit_code(exc), key=_severity)
            _conclude(audit_log, record)

        def plan_one(file: MappingFile) -> tuple[SecurityApi, Planned]:
            api = connect(file, overrides)
            try:
                return api, make_plan(api, file)
            except Exception:
                api.transport.close()
                raise

        planned_all = map_bounded(files, plan_one, parallel, label=lambda f: f.path, what="planned")
        ready: list[tuple[MappingFile, SecurityApi, Planned, AuditRecord]] = []
        for file, outcome in zip(files, planned_all, strict=True):
            if isinstance(outcome, Exception):
                finish(
                    AuditRecord(file.path, overrides.endpoint or file.cluster.endpoint),
                    "failed",
                    outcome,
                )
                continue
            api, planned = outcome
            record = AuditRecord(
                file.path,
                api.endpoint,
                plan=planned.plan,
                caller=planned.identity.user_name if planned.identity else None,
            )
            render_text(planned.plan, _context(file, api, planned), sys.stdout, color=_use_color())
            try:
                if planned.plan.empty:
                    finish(record, "nothing to do")
                    continue
                refuse_if_unsafe(planned.refusals, force)
            except Refused as exc:
                finish(record, "refused", exc)
                api.transport.close()
                continue
            ready.append((file, api, planned, record))
        try:
            if ready and not yes:
                where = ", ".join(api.endpoint for _, api, _, _ in ready)
                if not typer.confirm(f"Apply these changes to {where}?"):
                    typer.echo("Not applied.", err=True)
                    for *_, record in ready:
                        finish(record, "declined")
                    return EXIT_ERROR

            def apply_one(
                item: tuple[MappingFile, SecurityApi, Planned, AuditRecord],
            ) -> ApplyResult:
                file, api, planned, _ = item
                return execute(api, file, planned, force=force)

            results = map_bounded(
                ready, apply_one, parallel, label=lambda i: i[0].path, what="applied"
            )
            for (_, api, _, record), result in zip(ready, results, strict=True):
                if isinstance(result, Exception):
                    finish(record, "failed", result)
                else:
                    record.plan = result.plan
                    report(result, api.endpoint, reviewed=False)
                    finish(record, "applied")
        finally:
            for _, api, _, _ in ready:
                api.transport.close()
        if len(files) > 1:
            typer.echo(f"Summary: {len(files)} file(s) processed; exit {worst}.", err=True)
        return worst

    def run_reviewed(path: Path) -> None:
        from osaccess.audit import AuditRecord
        from osaccess.engine import connect_spec, execute_reviewed
        from osaccess.errors import Refused
        from osaccess.planfile import load_reviewed
        from osaccess.render import PlanContext, render_text

        try:
            entries = load_reviewed(path)
        except Refused as exc:
            record = AuditRecord(
                str(path), overrides.endpoint or "unknown", extra={"plan_file": str(path)}
            )
            # records the refusal (stderr, audit log), then raises it again
            _audited(audit_log, record, functools.partial(_raise, exc))
            raise
        by_path = {f.path: f for f in files}
        for entry in entries:
            target = entry.cluster.endpoint
            asked = overrides.endpoint or (
                by_path[entry.file].cluster.endpoint if entry.file in by_path else None
            )
            if files and entry.file not in by_path:
                raise Refused(
                    f"{path}: the plan is for {entry.file}, which is not among the files given",
                    hint="give the same files the plan was made for",
                )
            if asked is not None and asked.rstrip("/") != target.rstrip("/"):
                raise Refused(
                    f"{path}: the plan was made for another cluster ({target}, not {asked})",
                    hint="apply a plan only to the cluster it was made for",
                )
            from dataclasses import replace

            api = connect_spec(entry.cluster, replace(overrides, endpoint=None))
            api.prefix = entry.api_prefix
            record = AuditRecord(
                entry.file, api.endpoint, plan=entry.plan, extra={"plan_file": str(path)}
            )

            def one(
                api: SecurityApi = api, entry: Reviewed = entry, record: AuditRecord = record
            ) -> None:
                context = PlanContext(entry.file, api.endpoint, entry.api_prefix)
                render_text(entry.plan, context, sys.stdout, color=_use_color())
                if entry.plan.empty:
                    record.result = "nothing to do"
                    return
                confirm(api.endpoint)
                result = execute_reviewed(
                    api,
                    entry.plan,
                    entry.safety,
                    force=force,
                    on_identity=lambda who: setattr(record, "caller", who),
                )
                record.result = "applied"
                report(result, api.endpoint, reviewed=True)

            try:
                _audited(audit_log, record, one)
            finally:
                api.transport.close()

    if plan_file is not None:
        _guarded(debug, lambda: run_reviewed(plan_file))
    else:
        raise typer.Exit(_guarded(debug, run_files))


# -- day two: import, explain, whoami, doctor, schema ------------------------------------------
