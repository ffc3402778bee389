"""The one module that speaks HTTP to a cluster (requests, with urllib3's retries).

It sends each request with the authentication it is given, always sends bodies as UTF-8 bytes,
verifies TLS against the given CA (even when REQUESTS_CA_BUNDLE is set), and turns every failure
into an exception of :mod:`osaccess.errors` with guidance, in one function: :func:`error_for`.
Secrets (passwords, keys, tokens, signatures) never enter a message or a log line.

Reads (GET, HEAD) are retried by urllib3's ``Retry`` (exponential backoff with jitter, capped;
``Retry-After`` honoured, capped) on connection failures, timeouts and 429/502/503/504. Writes are
never retried here: the engine re-reads and decides (see :mod:`osaccess.run.engine`).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from osaccess import errors

log = logging.getLogger("osaccess.cluster.transport")

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
MAX_BACKOFF = 10.0
MAX_RETRY_AFTER = 60.0
READ_METHODS = frozenset({"GET", "HEAD"})


class _ReadRetry(Retry):
    """urllib3's Retry, with a warning per retry and a cap on Retry-After."""

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(MAX_RETRY_AFTER, seconds)

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        # raises when the retries are used up
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        attempt = len(new.history) + 1
        total = self.attempts
        if response is not None and response.status in RETRYABLE_STATUS:
            delay = new.get_retry_after(response)
            if delay is None:
                delay = new.get_backoff_time()
            log.warning(
                "%s %s answered %d; retrying in %.1fs (attempt %d of %d)",
                method,
                url,
                response.status,
                delay,
                attempt,
                total,
            )
        else:
            log.warning(
                "%s %s failed (%s); retrying in %.1fs (attempt %d of %d)",
                method,
                url,
                type(error).__name__ if error else "error",
                new.get_backoff_time(),
                attempt,
                total,
            )
        return new

    @property
    def attempts(self) -> int:
        return int(self.total or 0) + len(self.history) + 1


def read_retry(retries: int = 3, backoff: float = 0.5) -> Retry:
    return _ReadRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,  # TLS and protocol errors are not transient
        allowed_methods=READ_METHODS,
        status_forcelist=RETRYABLE_STATUS,
        backoff_factor=backoff,
        backoff_jitter=backoff,
        backoff_max=MAX_BACKOFF,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
        redirect=0,
    )


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
    """Sends requests to one cluster endpoint with one identity.

    ``auth`` is anything requests takes (a SigV4 signer, a (user, password) pair, None);
    ``auth_kind`` only tailors the advice on a 401. ``adapter`` replaces the HTTP layer (tests
    use it as a fake server; the default is requests' adapter with urllib3's retries)."""

    def __init__(
        self,
        endpoint: str,
        auth: Any = None,
        *,
        auth_kind: str = "none",
        ca_certs: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        adapter: BaseAdapter | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.auth_kind = auth_kind
        self.timeout = timeout
        self._session = requests.Session()
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        self._verify: str | bool = ca_certs if ca_certs else True
        self._session.headers["User-Agent"] = "osaccess"
        self._session.auth = auth
        if client_cert:
            self._session.cert = (client_cert, client_key) if client_key else client_cert
        mounted = adapter or HTTPAdapter(max_retries=read_retry(retries, backoff))
        self._session.mount("https://", mounted)
        self._session.mount("http://", mounted)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, path: str, body: Any = None, *, timeout: float | None = None
    ) -> Response:
        """Send one request; raise a :class:`~osaccess.errors.ClusterError` when it cannot be
        sent or no answer comes. An answer with an error status is returned, not raised.
        ``timeout`` replaces the read timeout for this request (a long write)."""
        wait = self.timeout if timeout is None else timeout
        url = f"{self.endpoint}/{path.lstrip('/')}"
        what = f"{method} /{path.lstrip('/')}"
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        log.debug("-> %s %s (%d bytes)", method, url, len(data or b""))
        where: dict[str, Any] = {"endpoint": self.endpoint, "request": what}
        try:
            raw = self._session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=(self.timeout, wait),
                allow_redirects=False,
                verify=self._verify,
            )
        except requests.exceptions.SSLError as exc:
            raise errors.TLSFailed(
                f"TLS verification failed: {_short(exc)}",
                hint="give the CA that signed the cluster's certificate with --ca-certs "
                "(or OSACCESS_CA_CERTS); osaccess never disables verification",
                **where,
            ) from None
        except requests.exceptions.ReadTimeout:
            raise self._answer_timeout(where, wait=wait) from None
        except requests.exceptions.ConnectTimeout:
            raise errors.ConnectionFailed(
                f"could not connect within {self.timeout:g}s{self._gave_up(method)}",
                hint="check the endpoint, the network path (VPC, security groups) and retry",
                **where,
            ) from None
        except requests.exceptions.ConnectionError as exc:
            reason = (
                exc.args[0].reason if exc.args and isinstance(exc.args[0], MaxRetryError) else None
            )
            if isinstance(reason, ReadTimeoutError):
                raise self._answer_timeout(where, self._gave_up(method), wait=wait) from None
            cause = reason if reason is not None else (exc.args[0] if exc.args else None)
            if method not in READ_METHODS and not isinstance(
                cause, NewConnectionError | ConnectTimeoutError
            ):
                # the request went out and the connection broke before the answer came
                raise errors.AnswerLost(
                    f"the connection broke before the answer came: {_short(exc)}",
                    hint="osaccess re-reads the cluster to learn whether the change landed",
                    **where,
                ) from None
            raise errors.ConnectionFailed(
                f"cannot connect: {_short(exc)}{self._gave_up(method)}",
                hint="check the endpoint URL and that the cluster is reachable from here",
                **where,
            ) from None
        response = Response(
            raw.status_code, {k.lower(): v for k, v in raw.headers.items()}, raw.content
        )
        log.debug("<- %d %s (%d bytes)", response.status, what, len(response.body))
        return response

    def _answer_timeout(
        self, where: dict[str, Any], suffix: str = "", *, wait: float
    ) -> errors.AnswerTimeout:
        return errors.AnswerTimeout(
            f"no answer within {round(wait, 1):g}s{suffix}",
            hint="the cluster may be overloaded; check its health and retry",
            **where,
        )

    def _gave_up(self, method: str) -> str:
        adapter = self._session.get_adapter(self.endpoint)
        retries = getattr(adapter, "max_retries", None)
        if method in READ_METHODS and isinstance(retries, Retry) and retries.total:
            return f" (gave up after {int(retries.total) + 1} attempts)"
        return ""

    def error_for(self, response: Response, method: str, path: str) -> errors.ClusterError:
        """Turn an error answer into the exception that explains it."""
        return error_for(
            response,
            endpoint=self.endpoint,
            request=f"{method} /{path.lstrip('/')}",
            auth_kind=self.auth_kind,
        )


