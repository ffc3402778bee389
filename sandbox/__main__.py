"""The sandbox's commands (test tooling, not part of the installed osaccess): run from the
repository's root as ``python -m sandbox gateway|profiles|identities``."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="The local sandbox: an IAM gateway and STS endpoint in front of a local OpenSearch.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("gateway")
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
    from sandbox.gateway import GatewayConfig, serve
    from sandbox.principals import PrincipalTableError, load_principals

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


@app.command("profiles")
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
    from sandbox.gateway import write_aws_profiles
    from sandbox.principals import PrincipalTableError, load_principals

    try:
        table = load_principals(principals)
    except PrincipalTableError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    config_path, cred_path = write_aws_profiles(table, out_dir, sts_url)
    typer.echo(f"{config_path}\n{cred_path}")


@app.command("identities")
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
    from sandbox.identities import identities
    from sandbox.principals import PrincipalTableError, load_principals

    try:
        table = load_principals(principals)
        for who in identities(table, gateway, ca_certs):
            typer.echo(f"{who.profile}")
            typer.echo(f"  user name      {who.user_name}")
            typer.echo(f"  backend roles  {', '.join(who.backend_roles) or '(none)'}")
            typer.echo(f"  roles          {', '.join(who.roles) or '(none)'}")
    except (PrincipalTableError, OsaccessError) as exc:
        typer.echo(f"error: {exc}", err=True)
        hint = getattr(exc, "hint", None)
        if hint:
            typer.echo(f"hint: {hint}", err=True)
        raise typer.Exit(1) from None


if __name__ == "__main__":
    app()
