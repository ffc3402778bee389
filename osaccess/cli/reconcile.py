"""validate, plan and apply."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from osaccess.cli import (
    EXIT_CODES_HELP,
    EXIT_ERROR,
    AnswerFormat,
    AnswerFormatOpt,
    AssumeRoleOpt,
    AuthOpt,
    CaCertsOpt,
    DebugOpt,
    EndpointOpt,
    FormatOpt,
    OutputFormat,
    ParallelOpt,
    PathsArg,
    ProfileOpt,
    RegionOpt,
    TimeoutOpt,
    UsernameOpt,
    app,
    connection,
    load_files,
    print_error,
    use_color,
)

if TYPE_CHECKING:  # only for types: validate and --help must not import the HTTP stack
    from osaccess.run.pipeline import Outcome


@app.command()
def validate(
    paths: PathsArg = None,
    iam: Annotated[
        bool,
        typer.Option(
            "--iam",
            help="Also ask IAM (read-only) whether each IAM user and role ARN exists exactly.",
        ),
    ] = False,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
    assume_role: AssumeRoleOpt = None,
    auth: AuthOpt = None,
    ca_certs: CaCertsOpt = None,
    profile: ProfileOpt = None,
    username: UsernameOpt = None,
    timeout: TimeoutOpt = 30.0,
    debug: DebugOpt = False,
) -> None:
    """Check mapping files offline: placement of ARNs, types, names. Sends nothing to the
    clusters; with --iam, asks IAM whether the principals exist."""
    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )
    files = load_files(paths)
    if _offline_tests(files, quiet=True):
        raise typer.Exit(EXIT_ERROR)
    if not iam:
        return
    from osaccess.api import check_iam

    checks = check_iam(files, overrides)
    for check in checks:
        if not check.checked:
            typer.echo(f"{check.path}: IAM not checked (auth is not aws)", err=True)
            continue
        for problem in check.problems:
            typer.echo(f"error: {problem}", err=True)
        for arn, name in sorted(check.names.items(), key=lambda item: item[1]):
            typer.echo(f"{check.path}: {name} is {arn}", err=True)
        for finding in check.findings:
            if finding.status == "missing":
                typer.echo(f"{check.path}: error: {finding.text()}", err=True)
            elif finding.status == "not checked":
                typer.echo(f"{check.path}: note: {finding.text()}", err=True)
        typer.echo(f"{check.path}: IAM: {check.existing} principal(s) exist exactly", err=True)
    if any(check.missing for check in checks):
        raise typer.Exit(EXIT_ERROR)


def _offline_tests(files: list[Any], *, quiet: bool = False) -> list[Any]:
    """Run each file's access tests against the file alone; print them; the failing reports."""
    if not any(file.tests for file in files):
        return []
    from osaccess.api import test_offline

    reports = test_offline(files)
    for report in reports:
        if not (quiet and report.ok):
            typer.echo("\n".join(report.lines()), err=not report.ok)
    return [report for report in reports if not report.ok]


@app.command("test")
def test_(
    paths: PathsArg = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Against the file alone, with the built-in definitions."),
    ] = False,
    output_format: AnswerFormatOpt = AnswerFormat.text,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
    assume_role: AssumeRoleOpt = None,
    auth: AuthOpt = None,
    ca_certs: CaCertsOpt = None,
    profile: ProfileOpt = None,
    username: UsernameOpt = None,
    timeout: TimeoutOpt = 30.0,
    debug: DebugOpt = False,
) -> None:
    """Run the files' access tests (tests:) against the state each file would produce on its
    cluster (its plan applied, read-only), or with --offline against the file alone. Exit 0:
    all hold; 1: a test fails (each is named, with the reason)."""
    import json

    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )

    files = load_files(paths, quiet_ok=True)
    reports, failed = [], False
    if offline:
        from osaccess.api import test_offline

        reports = test_offline(files)
    else:
        from osaccess.run.orchestrator import plan_files

        for outcome in plan_files([f for f in files if f.tests], overrides):
            if outcome.error is not None:
                print_error(outcome.error, outcome.file)
                failed = True
            elif outcome.context is not None and outcome.context.tests is not None:
                reports.append(outcome.context.tests)
    if output_format is AnswerFormat.json:
        data = {"reports": [r.data() for r in reports], "ok": all(r.ok for r in reports)}
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        for report in reports:
            sys.stdout.write("\n".join(report.lines()) + "\n")
        if not reports and not failed:
            typer.echo("no access tests in these files (add a tests: list)", err=True)
    if failed or not all(r.ok for r in reports):
        raise typer.Exit(EXIT_ERROR)


