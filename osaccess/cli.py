"""The osaccess command line. Thin: parse options, call the library, map outcomes to exit codes.

Exit codes (the same for every command):
  0   success; for plan: no changes, or changes without --detailed-exitcode
  1   error: bad input, cluster unreachable or refusing, verification failed
  2   plan --detailed-exitcode: changes are pending (drift)
  3   apply refused for safety: lockout, protected principal, removal threshold, stale or
      altered plan
  64  usage error: unknown option, missing argument
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from osaccess import __version__

if TYPE_CHECKING:  # only for types: validate and --help must not import the HTTP stack
    from osaccess.audit import AuditRecord
    from osaccess.cluster import SecurityApi
    from osaccess.engine import ApplyResult, Overrides, Planned
    from osaccess.model import ClusterSpec, MappingFile
    from osaccess.plan import Plan
    from osaccess.planfile import Reviewed
    from osaccess.render import PlanContext

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_REFUSED = 3
EXIT_USAGE = 64

EXIT_CODES_HELP = (
    "Exit codes: 0 success (plan: no changes), 1 error, 2 changes pending "
    "(plan --detailed-exitcode), 3 refused for safety, 64 usage error."
)

app = typer.Typer(
    name="osaccess",
    help="OpenSearch fine-grained access control as code: validate, plan and apply role "
    "mappings.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
sandbox_app = typer.Typer(
    help="The local sandbox: an IAM gateway and STS endpoint in front of a local OpenSearch.",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")

T = TypeVar("T")


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"osaccess {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    """OpenSearch fine-grained access control as code."""


# -- shared options ---------------------------------------------------------------------------

PathsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Mapping files or directories of them.", show_default="mappings/"),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        envvar="OSACCESS_ENDPOINT",
        help="Use this endpoint instead of cluster.endpoint (e.g. the local sandbox).",
    ),
]
CaCertsOpt = Annotated[
    str | None,
    typer.Option(envvar="OSACCESS_CA_CERTS", help="CA bundle to verify the cluster's TLS."),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(help="AWS profile (default: the AWS credential chain, AWS_PROFILE)."),
]
AuthOpt = Annotated[
    str | None,
    typer.Option(help="Override cluster.auth: aws, basic, cert or none."),
]
UsernameOpt = Annotated[
    str | None,
    typer.Option(
        envvar="OSACCESS_USERNAME",
        help="User name for basic auth (the password: OSACCESS_PASSWORD).",
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        envvar="OSACCESS_TIMEOUT",
        min=0.1,
        help="Seconds to wait for each answer (reads are retried a few times).",
    ),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="Log requests (never secrets) and show tracebacks.")
]
ParallelOpt = Annotated[
    int,
    typer.Option(
        "--parallel",
        "-j",
        min=1,
        max=64,
        help="Clusters to work on at the same time (one failing does not stop the others).",
    ),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Also write the plan as JSON to this file."),
]


def _setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s" if debug else "%(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # Libraries below us log headers at DEBUG; osaccess logs what matters itself.
    for noisy in ("urllib3", "botocore", "boto3", "requests_aws4auth"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _fail(exc: BaseException, debug: bool) -> NoReturn:
    from osaccess.errors import OsaccessError, Refused

    if debug:
        traceback.print_exception(exc)
    typer.echo(f"{'refused' if isinstance(exc, Refused) else 'error'}: {exc}", err=True)
    hint = exc.hint if isinstance(exc, OsaccessError) else None
    if hint:
        typer.echo(f"hint: {hint}", err=True)
    raise typer.Exit(EXIT_REFUSED if isinstance(exc, Refused) else EXIT_ERROR)


def _guarded(debug: bool, action: Callable[[], T]) -> T:
    from osaccess.errors import OsaccessError

    try:
        return action()
    except OsaccessError as exc:
        _fail(exc, debug)
    except typer.Exit:
        raise
    except Exception as exc:  # a bug: say so plainly, details with --debug
        if debug:
            traceback.print_exception(exc)
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc}", err=True)
        typer.echo("hint: run again with --debug and report the output", err=True)
        raise typer.Exit(EXIT_ERROR) from None


def _load_all(paths: list[str] | None, quiet_ok: bool = False) -> list[MappingFile]:
    """Load and validate every file; print problems; exit 1 if any file has errors."""
    from osaccess.config import find_files, load

    files, problems = find_files(paths or ["mappings"])
    for problem in problems:
        typer.echo(problem.render(), err=True)
    if problems:
        raise typer.Exit(EXIT_ERROR)
    loaded: list[MappingFile] = []
    failed = False
    for path in files:
        result = load(path)
        for problem in result.problems:
            typer.echo(problem.render(), err=True)
        if result.file is None:
            failed = True
            typer.echo(f"{path}: {len(result.errors)} error(s); nothing was sent.", err=True)
        else:
            loaded.append(result.file)
            if not quiet_ok:
                roles = len(result.file.roles)
                principals = sum(r.mapping.principal_count for r in result.file.roles)
                warned = f", {len(result.warnings)} warning(s)" if result.warnings else ""
                typer.echo(
                    f"{path}: OK ({roles} role(s), {principals} principal(s){warned})", err=True
                )
    if failed:
        raise typer.Exit(EXIT_ERROR)
    return loaded


# -- validate / plan / apply ------------------------------------------------------------------


@app.command()
def validate(paths: PathsArg = None, debug: DebugOpt = False) -> None:
    """Check mapping files offline: placement of ARNs, types, names. Sends nothing."""
    _setup_logging(debug)
    _guarded(debug, lambda: _load_all(paths))


def _overrides(
    endpoint: str | None,
    ca_certs: str | None,
    profile: str | None,
    auth: str | None,
    username: str | None,
    timeout: float = 30.0,
) -> Overrides:
    from osaccess.engine import Overrides

    return Overrides(
        endpoint=endpoint,
        ca_certs=ca_certs,
        profile=profile,
        auth=auth,
        username=username,
        password=os.environ.get("OSACCESS_PASSWORD"),
        timeout=timeout,
    )


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


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
        _report_failure(file.path, exc, debug)
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


def _raise(exc: Exception) -> NoReturn:
    raise exc


def _severity(code: int) -> int:
    """Order of exit codes from best to worst: 0, 2 (changes), 3 (refused), 1 (error)."""
    return {EXIT_OK: 0, EXIT_CHANGES: 1, EXIT_REFUSED: 2, EXIT_ERROR: 3}.get(code, 3)


def _report_failure(path: str, exc: Exception, debug: bool) -> None:
    from osaccess.errors import OsaccessError

    if debug:
        traceback.print_exception(exc)
    kind = "refused" if type(exc).__name__ == "Refused" else "error"
    message = (
        str(exc) if isinstance(exc, OsaccessError) else f"unexpected {type(exc).__name__}: {exc}"
    )
    typer.echo(f"{kind}: {path}: {message}", err=True)
    hint = exc.hint if isinstance(exc, OsaccessError) else None
    if hint:
        typer.echo(f"hint: {hint}", err=True)


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
    from osaccess import audit
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
        from osaccess import audit
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
                _report_failure(record.file, exc, debug)
                code = EXIT_REFUSED if isinstance(exc, Refused) else EXIT_ERROR
                worst = max(worst, code, key=_severity)
            typer.echo(record.summary(), err=True)
            if audit_log is not None:
                audit.append(audit_log, record)

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

ClusterFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--cluster",
        "-c",
        help="Take the cluster block (endpoint, auth, ...) from this mapping file.",
    ),
]
RegionOpt = Annotated[str | None, typer.Option(help="AWS region (with --endpoint).")]
AssumeRoleOpt = Annotated[
    str | None, typer.Option("--assume-role", help="IAM role to assume (with --endpoint).")
]


def _cluster_spec(
    cluster_file: Path | None,
    endpoint: str | None,
    auth: str | None,
    region: str | None,
    assume_role: str | None,
    ca_certs: str | None,
) -> ClusterSpec:
    """The cluster to talk to: a file's cluster block, or --endpoint and friends."""
    from dataclasses import replace

    from osaccess.config import region_from_endpoint
    from osaccess.errors import ConfigError
    from osaccess.model import ClusterSpec

    if cluster_file is not None:
        (file,) = _load_all([str(cluster_file)], quiet_ok=True)
        spec = file.cluster
        if endpoint:
            spec = replace(spec, endpoint=endpoint)
        return replace(
            spec,
            region=region or spec.region,
            assume_role=assume_role or spec.assume_role,
            auth=auth or spec.auth,
            ca_certs=ca_certs or spec.ca_certs,
        )
    if not endpoint:
        raise ConfigError(
            "which cluster? give --cluster FILE or --endpoint URL",
            hint="e.g. --endpoint https://search-x.eu-west-1.es.amazonaws.com",
        )
    return ClusterSpec(
        endpoint=endpoint.rstrip("/"),
        auth=auth or "aws",
        region=region or region_from_endpoint(endpoint),
        assume_role=assume_role,
        ca_certs=ca_certs,
    )


