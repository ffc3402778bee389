"""The sandbox's IAM front door: SigV4 in, OpenSearch's proxy authentication out.

Amazon OpenSearch Service authenticates a signed request itself and hands the security plugin a
user name (the IAM ARN) and backend roles (the role ARN, for roles). This gateway does the same
for a local node: it verifies the signature against the sandbox's fake credentials (and the
temporary credentials issued by the local STS endpoint), removes anything the client sent that
could name a caller, and forwards the request with the plugin's proxy headers.

It is a test fixture, never a production pattern: anyone who can reach the node directly could
forge those headers, which is why the node listens on loopback only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import urllib3

from sandbox.principals import PrincipalTable
from sandbox.sigv4 import (
    ResolvedCredentials,
    SignatureRejected,
    http_action,
    verify_request,
)

log = logging.getLogger("sandbox.gateway")

USER_HEADER = "x-osaccess-principal"
ROLES_HEADER = "x-osaccess-backend-roles"
# Never forwarded from the client: identity, signing, and hop-by-hop headers.
_STRIPPED = frozenset(
    {
        USER_HEADER,
        ROLES_HEADER,
        "authorization",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
        "forwarded",
        "host",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
_HOP_BY_HOP_RESPONSE = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
)


class SandboxCredentials:
    """Resolves access keys: the long-term keys of the table, then the local STS sessions."""

    def __init__(self, table: PrincipalTable, sts_enabled: bool) -> None:
        self._table = table
        self._sts_enabled = sts_enabled

    def resolve(self, access_key_id: str) -> ResolvedCredentials | None:
        principal = self._table.by_access_key(access_key_id)
        if principal is not None:
            return ResolvedCredentials(
                secret_access_key=principal.secret_access_key,
                principal_arn=principal.arn,
                backend_roles=principal.backend_roles,
                denied_actions=principal.denied_actions,
            )
        return self._resolve_session(access_key_id) if self._sts_enabled else None

    def _resolve_session(self, access_key_id: str) -> ResolvedCredentials | None:
        from moto.sts.models import sts_backends

        for account in self._table.accounts:
            session = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key_id)
            if session is None:
                continue
            role = self._table.by_arn(session.role_arn)
            if role is None or role.kind != "role":
                # Amazon would have refused the AssumeRole call for an unknown role.
                log.warning("temporary credentials for unknown role %s refused", session.role_arn)
                return None
            expiration = session.expiration
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=dt.timezone.utc)
            return ResolvedCredentials(
                secret_access_key=session.secret_access_key,
                principal_arn=role.arn,
                backend_roles=role.backend_roles,
                session_token=session.session_token,
                expiration=expiration,
                denied_actions=role.denied_actions,
            )
        return None


@dataclass(frozen=True)
class GatewayConfig:
    listen_host: str
    listen_port: int
    upstream: str
    ca_certs: Path
    cert: Path
    key: Path
    region: str


class _Handler(BaseHTTPRequestHandler):
    server: _GatewayServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines are logged by _handle, which knows the caller; never log headers.
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _headers(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for name, value in self.headers.items():
            lname = name.lower()
            merged[lname] = f"{merged[lname]},{value}" if lname in merged else value
        return merged

    def _handle(self) -> None:
        body = self._read_body()
        headers = self._headers()
        try:
            caller = verify_request(
                method=self.command,
                raw_path=self.path,
                headers=headers,
                body=body,
                resolver=self.server.credentials,
                region=self.server.config.region,
            )
            action = http_action(self.command)
            if action in caller.denied_actions:
                raise SignatureRejected(
                    403,
                    f"User: {caller.principal_arn} is not authorized to perform: {action} "
                    f"because no identity-based policy allows the {action} action",
                    key="Message",
                )
        except SignatureRejected as refusal:
            log.info(
                "%s %s -> %d (refused: %s)",
                self.command,
                self.path,
                refusal.status,
                refusal.message,
            )
            self._reply(
                refusal.status,
                {"content-type": "application/json"},
                json.dumps(refusal.body).encode(),
            )
            return
        self._forward(caller, headers, body)

    def _forward(self, caller: ResolvedCredentials, headers: dict[str, str], body: bytes) -> None:
        outgoing = {
            name: value
            for name, value in headers.items()
            if name not in _STRIPPED and not name.startswith("x-amz-")
        }
        outgoing[USER_HEADER] = caller.principal_arn
        if caller.backend_roles:
            outgoing[ROLES_HEADER] = ",".join(caller.backend_roles)
        outgoing["x-forwarded-for"] = self.client_address[0]
        try:
            response = self.server.pool.request(
                self.command,
                self.server.config.upstream + self.path,
                body=body or None,
                headers=outgoing,
                redirect=False,
                retries=False,
                preload_content=True,
                decode_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            log.warning(
                "%s %s as %s -> upstream failed: %s",
                self.command,
                self.path,
                caller.principal_arn,
                exc,
            )
            self._reply(
                502,
                {"content-type": "application/json"},
                json.dumps({"message": "The sandbox node did not answer."}).encode(),
            )
            return
        log.info(
            "%s %s as %s -> %d", self.command, self.path, caller.principal_arn, response.status
        )
        reply_headers = {
            name.lower(): value
            for name, value in response.headers.items()
            if name.lower() not in _HOP_BY_HOP_RESPONSE
        }
        if "content-encoding" in response.headers:
            reply_headers["content-encoding"] = response.headers["content-encoding"]
        self._reply(response.status, reply_headers, response.data)

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: GatewayConfig, credentials: SandboxCredentials) -> None:
        super().__init__((config.listen_host, config.listen_port), _Handler)
        self.config = config
        self.credentials = credentials
        self.pool = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=str(config.ca_certs), maxsize=16
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(config.cert), str(config.key))
        self.socket = context.wrap_socket(self.socket, server_side=True)


def start_sts(host: str, port: int, table: PrincipalTable | None = None) -> None:
    """Start moto's STS and IAM (and the rest of its API) on host:port in a background thread;
    with ``table``, IAM holds the sandbox's users and roles, each in its own account."""
    from moto.server import ThreadedMotoServer

    if table is not None:
        seed_iam(table)
    ThreadedMotoServer(ip_address=host, port=port, verbose=False).start()
    if table is not None:
        seed_secrets(table, f"http://{host}:{port}")