def _render(outcomes: list[Outcome], fmt: OutputFormat) -> None:
    from osaccess.run.plandoc import dump
    from osaccess.run.render import render_markdown, render_text

    planned = [(o.plan, o.context) for o in outcomes if o.plan is not None and o.context]
    if fmt is OutputFormat.json:
        sys.stdout.write(dump(planned))
        return
    for index, (plan_, context) in enumerate(planned):
        if index:
            sys.stdout.write("\n")
        if fmt is OutputFormat.markdown:
            render_markdown(plan_, context, sys.stdout)
        else:
            render_text(plan_, context, sys.stdout, color=use_color())


RotateOpt = Annotated[
    bool,
    typer.Option(
        "--rotate-passwords",
        help="Send every internal user's password again, from its source, even if its version "
        "did not change.",
    ),
]


@app.command(epilog=EXIT_CODES_HELP)
def plan(
    paths: PathsArg = None,
    output_format: FormatOpt = OutputFormat.text,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the plan as JSON to this file.")
    ] = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    parallel: ParallelOpt = 8,
    rotate_passwords: RotateOpt = False,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
    assume_role: AssumeRoleOpt = None,
    auth: AuthOpt = None,
    ca_certs: CaCertsOpt = None,
    profile: ProfileOpt = None,
    username: UsernameOpt = None,
    timeout: TimeoutOpt = 30.0,
    debug: DebugOpt = False,
) -> None:
    """Show what apply would change on each cluster, and whether apply would refuse. Read-only.

    With --out, the plan can be applied later exactly as reviewed: apply --plan FILE."""
    from osaccess.errors import ConfigError

    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )
    from osaccess.run.orchestrator import plan_files
    from osaccess.run.pipeline import worst_exit
    from osaccess.run.plandoc import dump

    files = load_files(paths, quiet_ok=True)
    overrides = replace(overrides, rotate_passwords=rotate_passwords)
    outcomes = plan_files(files, overrides, parallel=parallel)
    _render(outcomes, output_format)
    for outcome in outcomes:
        if outcome.error is not None:
            print_error(outcome.error, outcome.file)
    if out is not None:
        planned = [(o.plan, o.context) for o in outcomes if o.plan is not None and o.context]
        try:
            out.write_text(dump(planned), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot write {out}: {exc.strerror or exc}", hint="check the --out path"
            ) from None
        typer.echo(
            f"Plan written to {out}; apply it exactly with: osaccess apply --plan {out}", err=True
        )
    if len(files) > 1:
        changed = sum(1 for o in outcomes if o.pending)
        failed = sum(1 for o in outcomes if o.error is not None)
        typer.echo(
            f"Summary: {len(files)} file(s): {changed} with changes, "
            f"{len(files) - changed - failed} up to date, {failed} failed.",
            err=True,
        )
    raise typer.Exit(worst_exit(outcomes, detailed_exitcode))


