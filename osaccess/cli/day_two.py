"""Day two: import, explain, whoami, doctor, schema."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from osaccess import kinds
from osaccess.cli import (
    EXIT_DEPENDS,
    EXIT_ERROR,
    EXIT_NO,
    EXIT_OK,
    EXIT_USAGE,
    AnswerFormat,
    AnswerFormatOpt,
    AssumeRoleOpt,
    AuthOpt,
    CaCertsOpt,
    ClusterFileOpt,
    DebugOpt,
    EndpointOpt,
    PathsArg,
    ProfileOpt,
    RegionOpt,
    TimeoutOpt,
    UsernameOpt,
    app,
    connection,
    load_files,
)

if TYPE_CHECKING:
    from osaccess.model import MappingFile


def _cluster_file(path: Path | None) -> MappingFile | None:
    """The mapping file whose cluster block to use (--cluster), if any."""
    if path is None:
        return None
    (file,) = load_files([str(path)], quiet_ok=True)
    return file


@app.command("import")
def import_(
    cluster_file: ClusterFileOpt = None,
    include: Annotated[
        str,
        typer.Option(
            "--include",
            help="What to write, comma-separated: "
            + ", ".join(kind.include for kind in kinds.registered())
            + ".",
        ),
    ] = "mappings",
    out: Annotated[Path | None, typer.Option("--out", help="Write here, not to stdout.")] = None,
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
    """Write a mapping file from what a cluster holds (then `plan` shows no changes)."""
    from osaccess.api import import_file

    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )

    parts = tuple(part.strip() for part in include.split(",") if part.strip())
    text = import_file(_cluster_file(cluster_file), overrides, include=parts)
    _write(text, out, f"wrote {out}; check it with: osaccess plan {out}")


BackendRoleOpt = Annotated[
    list[str] | None,
    typer.Option("--backend-role", help="Backend roles of the principal (repeat)."),
]
HostOpt = Annotated[
    str | None,
    typer.Option("--host", help="The address the caller connects from (for hosts patterns)."),
]
FromOpt = Annotated[
    Path | None, typer.Option("--from", help="Answer offline, from this mapping file.")
]
PlanOpt = Annotated[
    Path | None,
    typer.Option(
        "--plan",
        help="Answer for the cluster as this reviewed plan (plan --out) would leave it.",
    ),
]


def _source(from_file: Path | None, plan: Path | None, cluster_file: Path | None) -> Any:
    """The mapping file to answer from (offline) or whose cluster block to use."""
    if from_file is not None and plan is not None:
        typer.echo("error: give --from FILE or --plan PLAN, not both", err=True)
        raise typer.Exit(EXIT_USAGE)
    return _cluster_file(from_file if from_file is not None else cluster_file)


@app.command()
def explain(
    principal: Annotated[
        str | None,
        typer.Argument(help="An IAM user or role ARN, an STS session ARN, or a user name."),
    ] = None,
    role: Annotated[str | None, typer.Option("--role", help="Who holds this role?")] = None,
    backend_role: BackendRoleOpt = None,
    host: HostOpt = None,
    from_file: FromOpt = None,
    plan: PlanOpt = None,
    cluster_file: ClusterFileOpt = None,
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
    """Who has access, and why: the mappings that match a principal, its roles, and what they
    allow; or, with --role, who holds a role."""
    from osaccess import api

    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )
    from osaccess.access.explain import render_explanation, render_holders

    if (principal is None) == (role is None):
        typer.echo("error: give a PRINCIPAL or --role NAME (one of them)", err=True)
        raise typer.Exit(EXIT_USAGE)
    offline = from_file is not None
    cluster = _source(from_file, plan, cluster_file)
    data: dict[str, Any]
    if role is not None:
        data = api.role_holders(role, cluster, overrides, offline=offline, plan=plan)
        text = render_holders(data)
    else:
        result = api.explain(
            principal or "",
            cluster,
            overrides,
            backend_roles=backend_role or (),
            host=host,
            offline=offline,
            plan=plan,
        )
        data, text = result.data(), render_explanation(result)
    if output_format is AnswerFormat.json:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(text)


@app.command("can-i")
def can_i(
    principal: Annotated[str, typer.Argument(help="An IAM ARN, an internal user, or a user name.")],
    action: Annotated[
        str,
        typer.Argument(help='An action name, or a REST form such as "PUT /logs-1/_doc/1".'),
    ],
    index: Annotated[str | None, typer.Argument(help="The index, for index actions.")] = None,
    backend_role: BackendRoleOpt = None,
    attribute: Annotated[
        list[str] | None,
        typer.Option("--attribute", help="KEY=VALUE: an attribute of the principal (repeat)."),
    ] = None,
    host: HostOpt = None,
    from_file: FromOpt = None,
    plan: PlanOpt = None,
    cluster_file: ClusterFileOpt = None,
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
    """May PRINCIPAL do ACTION (on INDEX)? Yes or no, and why. Exit 0: yes; 4: no; 5: it
    depends on what only the node knows."""
    from osaccess import api

    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )

    attributes: dict[str, str] = {}
    for item in attribute or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            typer.echo(f"error: --attribute {item!r}: write KEY=VALUE", err=True)
            raise typer.Exit(EXIT_USAGE)
        attributes[key.strip()] = value
    offline = from_file is not None
    answer = api.can_i(
        principal,
        action,
        index,
        _source(from_file, plan, cluster_file),
        overrides,
        backend_roles=backend_role or (),
        attributes=attributes,
        host=host,
        offline=offline,
        plan=plan,
    )
    if output_format is AnswerFormat.json:
        data = answer.data()
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        verdict = "yes" if answer.allowed else "depends" if answer.depends else "no"
        lines = [verdict, *(f"  {reason}" for reason in answer.reasons())]
        lines += [f"  note: {note}" for note in answer.notes]
        lines.append(f"  roles: {', '.join(answer.roles) or '(none)'}")
        lines += [f"    {role}: {how}" for role, how in answer.held]
        sys.stdout.write("\n".join(lines) + "\n")
    raise typer.Exit(EXIT_OK if answer.allowed else EXIT_DEPENDS if answer.depends else EXIT_NO)


@app.command("who-can")
def who_can(
    action: Annotated[
        str,
        typer.Argument(
            help='An action name, a REST form ("DELETE /logs-prod"), a pattern or an action '
            "group (any of its actions)."
        ),
    ],
    index: Annotated[
        str | None, typer.Argument(help="The index, or a pattern (any index it stands for).")
    ] = None,
    from_file: FromOpt = None,
    plan: PlanOpt = None,
    cluster_file: ClusterFileOpt = None,
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
    """Every principal that may do ACTION (on INDEX), and through which roles. Exit 0: someone
    may; 4: nobody may."""
    from osaccess import api

    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )
    from osaccess.access.whocan import render

    offline = from_file is not None
    cluster = _source(from_file, plan, cluster_file)
    result = api.who_can(action, index, cluster, overrides, offline=offline, plan=plan)
    if output_format is AnswerFormat.json:
        text = json.dumps(result.data(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        sys.stdout.write(text)
    else:
        sys.stdout.write(render(result))
    raise typer.Exit(EXIT_OK if result.principals else EXIT_NO)


@app.command()
def whoami(
    cluster_file: ClusterFileOpt = None,
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
    """Who the current credentials are to OpenSearch, and whether they may change role
    mappings."""
    from osaccess.api import whoami as whoami_

    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )

    me = whoami_(_cluster_file(cluster_file), overrides)
    lines = [
        f"user name      {me.user_name}",
        f"backend roles  {', '.join(me.backend_roles) or '(none)'}",
        f"roles          {', '.join(me.roles) or '(none)'}",
        f"cluster        {me.endpoint}" + (f" ({me.api_prefix})" if me.api_prefix else ""),
    ]
    if me.refusal is None:
        lines.append("role mappings  can read and change them")
    else:
        lines.append(f"role mappings  cannot change them: {me.refusal.message}")
        if me.refusal.hint:
            lines.append(f"fix            {me.refusal.hint}")
    sys.stdout.write("\n".join(lines) + "\n")
    raise typer.Exit(EXIT_OK if me.refusal is None else EXIT_ERROR)


_CHECK_PASSWORDS = (
    "Also log in as each internal user of the file with its source's password (one authinfo "
    "call each)."
)
_LOGIN_ENDPOINT = "Where internal users log in (basic auth), if not the cluster's endpoint."


@app.command()
def doctor(
    paths: PathsArg = None,
    check_passwords: Annotated[bool, typer.Option(help=_CHECK_PASSWORDS)] = False,
    login_endpoint: Annotated[str | None, typer.Option(help=_LOGIN_ENDPOINT)] = None,
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
    """Check, in order, everything plan and apply need; one line per check, with advice."""
    from osaccess.doctor import diagnose_files

    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )

    healthy = True
    files = load_files(paths, quiet_ok=True)
    diagnosed = diagnose_files(
        files, overrides, check_passwords=check_passwords, login_endpoint=login_endpoint
    )
    for file, endpoint, checks in diagnosed:
        typer.echo(f"{file.path} -> {endpoint}")
        for check in checks:
            typer.echo("  " + check.render().replace("\n", "\n  "))
            healthy = healthy and check.ok
    typer.echo("All checks passed." if healthy else "Some checks failed.", err=not healthy)
    raise typer.Exit(EXIT_OK if healthy else EXIT_ERROR)


class ReviewFormat(str, Enum):
    csv = "csv"
    json = "json"
    markdown = "markdown"


@app.command("access-review")
def access_review(
    from_file: Annotated[
        Path | None, typer.Option("--from", help="Review offline, from this mapping file.")
    ] = None,
    cluster_file: ClusterFileOpt = None,
    output_format: Annotated[
        ReviewFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ReviewFormat.csv,
    out: Annotated[Path | None, typer.Option("--out", help="Write here, not to stdout.")] = None,
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
    """Every principal known to a cluster (live) or to a file (--from), with its roles and
    effective permissions: the export access reviews (SOC 2, ISO 27001) ask for."""
    from osaccess import api

    overrides = connection(
        endpoint, region, assume_role, auth, ca_certs, profile, username, timeout, debug
    )
    from osaccess.access import review

    offline = from_file is not None
    cluster = _cluster_file(from_file if offline else cluster_file)
    entries, source = api.access_review(cluster, overrides, offline=offline)
    text = review.render(entries, output_format.value, source)
    _write(text, out, f"wrote {out}: {len(entries)} principal(s) from {source}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of mapping files (for editors and CI)."""
    from osaccess.file.layout import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")


def _write(text: str, out: Path | None, done: str) -> None:
    """To stdout, or to ``out`` with ``done`` on stderr."""
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(done, err=True)
