"""The osaccess command line. Thin: parse options, call the library, render, and turn outcomes
into an exit code. No command speaks to a cluster itself: the library (osaccess.run.orchestrator,
osaccess.cluster.clients, osaccess.api) does.

Exit codes (the same for every command; each exception class carries its own, errors.py):
  0   success; for plan: no changes, or changes without --detailed-exitcode
  1   error: bad input, cluster unreachable or refusing, verification failed
  2   plan --detailed-exitcode: changes are pending (drift)
  3   apply refused for safety: lockout, protected principal, removal threshold, stale or
      altered plan
  4   can-i: no; who-can: nobody may
  5   can-i: it depends on what only the node knows
  64  usage error: unknown option, missing argument
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from osaccess import __version__, collector
from osaccess.errors import (
    EXIT_CHANGES,
    EXIT_DEPENDS,
    EXIT_ERROR,
    EXIT_NO,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    OsaccessError,
    exit_code,
)

if TYPE_CHECKING:  # only for types: validate and --help must not import the HTTP stack
    from osaccess.model import MappingFile
    from osaccess.overrides import Overrides

__all__ = [
    "EXIT_CHANGES",
    "EXIT_DEPENDS",
    "EXIT_ERROR",
    "EXIT_NO",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "app",
    "main",
]

EXIT_CODES_HELP = (
    "Exit codes: 0 success (plan: no changes), 1 error, 2 changes pending "
    "(plan --detailed-exitcode), 3 refused for safety, 4 no (can-i, who-can), 5 it depends "
    "(can-i), 64 usage error."
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


class OutputFormat(str, Enum):
    """What plan, apply and the access review render."""

    text = "text"
    json = "json"
    markdown = "markdown"


class AnswerFormat(str, Enum):
    """What test, explain, can-i and who-can render (no Markdown: --format markdown is refused)."""

    text = "text"
    json = "json"


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


# -- shared options: each is defined once, and commands name them in their signatures ----------

PathsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Mapping files or directories of them.", show_default="mappings/"),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
AnswerFormatOpt = Annotated[AnswerFormat, typer.Option("--format", "-f", help="Output format.")]
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
ClusterFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--cluster",
        "-c",
        help="Take the cluster block (endpoint, auth, ...) from this mapping file.",
    ),
]

# The connection options: every command that talks to a cluster takes all of them (in its
# signature, as plain typer parameters), and connection() makes them one
# osaccess.overrides.Overrides (the command line beats the file's cluster block).
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        envvar="OSACCESS_ENDPOINT",
        help="Use this endpoint instead of cluster.endpoint (e.g. the local sandbox).",
    ),
]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        help="AWS region (default: cluster.region, the endpoint, AWS_REGION, "
        "AWS_DEFAULT_REGION, the profile)."
    ),
]
AssumeRoleOpt = Annotated[
    str | None, typer.Option("--assume-role", help="IAM role to assume (instead of the file's).")
]
AuthOpt = Annotated[
    str | None, typer.Option(help="Override cluster.auth: aws, basic, cert or none.")
]
CaCertsOpt = Annotated[
    str | None,
    typer.Option(envvar="OSACCESS_CA_CERTS", help="CA bundle to verify the cluster's TLS."),
]
ProfileOpt = Annotated[
    str | None, typer.Option(help="AWS profile (default: the AWS credential chain, AWS_PROFILE).")
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
        help="Seconds to wait for each answer (reads are retried a few times); a write "
        "waits at least this, longer when its size needs it.",
    ),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="Log requests (never secrets) and show tracebacks.")
]


def connection(
    endpoint: str | None,
    region: str | None,
    assume_role: str | None,
    auth: str | None,
    ca_certs: str | None,
    profile: str | None,
    username: str | None,
    timeout: float,
    debug: bool,
) -> Overrides:
    """The connection options as one Overrides (the password from OSACCESS_PASSWORD), with
    logging set up for --debug: each command that talks to a cluster calls it first."""
    from osaccess.overrides import Overrides

    _setup_logging(debug)
    return Overrides(
        endpoint=endpoint,
        region=region,
        assume_role=assume_role,
        auth=auth,
        ca_certs=ca_certs,
        profile=profile,
        username=username,
        timeout=timeout,
        password=os.environ.get("OSACCESS_PASSWORD"),
    )


def _setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s" if debug else "%(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # Libraries below us log headers at DEBUG, and urllib3 each retry at WARNING; osaccess logs
    # what matters itself (one line per retry, without internals).
    for noisy in ("urllib3", "botocore", "boto3", "requests_aws4auth"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _debugging() -> bool:
    return "--debug" in sys.argv[1:]


def print_error(exc: BaseException, where: str | None = None) -> None:
    """`error: …` or `refused: …` (naming ``where``, e.g. the file), then `hint: …`."""
    if _debugging():
        traceback.print_exception(exc)
    if isinstance(exc, OsaccessError):
        label, message, hint = exc.label, str(exc), exc.hint
    else:  # a bug: say so plainly, details with --debug
        label, message = "error", f"unexpected {type(exc).__name__}: {exc}"
        hint = None if _debugging() else "run again with --debug and report the output"
    typer.echo(f"{label}: {where + ': ' if where else ''}{message}", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)


def load_files(paths: list[str] | None, quiet_ok: bool = False) -> list[MappingFile]:
    """Load and validate every file; print problems; stop (exit 1) if any file has errors."""
    from osaccess import kinds
    from osaccess.file.loader import find_files, load
    from osaccess.kinds.mappings import present

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
                warned = f", {len(result.warnings)} warning(s)" if result.warnings else ""
                counts = [
                    f"{len(result.file.of(kind.name))} {kind.label}(s)"
                    for kind in kinds.registered()
                    if result.file.of(kind.name)
                ]
                mapped = present(result.file.entries).values()
                principals = sum(mapping.principal_count for mapping in mapped)
                typer.echo(
                    f"{path}: OK ({', '.join(counts)}; {principals} principal(s){warned})",
                    err=True,
                )
    if failed:
        raise typer.Exit(EXIT_ERROR)
    return loaded


def use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _click_exceptions() -> Any:
    # Recent typer releases vendor click as typer._click; older ones use click itself.
    try:
        return importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - depends on the installed typer
        return importlib.import_module("click.exceptions")


def _optional(module: Any, name: str) -> tuple[type[BaseException], ...]:
    """The class ``name`` of ``module`` if this typer/click has it (typer moved some)."""
    found = getattr(module, name, None)
    return (found,) if isinstance(found, type) else ()


def main() -> None:
    """Entry point, and the one error handler: usage errors exit 64, osaccess errors exit with
    their class's code (errors.py), anything else is reported as a bug (exit 1)."""
    collector.tune()
    command = typer.main.get_command(app)
    click_exceptions = _click_exceptions()
    aborts: tuple[type[BaseException], ...] = (typer.Abort, *_optional(click_exceptions, "Abort"))
    exits: tuple[type[BaseException], ...] = (typer.Exit, *_optional(click_exceptions, "Exit"))
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
    except aborts:
        typer.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except exits as exc:
        sys.exit(getattr(exc, "exit_code", EXIT_ERROR))
    except Exception as exc:
        print_error(exc)
        sys.exit(exit_code(exc))
    sys.exit(code if isinstance(code, int) else EXIT_OK)


# The commands register themselves on `app` when their modules are imported, in this order.
for _module in ("reconcile", "day_two"):
    importlib.import_module(f"osaccess.cli.{_module}")