@app.command(epilog=EXIT_CODES_HELP)
def apply(
    paths: PathsArg = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Apply although the plan removes more than the threshold, deletes whole "
            "mappings or users, or changes your own internal user (never lifts the lockout or "
            "protect guards of mappings).",
        ),
    ] = False,
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", help="Apply exactly this reviewed plan (from plan --out)."),
    ] = None,
    audit_log: Annotated[
        Path | None,
        typer.Option("--audit-log", help="Append a JSON record of each apply to this file."),
    ] = None,
    parallel: ParallelOpt = 8,
    max_operations: Annotated[
        int | None,
        typer.Option(
            "--max-operations-per-write",
            min=1,
            help="Split each resource type's PATCH into writes of at most N changes. Each write "
            "is atomic, the whole apply is not; the output and the audit say which landed.",
        ),
    ] = None,
    rotate_passwords: RotateOpt = False,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
    assume_role: AssumeRoleOpt = None,
    auth: AuthOpt = None,
    ca_certs: CaCertsOpt = None,
    profile: ProfileOpt = None,
    username: UsernameOpt = None,
    timeout: TimeoutOpt = 30.0,
    debug: DebugOpt = False,
) -> None:
    """Make each cluster match its file: one atomic PATCH per cluster, then verify.

    Safety refusals (lockout, protected principal, threshold, stale or altered plan) exit 3."""
    from osaccess.run.orchestrator import apply_files, apply_reviewed

    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )
    from osaccess.run.pipeline import worst_exit
    from osaccess.run.render import render_text, summary_line

    files = load_files(paths, quiet_ok=True) if (paths or plan_file is None) else []
    overrides = replace(overrides, rotate_passwords=rotate_passwords)
    if not yes and not sys.stdin.isatty():
        typer.echo("error: apply changes clusters; not on a terminal, so it needs --yes", err=True)
        typer.echo("hint: review `osaccess plan` first, then run apply --yes", err=True)
        raise typer.Exit(EXIT_ERROR)

    def show(outcome: Outcome) -> None:
        if outcome.plan is not None and outcome.context is not None:
            render_text(outcome.plan, outcome.context, sys.stdout, color=use_color())

    def confirm(ready: list[Outcome]) -> bool:
        where = ", ".join(o.endpoint for o in ready)
        if yes or typer.confirm(f"Apply these changes to {where}?"):
            return True
        typer.echo("Not applied.", err=True)
        return False

    def progress(file: str, line: str) -> None:
        typer.echo(f"{file}: {line}" if len(files) > 1 else line, err=True)

    def done(outcome: Outcome) -> None:
        from osaccess.run.audit_log import Result

        if outcome.error is not None:
            print_error(outcome.error, outcome.file)
        elif outcome.result is Result.APPLIED and outcome.plan is not None:
            requests = len(outcome.writes)
            how = "in one request" if requests <= 1 else f"in {requests} requests"
            typer.echo(
                f"Applied to {outcome.endpoint} {how}: "
                f"{summary_line(outcome.plan).removeprefix('Plan: ')}"
            )
            for note in outcome.notes:
                typer.echo(f"note: {note}")
            if outcome.attempts > 1:
                replanned = "" if outcome.reviewed else ", re-planned"
                typer.echo(
                    f"(after {outcome.attempts - 1} conflict(s) with another writer{replanned})"
                )
            what = "plan." if outcome.reviewed else "file."
            typer.echo(f"Verified: the cluster now matches the {what}")
        typer.echo(outcome.audit_record().summary(), err=True)

    common: dict[str, Any] = {
        "force": force,
        "audit_log": audit_log,
        "confirm": confirm,
        "on_planned": show,
        "on_done": done,
        "max_operations": max_operations,
        "progress": progress,
    }
    if plan_file is not None:
        outcomes = apply_reviewed(plan_file, files, overrides, **common)
    else:
        outcomes = apply_files(files, overrides, parallel=parallel, **common)
    code = worst_exit(outcomes)
    if len(files) > 1 and plan_file is None:
        typer.echo(f"Summary: {len(files)} file(s) processed; exit {code}.", err=True)
    raise typer.Exit(code)
