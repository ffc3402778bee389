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
    from osaccess.engine import Overrides
    from osaccess.model import MappingFile

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
    _print_error(exc, debug)
    raise typer.Exit(_exit_code(exc))


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


def _raise(exc: Exception) -> NoReturn:
    raise exc


def _severity(code: int) -> int:
    """Order of exit codes from best to worst: 0, 2 (changes), 3 (refused), 1 (error)."""
    return {EXIT_OK: 0, EXIT_CHANGES: 1, EXIT_REFUSED: 2, EXIT_ERROR: 3}.get(code, 3)


def _exit_code(exc: BaseException) -> int:
    from osaccess.errors import Refused

    return EXIT_REFUSED if isinstance(exc, Refused) else EXIT_ERROR


def _print_error(exc: BaseException, debug: bool, where: str | None = None) -> None:
    """`error: …` or `refused: …` (naming ``where``, e.g. the file), then `hint: …`."""
    from osaccess.errors import OsaccessError

    if debug:
        traceback.print_exception(exc)
    kind = "refused" if _exit_code(exc) == EXIT_REFUSED else "error"
    message = (
        str(exc) if isinstance(exc, OsaccessError) else (f"unexpected {type(exc).__name__}: {exc}")
    )
    typer.echo(f"{kind}: {where + ': ' if where else ''}{message}", err=True)
    hint = exc.hint if isinstance(exc, OsaccessError) else None
    if hint:
        typer.echo(f"hint: {hint}", err=True)


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


# The commands register themselves on `app` when their modules are imported, in this order.
# isort: off
from osaccess.cli import reconcile  # noqa: E402, F401
from osaccess.cli import inspect  # noqa: E402, F401
from osaccess.cli import sandbox  # noqa: E402, F401

# isort: on
