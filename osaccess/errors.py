"""The exceptions osaccess raises. Every message is meant for a person: what, where, what next.

OsaccessError                 base; ``str(e)`` is the message, ``e.hint`` what to do
├── ConfigError               bad input: a mapping file, an option (names file and line)
└── ClusterError              talking to a cluster failed (names endpoint and request)
    ├── ConnectionFailed      no TCP connection, DNS failure, timeout
    ├── TLSFailed             certificate not trusted, hostname mismatch
    ├── AuthenticationFailed  401: wrong user name/password or certificate
    ├── AWSDenied             Amazon refused before OpenSearch saw the request:
    │                         IAM/domain policy (es:ESHttp*), bad signature, expired token
    ├── SecurityApiDenied     the security plugin refused the caller (403)
    ├── UnexpectedResponse    not the security API's JSON (an HTML page, a proxy, ...)
    └── ApiError              any other error status from the security API
"""

from __future__ import annotations


class OsaccessError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(OsaccessError):
    pass


class ClusterError(OsaccessError):
    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        endpoint: str = "",
        request: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.endpoint = endpoint
        self.request = request
        self.status = status

    def __str__(self) -> str:
        where = " ".join(part for part in (self.request, "at", self.endpoint) if part)
        return f"{self.message} ({where})" if self.request else self.message


class ConnectionFailed(ClusterError):
    pass


class TLSFailed(ClusterError):
    pass


class AuthenticationFailed(ClusterError):
    pass


class AWSDenied(ClusterError):
    pass


class SecurityApiDenied(ClusterError):
    pass


class UnexpectedResponse(ClusterError):
    pass


class ApiError(ClusterError):
    pass


class Conflict(ApiError):
    pass


class ServerError(ApiError):
    pass


class PlanError(OsaccessError):
    def __init__(self, message: str, problems: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  - {p}" for p in self.problems)])


class Refused(OsaccessError):
    pass


class VerificationFailed(OsaccessError):
    pass


class AnswerTimeout(ConnectionFailed):
    pass


class Throttled(ApiError):
    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        retry_after: float | None = None,
        **where: object,
    ) -> None:
        super().__init__(message, hint, **where)  # type: ignore[arg-type]
        self.retry_after = retry_after