def error_for(
    response: Response, *, endpoint: str, request: str, auth_kind: str = "none"
) -> errors.ClusterError:
    """The one table from an HTTP answer (status and body) to an osaccess exception."""
    where: dict[str, Any] = {"endpoint": endpoint, "request": request, "status": response.status}
    status = response.status
    method = request.split(" ", 1)[0]
    if status in (502, 504) and method not in READ_METHODS:
        # A proxy in front of the node gave up waiting (Amazon's load balancer closes a request
        # that outlives its idle timeout with a 504, often with an empty or HTML body): the node
        # may still be writing. Never a reason to send the write again.
        return errors.AnswerLost(
            f"a proxy in front of the cluster gave up waiting for the answer (HTTP {status}); "
            "the node may still write the change",
            hint="osaccess re-reads the cluster to learn whether the change landed",
            **where,
        )
    if status == 413:
        return errors.ApiError(
            f"the request is larger than the cluster accepts (HTTP 413): "
            f"{_message_of(_json_or_none(response)) or 'request entity too large'}",
            hint="Amazon OpenSearch Service accepts 10 MiB per request on small instance types "
            "(100 MiB on larger ones); split the write with --max-operations-per-write",
            **where,
        )
    if response.looks_like_html:
        return errors.UnexpectedResponse(
            f"the cluster answered HTTP {status} with an HTML page, not the security API's JSON",
            hint="the endpoint may point at a proxy, a login page or OpenSearch Dashboards; "
            "use the OpenSearch REST endpoint",
            **where,
        )
    payload = _json_or_none(response)
    text = _message_of(payload) or response.body[:200].decode("utf-8", "replace")
    lowered = text.lower()
    if status == 401:
        hint = (
            "check cluster.username and OSACCESS_PASSWORD"
            if auth_kind == "basic"
            else "the cluster wants credentials; set cluster.auth (aws, basic or cert)"
        )
        return errors.AuthenticationFailed(
            f"the cluster did not accept the credentials: {text or '(empty answer)'}",
            hint=hint,
            **where,
        )
    if status == 403 and "is not authorized to perform: es:" in lowered:
        action = text.split("perform:")[1].split()[0]
        return errors.AWSDenied(
            f"AWS refused the request before OpenSearch saw it: {text}",
            hint=f"allow {action} on this domain for your IAM identity (identity policy "
            "and the domain's access policy); osaccess needs es:ESHttpGet and "
            "es:ESHttpPatch",
            **where,
        )
    if status == 403 and any(
        marker in lowered for marker in ("signature", "security token", "credential should be")
    ):
        return errors.AWSDenied(
            f"AWS did not accept the request signature: {text}",
            hint="check the region (cluster.region or --region), the clock, and that the "
            "credentials are current (aws sso login, or a fresh session)",
            **where,
        )
    if status == 403 and "no permission to access rest api" in lowered:
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
    if status == 403 and text.startswith("Resource") and "reserved" in text:
        return errors.ApiError(
            f"HTTP 403: {text}",
            hint="reserved mappings can only be changed by a REST admin or securityadmin; "
            "leave the role out of the file",
            **where,
        )
    if status == 409:
        return errors.Conflict(
            f"HTTP 409: {text}",
            hint="another writer changed the security configuration at the same time",
            **where,
        )
    if status in RETRYABLE_STATUS:
        return errors.Throttled(
            f"the cluster is busy or throttling (HTTP {status}): {text}",
            hint="osaccess retried with backoff; wait and run it again",
            retry_after=_retry_after(response),
            **where,
        )
    if status >= 500:
        return errors.ServerError(
            f"HTTP {status}: {text}",
            hint="the change may or may not have been written; osaccess re-reads to find out",
            **where,
        )
    return errors.ApiError(f"HTTP {status}: {text}", **where)


def _json_or_none(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response: Response) -> float | None:
    """Seconds from a Retry-After header (delta form), capped; None when absent or a date."""
    value = response.headers.get("retry-after", "").strip()
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value))) if value else None
    except ValueError:
        return None


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