def seed_secrets(table: PrincipalTable, url: str) -> None:
    """The demo secrets (Secrets Manager) and SecureString parameters (SSM), created through the
    local endpoint with the key of a principal of the domain's account, so that they live where
    that account's credentials find them."""
    import boto3

    if table.domain is None or not (table.secrets or table.parameters):
        return
    owner = next(p for p in table.principals if p.account == table.domain.account)
    session = boto3.Session(
        aws_access_key_id=owner.access_key_id,
        aws_secret_access_key=owner.secret_access_key,
        region_name=table.region,
    )
    manager = session.client("secretsmanager", endpoint_url=url)
    for name, value in table.secrets:
        manager.create_secret(Name=name, SecretString=value)
    ssm = session.client("ssm", endpoint_url=url)
    for name, value in table.parameters:
        ssm.put_parameter(Name=name, Value=value, Type="SecureString")


def seed_iam(table: PrincipalTable) -> None:
    """Create every principal of the table in moto's IAM, in its account, with its access key, so
    that IAM calls signed with a principal's key act in that principal's account (moto finds the
    account of a request by the access key); then the keyless principals (``iam_only``) and the
    domain with its access policy."""
    from moto.iam.models import AccessKey

    for principal in table.principals:
        _create_principal(principal.arn, table.region)
        backend = _iam_backend(principal.account)
        user = principal.arn.rsplit("/", 1)[-1] if principal.kind == "user" else None
        key = AccessKey(user, "AKIA", principal.account)  # type: ignore[abstract]
        key.access_key_id = principal.access_key_id
        key.secret_access_key = principal.secret_access_key
        backend.access_keys[principal.access_key_id] = key
    for arn in table.iam_only:
        _create_principal(arn, table.region)
    if table.domain is not None:
        from moto.opensearch.models import opensearch_backends

        domain = table.domain
        backend = opensearch_backends[domain.account][table.region]
        if domain.name not in backend.domains:
            backend.create_domain(
                domain_name=domain.name,
                engine_version="OpenSearch_2.19",
                access_policies=domain.access_policy,
                vpc_options=None,  # type: ignore[arg-type]  # a public endpoint
                advanced_security_options={"Enabled": True},
                is_es=False,
                elasticsearch_version=None,
                elasticsearch_cluster_config=None,
                **{name: {} for name in _EMPTY_DOMAIN_OPTIONS},
                tag_list=[],
            )


