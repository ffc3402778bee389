"""Day two: import, explain, whoami, doctor, schema."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from osaccess.cli import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    AuthOpt,
    CaCertsOpt,
    DebugOpt,
    EndpointOpt,
    FormatOpt,
    OutputFormat,
    PathsArg,
    ProfileOpt,
    TimeoutOpt,
    UsernameOpt,
    _guarded,
    _load_all,
    _overrides,
    _setup_logging,
    app,
)

if TYPE_CHECKING:
    from osaccess.cluster import SecurityApi
    from osaccess.model import ClusterSpec

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
    username: str | None,
) -> ClusterSpec:
    """The cluster to talk to: a file's cluster block, or --endpoint and friends."""
    from dataclasses import replace

    from osaccess.config import region_from_endpoint
    from osaccess.errors import ConfigError
    from osaccess.model import ClusterSpec

    if cluster_file is not None:
        (file,) = _load_all([str(cluster_file)], quiet_ok=True)
        spec = replace(
            file.cluster,
            endpoint=endpoint or file.cluster.endpoint,
            region=region or file.cluster.region,
            assume_role=assume_role or file.cluster.assume_role,
            auth=auth or file.cluster.auth,
            ca_certs=ca_certs or file.cluster.ca_certs,
        )
    elif endpoint:
        spec = ClusterSpec(
            endpoint=endpoint.rstrip("/"),
            auth=auth or "aws",
            region=region or region_from_endpoint(endpoint),
            assume_role=assume_role,
            ca_certs=ca_certs,
        )
    else:
        raise ConfigError(
            "which cluster? give --cluster FILE or --endpoint URL",
            hint="e.g. --endpoint https://search-x.eu-west-1.es.amazonaws.com",
        )
    # the user name belongs to the cluster block only for basic auth (import writes it out)
    return replace(spec, username=username) if username and spec.auth == "basic" else spec


def _connect(
    spec: ClusterSpec, profile: str | None, username: str | None, timeout: float
) -> SecurityApi:
    from osaccess.engine import connect_spec

    return connect_spec(spec, _overrides(None, None, profile, None, username, timeout))


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
        from osaccess.importer import render_import

        spec = _cluster_spec(cluster_file, endpoint, auth, region, assume_role, ca_certs, username)
        api = _connect(spec, profile, username, timeout)
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
    host: Annotated[
        str | None,
        typer.Option("--host", help="The address the caller connects from (for hosts patterns)."),
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
            spec = _cluster_spec(
                cluster_file, endpoint, auth, region, assume_role, ca_certs, username
            )
            api = _connect(spec, profile, username, timeout)
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
        result = explain_(
            subject_for(principal or "", backend_role, host), mappings, definitions, source
        )
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
        from osaccess.errors import ClusterError

        spec = _cluster_spec(cluster_file, endpoint, auth, region, assume_role, ca_certs, username)
        api = _connect(spec, profile, username, timeout)

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
