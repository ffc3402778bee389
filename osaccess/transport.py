"""The one module that speaks HTTP to a cluster (requests, requests-aws4auth, boto3).

It signs or authenticates each request, always sends bodies as UTF-8 bytes, verifies TLS, and
turns failures into the exceptions of :mod:`osaccess.errors` with guidance. Secrets (passwords,
keys, tokens, signatures) never enter a message or a log line.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from osaccess import errors

log = logging.getLogger("osaccess.transport")

AuthKind = Literal["aws", "basic", "cert", "none"]
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
MAX_BACKOFF = 10.0
MAX_RETRY_AFTER = 60.0


def retry_after(response: Response) -> float | None:
    """Seconds from a Retry-After header (delta form), capped; None when absent or a date."""
    value = response.headers.get("retry-after", "").strip()
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value))) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ClusterAuth:
    """How to authenticate to a cluster. The password is never printed (repr hides it)."""

    kind: AuthKind = "none"
    region: str | None = None
    profile: str | None = None
    assume_role: str | None = None
    external_id: str | None = field(default=None, repr=False)
    session_name: str = "osaccess"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_cert: str | None = None
    client_key: str | None = None


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def looks_like_html(self) -> bool:
        content_type = self.headers.get("content-type", "")
        return "html" in content_type or self.body.lstrip()[:1] == b"<"


class Transport:
    """Sends requests to one cluster endpoint with one identity."""

    def __init__(
        self,
        endpoint: str,
        auth: ClusterAuth,
        *,
        ca_certs: str | None = None,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.auth = auth
        self.timeout = timeout
        self._session = requests.Session()
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        self._verify: str | bool = ca_certs if ca_certs else True
        self._session.headers["User-Agent"] = "osaccess"
        if auth.kind == "aws":
            self._session.auth = _aws_auth(auth, self.endpoint)
        elif auth.kind == "basic":
            if not auth.username or auth.password is None:
                raise errors.ConfigError(
                    "basic authentication needs a user name and a password",
                    hint="set cluster.username in the file and OSACCESS_PASSWORD in the "
                    "environment",
                )
            self._session.auth = (auth.username, auth.password)
        if auth.client_cert:
            self._session.cert = (
                (auth.client_cert, auth.client_key) if auth.client_key else auth.client_cert
            )

    def close(self) -> None:
        self._session.close()

    def request(
        self, method: str, path: str, body: Any = None, *, retry: bool | None = None
    ) -> Response:
        """Send a request; raise a :class:`~osaccess.errors.ClusterError` when it cannot be sent.

        Reads (GET) are retried on connection failures, timeouts and 429/502/503/504 answers,
        a bounded number of times with exponential backoff and jitter, honouring Retry-After.
        Writes are never retried here: the caller re-reads and decides (see engine._write)."""
        retry = method in ("GET", "HEAD") if retry is None else retry
        attempts = self.max_attempts if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._send_once(method, path, body)
            except errors.ConnectionFailed as exc:
                if attempt == attempts:
                    if attempts > 1:
                        exc.message += f" (gave up after {attempts} attempts)"
                    raise
                delay = self._backoff(attempt)
                log.warning(
                    "%s; retrying in %.1fs (attempt %d of %d)",
                    exc.message,
                    delay,
                    attempt + 1,
                    attempts,
                )
                time.sleep(delay)
                continue
            if response.status in RETRYABLE_STATUS and attempt < attempts:
                delay = retry_after(response) or self._backoff(attempt)
                log.warning(
                    "%s %s answered %d; retrying in %.1fs (attempt %d of %d)",
                    method,
                    path,
                    response.status,
                    delay,
                    attempt + 1,
                    attempts,
                )
                time.sleep(delay)
                continue
            return response
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped."""
        return float(min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0))

    def _send_once(self, method: str, path: str, body: Any) -> Response:
        url = f"{self.endpoint}/{path.lstrip('/')}"
        what = f"{method} /{path.lstrip('/')}"
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        log.debug("-> %s %s (%d bytes)", method, url, len(data or b""))
        try:
            raw = self._session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                verify=self._verify,
            )
        except requests.exceptions.SSLError as exc:
            raise errors.TLSFailed(
                f"TLS verification failed: {_short(exc)}",
                hint="give the CA that signed the cluster's certificate with --ca-certs "
                "(or OSACCESS_CA_CERTS); osaccess never disables verification",
                endpoint=self.endpoint,
                request=what,
            ) from None
        except requests.exceptions.ReadTimeout:
            raise errors.AnswerTimeout(
                f"no answer within {self.timeout:g}s",
                hint="the cluster may be overloaded; check its health and retry",
                endpoint=self.endpoint,
                request=what,
            ) from None
        except requests.exceptions.Timeout:
            raise errors.ConnectionFailed(
                f"could not connect within {self.timeout:g}s",
                hint="check the endpoint, the network path (VPC, security groups) and retry",
                endpoint=self.endpoint,
                request=what,
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise errors.ConnectionFailed(
                f"cannot connect: {_short(exc)}",
                hint="check the endpoint URL and that the cluster is reachable from here",
                endpoint=self.endpoint,
                request=what,
            ) from None
        response = Response(
            raw.status_code, {k.lower(): v for k, v in raw.headers.items()}, raw.content
        )
        log.debug("<- %d %s (%d bytes)", response.status, what, len(response.body))
        return response

    def error_for(self, response: Response, method: str, path: str) -> errors.ClusterError:
        """Turn an error response into the exception that explains it."""
        return explain_error(
            response, endpoint=self.endpoint, request=f"{method} /{path}", auth=self.auth
        )


def explain_error(
    response: Response, *, endpoint: str, request: str, auth: ClusterAuth
) -> errors.ClusterError:
    where: dict[str, Any] = {"endpoint": endpoint, "request": request, "status": response.status}
    if response.looks_like_html:
        return errors.UnexpectedResponse(
            f"the cluster answered HTTP {response.status} with an HTML page, not the "
            "security API's JSON",
            hint="the endpoint may point at a proxy, a login page or OpenSearch Dashboards; "
            "use the OpenSearch REST endpoint",
            **where,
        )
    try:
        payload = response.json()
    except ValueError:
        payload = None
    text = _message_of(payload) or response.body[:200].decode("utf-8", "replace")
    if response.status == 401:
        hint = (
            "check cluster.username and OSACCESS_PASSWORD"
            if auth.kind == "basic"
            else "the cluster wants credentials; set cluster.auth (aws, basic or cert)"
        )
        return errors.AuthenticationFailed(
            f"the cluster did not accept the credentials: {text}", hint=hint, **where
        )
    if response.status == 403:
        lowered = text.lower()
        if "is not authorized to perform: es:" in lowered:
            action = text.split("perform:")[1].split()[0]
            return errors.AWSDenied(
                f"AWS refused the request before OpenSearch saw it: {text}",
                hint=f"allow {action} on this domain for your IAM identity (identity policy "
                "and the domain's access policy); osaccess needs es:ESHttpGet and "
                "es:ESHttpPatch",
                **where,
            )
        if (
            "signature" in lowered
            or "security token" in lowered
            or "credential should be" in lowered
        ):
            return errors.AWSDenied(
                f"AWS did not accept the request signature: {text}",
                hint="check the region (cluster.region), the clock, and that the credentials "
                "are current (aws sso login, or a fresh session)",
                **where,
            )
        if "no permission to access rest api" in lowered:
            who = re.search(r"User (?P<user>.+?) with Security roles \[(?P<roles>[^\]]*)\]", text)
            if who:
                user, roles = who["user"], who["roles"] or "none"
                message = (
                    f"you are authenticated as {user} with roles [{roles}], which may not "
                    "use the security REST API"
                )
            else:
                user, message = "the caller", f"the security plugin refused: {text}"
            return errors.SecurityApiDenied(
                message,
                hint=f"to change role mappings, {user} must be the master user or be mapped to "
                "both all_access and security_manager (IAM users under users, IAM roles under "
                "backend_roles)",
                **where,
            )
        if text.startswith("Resource") and "reserved" in text:
            return errors.ApiError(
                f"HTTP 403: {text}",
                hint="reserved mappings can only be "
                "changed by a REST admin or securityadmin; leave the role "
                "out of the file",
                **where,
            )
    if response.status in RETRYABLE_STATUS:
        return errors.Throttled(
            f"the cluster is busy or throttling (HTTP {response.status}): {text}",
            hint="osaccess retried with backoff; wait and run it again",
            retry_after=retry_after(response),
            **where,
        )
    return errors.ApiError(f"HTTP {response.status}: {text}", **where)


def _message_of(payload: Any) -> str | None:
    if isinstance(payload, dict):
        for key in ("message", "Message", "reason"):
            value = payload.get(key)
            if isinstance(value, str):
                return value
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("reason"), str):
            return str(error["reason"])
        if isinstance(error, str):
            return error
    return None


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."