@app.command("import")
def import_(
    cluster_file: ClusterFileOpt = None,
    endpoint: EndpointOpt = None,
    auth: AuthOpt = None,
    region: RegionOpt = None,
    assume_role: AssumeRoleOpt = None,
    ca_certs: CaCertsOpt = None,
    profile: ProfileOpt = None,
    username: UsernameOpt = None,
    timeout: TimeoutOpt = 30.0,
    out: Annotated[Path | None, typer.Option("--out", help="Write here, not to stdout.")] = None,
    debug: DebugOpt = False,
) -> None:
    """Write a mapping file from what a cluster holds (then `plan` shows no changes)."""
    _setup_logging(debug)

    def run() -> str:
        from dataclasses import replace

        from osaccess.engine import connect_spec
        from osaccess.importer import render_import

        spec = _cluster_spec(cluster_file, endpoint, auth, region, assume_role, ca_certs)
        if username and spec.auth == "basic":
            spec = replace(spec, username=username)
        overrides = _overrides(None, None, profile, None, username, timeout)
        api = connect_spec(spec, overrides)
        try:
            live = api.read_state()
        finally:
            api.transport.close()
        return render_import(live, spec, source=spec.endpoint)

    text = _guarded(debug, run)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}; check it with: osaccess plan {out}", err=True)


