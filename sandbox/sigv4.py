"""Verification of AWS Signature Version 4, the way Amazon's front door for OpenSearch does it.

The signature is recomputed with botocore's signer (the reference implementation clients use) from
what actually arrived: the method, the raw path and query, the headers the client says it signed,
and the body bytes. Any difference, however small, fails verification.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class ResolvedCredentials:
    """What an access key stands for."""

    secret_access_key: str
    principal_arn: str
    backend_roles: tuple[str, ...]
    session_token: str | None = None
    expiration: dt.datetime | None = None
    denied_actions: frozenset[str] = field(default_factory=frozenset)


class CredentialResolver(Protocol):
    def resolve(self, access_key_id: str) -> ResolvedCredentials | None: ...


class SignatureRejected(Exception):
    """The request is refused before it reaches OpenSearch, with Amazon's status and wording."""

    def __init__(self, status: int, message: str, key: str = "message") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.key = key

    @property
    def body(self) -> dict[str, str]:
        return {self.key: self.message}


def http_action(method: str) -> str:
    """The IAM action Amazon OpenSearch Service checks for an HTTP method, e.g. es:ESHttpPatch."""
    return "es:ESHttp" + method.capitalize()


def verify_request(
    *,
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: bytes,
    resolver: CredentialResolver,
    region: str,
    service: str = "es",
    now: dt.datetime | None = None,
) -> ResolvedCredentials:
    """Return who signed the request, or raise :class:`SignatureRejected`.

    ``headers`` must have lower-case names. ``raw_path`` is the request target as received
    (percent-encoded path plus query string).
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    authorization = headers.get("authorization")
    if not authorization:
        action = http_action(method)
        raise SignatureRejected(
            403,
            f"User: anonymous is not authorized to perform: {action} because no "
            f"resource-based policy allows the {action} action",
            key="Message",
        )
    match = _AUTH_RE.match(authorization.strip())
    if not match:
        raise SignatureRejected(
            403,
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
            "parameters of an AWS4-HMAC-SHA256 signature.",
        )
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureRejected(
            403,
            "Credential should be scoped to a valid region, service and aws4_request terminator.",
        )
    access_key_id, scope_date, scope_region, scope_service, _ = parts
    amz_date = headers.get("x-amz-date", "")
    try:
        signed_at = dt.datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise SignatureRejected(
            403,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ) from None
    if scope_date != amz_date[:8]:
        raise SignatureRejected(
            403,
            f"Date in Credential scope does not match YYYYMMDD from "
            f"ISO-8601 version of date from HTTP: '{scope_date}' != "
            f"'{amz_date[:8]}'",
        )
    if scope_region != region:
        raise SignatureRejected(403, "Credential should be scoped to a valid region. ")
    if scope_service != service:
        raise SignatureRejected(
            403, f"Credential should be scoped to correct service: '{service}'. "
        )
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        raise SignatureRejected(
            403,
            f"Signature expired: {amz_date} is now earlier than "
            f"{(now - MAX_CLOCK_SKEW).strftime(_AMZ_DATE)} "
            f"({now.strftime(_AMZ_DATE)} - 5 min.)",
        )

    signed_headers = match["signed"].split(";")
    if "host" not in signed_headers:
        raise SignatureRejected(403, "'Host' must be a signed header.")
    missing = [name for name in signed_headers if name not in headers]
    if missing:
        raise SignatureRejected(
            403,
            f"The request signature we calculated does not match the "
            f"signature you provided: signed header(s) {missing} missing.",
        )

    content_sha = headers.get("x-amz-content-sha256")
    if content_sha is not None and content_sha != hashlib.sha256(body).hexdigest():
        raise SignatureRejected(
            400, "The provided 'x-amz-content-sha256' header does not match what was computed."
        )

    creds = resolver.resolve(access_key_id)
    if creds is None:
        raise SignatureRejected(403, "The security token included in the request is invalid.")
    token = headers.get("x-amz-security-token")
    if creds.session_token is not None:
        if token is None or not hmac.compare_digest(token, creds.session_token):
            raise SignatureRejected(403, "The security token included in the request is invalid.")
        if creds.expiration is not None and now >= creds.expiration:
            raise SignatureRejected(403, "The security token included in the request is expired")
    elif token is not None:
        raise SignatureRejected(403, "The security token included in the request is invalid.")

    expected = _signature(
        method=method,
        url=f"https://{headers['host']}{raw_path}",
        signed={name: headers[name] for name in signed_headers},
        body=body,
        creds=creds,
        access_key_id=access_key_id,
        amz_date=amz_date,
        region=region,
        service=service,
    )
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureRejected(
            403,
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.",
        )
    return creds


def _signature(
    *,
    method: str,
    url: str,
    signed: dict[str, str],
    body: bytes,
    creds: ResolvedCredentials,
    access_key_id: str,
    amz_date: str,
    region: str,
    service: str,
) -> str:
    request = AWSRequest(method=method.upper(), url=url, data=body, headers=signed)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(
        Credentials(access_key_id, creds.secret_access_key, creds.session_token), service, region
    )
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    return str(signer.signature(string_to_sign, request))