def _aws_auth(auth: ClusterAuth, endpoint: str) -> Any:
    """A SigV4 signer (service es) over refreshable boto3 credentials; one STS call per run."""
    import boto3
    from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
    from botocore.exceptions import BotoCoreError, ClientError
    from requests_aws4auth import AWS4Auth

    host = urlsplit(endpoint).hostname or ""
    if host.endswith(".aoss.amazonaws.com"):
        raise errors.ConfigError(
            f"{endpoint} is an OpenSearch Serverless collection, which has no security plugin "
            "and no role mappings",
            hint="Serverless access is governed by data access policies (aws opensearchserverless)",
        )
    try:
        session = boto3.Session(profile_name=auth.profile, region_name=auth.region)
        credentials = session.get_credentials()
    except BotoCoreError as exc:
        raise errors.ConfigError(
            f"AWS credentials: {exc}", hint="check --profile / AWS_PROFILE"
        ) from None
    if credentials is None:
        raise errors.ConfigError(
            "no AWS credentials found",
            hint="configure a profile (aws configure / aws sso login), environment variables, "
            "web identity or an instance role",
        )
    region = auth.region or session.region_name
    if not region:
        raise errors.ConfigError("no AWS region", hint="set cluster.region in the mapping file")
    if auth.assume_role:
        extra: dict[str, Any] = {"RoleSessionName": auth.session_name}
        if auth.external_id:
            extra["ExternalId"] = auth.external_id
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=session._session.create_client,
            source_credentials=credentials,
            role_arn=auth.assume_role,
            extra_args=extra,
        )
        try:
            fetcher.fetch_credentials()
        except (BotoCoreError, ClientError) as exc:
            raise errors.ConfigError(
                f"cannot assume {auth.assume_role}: {exc}",
                hint="the source identity needs sts:AssumeRole on it, and the role's trust "
                "policy must allow the source identity (and the external id, if any)",
            ) from None
        credentials = DeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role"
        )
    return AWS4Auth(region=region, service="es", refreshable_credentials=credentials)