@app.command()
def explain(
    principal: Annotated[
        str | None,
        typer.Argument(help="An IAM user or role ARN, an STS session ARN, or a user name."),
    ] = None,
    role: Annotated[str | None, typer.Option("--role", help="Who holds this role?")] = None,
    backend_role: Annotated[
        list[str] | None,
        typer.Option("--backend-role", help="Backend roles of a plain user name (repeat)."),
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from", help="Explain offline, from this mapping file.")
    ] = None,
    cluster_file: ClusterFileOpt = None,
    endpoint: EndpointOpt = None,
    auth: AuthOpt = None,
    region: RegionOpt = None,
    assume_role: AssumeRoleOpt = None,
    ca_certs: CaCertsOpt = None,
    profile: ProfileOpt = None,
    username: UsernameOpt = None,
    timeout: TimeoutOpt = 30.0,
    output_format: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
) -> None:
    """Who has access, and why: the mappings that match a principal, its roles, and what they
    allow; or, with --role, who holds a role."""
    _setup_logging(debug)
    if (principal is None) == (role is None):
        typer.echo("error: give a PRINCIPAL or --role NAME (one of them)", err=True)
        raise typer.Exit(EXIT_USAGE)

    def run() -> tuple[dict[str, Any], str]:
        from osaccess.explain import (
            explain as explain_,
        )
        from osaccess.explain import (
            holders,
            render_explanation,
            render_holders,
            subject_for,
        )
        from osaccess.model import RoleMapping

        definitions: dict[str, dict[str, Any]] | None = None
        if from_file is not None:
            (file,) = _load_all([str(from_file)], quiet_ok=True)
            mappings: dict[str, RoleMapping] = {
                r.name: r.mapping for r in file.roles if not r.absent
            }
            source = (
                f"{from_file} (offline: what the file grants; shared roles also keep "
                "what the cluster holds)"
            )
        else:
            from osaccess.engine import connect_spec

            spec = _cluster_spec(cluster_file, endpoint, auth, region, assume_role, ca_certs)
            api = connect_spec(spec, _overrides(None, None, profile, None, username, timeout))
            try:
                live = api.read_mappings()
                definitions = api.read_role_definitions()
            finally:
                api.transport.close()
            mappings = {name: entry.mapping for name, entry in live.items()}
            source = f"{spec.endpoint} (live)"
        if role is not None:
            data = holders(role, mappings.get(role))
            data["source"] = source
            return data, render_holders(data)
        result = explain_(subject_for(principal or "", backend_role), mappings, definitions, source)
        return result.data(), render_explanation(result)

    data, text = _guarded(debug, run)
    if output_format is OutputFormat.json:
        import json

        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(text)