_EMPTY_DOMAIN_OPTIONS = (
    "cluster_config",
    "ebs_options",
    "snapshot_options",
    "cognito_options",
    "encryption_at_rest_options",
    "node_to_node_encryption_options",
    "advanced_options",
    "log_publishing_options",
    "domain_endpoint_options",
    "auto_tune_options",
    "off_peak_window_options",
    "software_update_options",
)


def _iam_backend(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def _create_principal(arn: str, region: str) -> None:
    trust = '{"Version":"2012-10-17","Statement":[]}'
    account = arn.split(":")[4]
    backend = _iam_backend(account)
    resource = arn.split(":", 5)[5]  # user/PATH/NAME or role/PATH/NAME
    kind, _, rest = resource.partition("/")
    path, _, name = rest.rpartition("/")
    iam_path = f"/{path}/" if path else "/"
    if kind == "role":
        if name not in {role.name for role in backend.roles.values()}:
            backend.create_role(name, trust, iam_path, None, "sandbox principal", [], None)
    elif name not in backend.users:
        backend.create_user(region, name, iam_path)


def serve(
    config: GatewayConfig,
    table: PrincipalTable,
    sts_port: int | None,
    ready: threading.Event | None = None,
) -> None:
    """Run the gateway until interrupted."""
    if sts_port is not None:
        start_sts(config.listen_host, sts_port, table)
    server = _GatewayServer(config, SandboxCredentials(table, sts_enabled=sts_port is not None))
    log.info(
        "IAM gateway on https://%s:%d -> %s (region %s%s)",
        config.listen_host,
        config.listen_port,
        config.upstream,
        config.region,
        f", STS on http://{config.listen_host}:{sts_port}" if sts_port else "",
    )
    if ready is not None:
        ready.set()
    try:
        server.serve_forever()
    finally:
        server.server_close()


def write_aws_profiles(table: PrincipalTable, directory: Path, sts_url: str) -> tuple[Path, Path]:
    """Write an AWS config and credentials file with one profile per sandbox principal.

    ``sandbox-<name>`` signs with the principal's own key; ``sandbox-assumed-<name>`` (for roles)
    obtains temporary credentials from the local STS endpoint, with alice as the source profile.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config_lines: list[str] = []
    cred_lines: list[str] = []
    for principal in table.principals:
        profile = f"sandbox-{principal.name}"
        config_lines += _profile(profile, table.region)
        cred_lines += [
            f"[{profile}]",
            f"aws_access_key_id = {principal.access_key_id}",
            f"aws_secret_access_key = {principal.secret_access_key}",
            "",
        ]
    for principal in table.principals:
        if principal.kind == "role":
            config_lines += _profile(f"sandbox-assumed-{principal.name}", table.region)
            config_lines[-1:-1] = [
                f"role_arn = {principal.arn}",
                "source_profile = sandbox-alice",
                "role_session_name = osaccess-sandbox",
            ]
    # STS, IAM, the OpenSearch service API, Secrets Manager and SSM: the local endpoint (moto)
    config_lines += ["[services sandbox-local-sts]"]
    for service in ("sts", "iam", "opensearch", "es", "secrets_manager", "ssm"):
        config_lines += [f"{service} =", f"  endpoint_url = {sts_url}"]
    config_lines += [""]
    config_path = directory / "config"
    cred_path = directory / "credentials"
    config_path.write_text("\n".join(config_lines), encoding="utf-8")
    cred_path.write_text("\n".join(cred_lines), encoding="utf-8")
    cred_path.chmod(0o600)
    return config_path, cred_path


def _profile(name: str, region: str) -> list[str]:
    # The STS endpoint comes from the shared services section, so assume-role goes to it.
    return [f"[profile {name}]", f"region = {region}", "services = sandbox-local-sts", ""]