@app.command()
def whoami(
    cluster_file: ClusterFileOpt = None,
    endpoint: EndpointOpt = None,
    auth: AuthOpt = None,
    region: RegionOpt = None,
    assume_role: AssumeRoleOpt = None,
    ca_certs: CaCertsOpt = None,
    profile: ProfileOpt = None,
    username: UsernameOpt = None,
    timeout: TimeoutOpt = 30.0,
    debug: DebugOpt = False,
) -> None:
    """Who the current credentials are to OpenSearch, and whether they may change role
    mappings."""
    _setup_logging(debug)

    def run() -> tuple[str, bool]:
        from osaccess.engine import connect_spec

        spec = _cluster_spec(cluster_file, endpoint, auth, region, assume_role, ca_certs)
        api = connect_spec(spec, _overrides(None, None, profile, None, username, timeout))
        from osaccess.errors import ClusterError

        error: ClusterError | None = None
        try:
            info = api.authinfo()
            try:
                api.read_mappings()
                error = api.write_refusal()
            except ClusterError as exc:
                error = exc
        finally:
            api.transport.close()
        lines = [
            f"user name      {info.get('user_name')}",
            f"backend roles  {', '.join(map(str, info.get('backend_roles') or [])) or '(none)'}",
            f"roles          {', '.join(sorted(map(str, info.get('roles') or []))) or '(none)'}",
            f"cluster        {api.endpoint}" + (f" ({api.prefix})" if api.prefix else ""),
        ]
        if error is None:
            lines.append("role mappings  can read and change them")
        else:
            lines.append(f"role mappings  cannot change them: {error.message}")
            if error.hint:
                lines.append(f"fix            {error.hint}")
        return "\n".join(lines) + "\n", error is None

    text, ok = _guarded(debug, run)
    sys.stdout.write(text)
    raise typer.Exit(EXIT_OK if ok else EXIT_ERROR)


@app.command()
def doctor(
    paths: PathsArg = None,
    endpoint: EndpointOpt = None,
    ca_certs: CaCertsOpt = None,
    profile: ProfileOpt = None,
    auth: AuthOpt = None,
    username: UsernameOpt = None,
    timeout: TimeoutOpt = 10.0,
    debug: DebugOpt = False,
) -> None:
    """Check, in order, everything plan and apply need; one line per check, with advice."""
    _setup_logging(debug)
    files = _guarded(debug, lambda: _load_all(paths, quiet_ok=True))
    overrides = _overrides(endpoint, ca_certs, profile, auth, username, timeout)

    def run() -> bool:
        from osaccess.doctor import run_checks
        from osaccess.engine import connect

        healthy = True
        for file in files:
            api = connect(file, overrides)
            typer.echo(f"{file.path} -> {api.endpoint}")
            try:
                for check in run_checks(api, file):
                    typer.echo("  " + check.render().replace("\n", "\n  "))
                    healthy = healthy and check.ok
            finally:
                api.transport.close()
        return healthy

    healthy = _guarded(debug, run)
    typer.echo("All checks passed." if healthy else "Some checks failed.", err=not healthy)
    raise typer.Exit(EXIT_OK if healthy else EXIT_ERROR)


@app.command()
def schema() -> None:
    """Print the JSON Schema of mapping files (for editors and CI)."""
    import json

    from osaccess.schema import mapping_file_schema

    sys.stdout.write(json.dumps(mapping_file_schema(), indent=2, sort_keys=True) + "\n")


@sandbox_app.command("gateway")
def sandbox_gateway(
    listen: Annotated[str, typer.Option(help="HOST:PORT to serve HTTPS on.")] = "127.0.0.1:9201",
    upstream: Annotated[str, typer.Option(help="The OpenSearch node.")] = "https://127.0.0.1:9200",
    principals: Annotated[Path, typer.Option(help="Table of fake IAM principals.")] = Path(
        "sandbox/principals.yml"
    ),
    ca_certs: Annotated[Path, typer.Option(help="CA that signed the node's certificate.")] = Path(
        "sandbox/certs/ca.pem"
    ),
    cert: Annotated[Path, typer.Option(help="The gateway's certificate.")] = Path(
        "sandbox/certs/gateway.pem"
    ),
    key: Annotated[Path, typer.Option(help="The gateway's private key.")] = Path(
        "sandbox/certs/gateway-key.pem"
    ),
    sts_port: Annotated[
        int, typer.Option(help="Port of the local STS endpoint (0 to run none).")
    ] = 9202,
) -> None:
    """Serve the local IAM gateway (SigV4 verification, as Amazon OpenSearch Service does)."""
    from osaccess.sandbox.gateway import GatewayConfig, serve
    from osaccess.sandbox.principals import PrincipalTableError, load_principals

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    host, _, port = listen.rpartition(":")
    try:
        table = load_principals(principals)
    except PrincipalTableError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    config = GatewayConfig(
        listen_host=host or "127.0.0.1",
        listen_port=int(port),
        upstream=upstream.rstrip("/"),
        ca_certs=ca_certs,
        cert=cert,
        key=key,
        region=table.region,
    )
    with contextlib.suppress(KeyboardInterrupt):
        serve(config, table, sts_port or None)


@sandbox_app.command("profiles")
def sandbox_profiles(
    out_dir: Annotated[Path, typer.Option(help="Where to write config and credentials.")],
    principals: Annotated[Path, typer.Option(help="Table of fake IAM principals.")] = Path(
        "sandbox/principals.yml"
    ),
    sts_url: Annotated[str, typer.Option(help="The local STS endpoint.")] = (
        "http://127.0.0.1:9202"
    ),
) -> None:
    """Write AWS config/credentials files with a profile per sandbox principal."""
    from osaccess.sandbox.gateway import write_aws_profiles
    from osaccess.sandbox.principals import PrincipalTableError, load_principals

    try:
        table = load_principals(principals)
    except PrincipalTableError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    config_path, cred_path = write_aws_profiles(table, out_dir, sts_url)
    typer.echo(f"{config_path}\n{cred_path}")


@sandbox_app.command("identities")
def sandbox_identities(
    gateway: Annotated[
        str, typer.Option(envvar="OSACCESS_GATEWAY_URL", help="The IAM gateway.")
    ] = "https://127.0.0.1:9201",
    ca_certs: Annotated[
        str, typer.Option(envvar="OSACCESS_CA_CERTS", help="The sandbox CA.")
    ] = "sandbox/certs/ca.pem",
    principals: Annotated[Path, typer.Option(help="Table of fake IAM principals.")] = Path(
        "sandbox/principals.yml"
    ),
) -> None:
    """Show who each sandbox principal is to OpenSearch (signed authinfo via the gateway)."""
    from osaccess.errors import OsaccessError
    from osaccess.sandbox.identities import identify, sandbox_profiles
    from osaccess.sandbox.principals import PrincipalTableError, load_principals

    try:
        table = load_principals(principals)
        for profile, arn in sandbox_profiles(table):
            who = identify(gateway, ca_certs, profile, arn)
            typer.echo(f"{profile}")
            typer.echo(f"  user name      {who.user_name}")
            typer.echo(f"  backend roles  {', '.join(who.backend_roles) or '(none)'}")
            typer.echo(f"  roles          {', '.join(who.roles) or '(none)'}")
    except (PrincipalTableError, OsaccessError) as exc:
        typer.echo(f"error: {exc}", err=True)
        hint = getattr(exc, "hint", None)
        if hint:
            typer.echo(f"hint: {hint}", err=True)
        raise typer.Exit(1) from None


def _click_exceptions() -> Any:
    # Recent typer releases vendor click as typer._click; older ones use click itself.
    try:
        return importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - depends on the installed typer
        return importlib.import_module("click.exceptions")


def main() -> None:
    """Entry point: runs the app and maps usage errors to exit code 64."""
    command = typer.main.get_command(app)
    click_exceptions = _click_exceptions()
    try:
        # Without standalone mode click returns the exit code of typer.Exit instead of exiting.
        code = command.main(standalone_mode=False)
    except click_exceptions.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except BrokenPipeError:
        # the reader went away (osaccess plan | head): stop quietly
        sys.stderr.close()
        sys.exit(EXIT_ERROR)
    except click_exceptions.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except click_exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
