"""The exceptions osaccess raises. Every message is meant for a person: what, where, what next.

Each class carries the exit code the command line uses for it (``exit_code``), so choosing an
exit code is a lookup, never a decision made again in a command.

OsaccessError                   exit 1; base. ``str(e)`` is the message, ``e.hint`` what to do
├── ConfigError                 exit 1; bad input: a mapping file, an option (names file and line)
│   ├── CredentialsError        exit 1; no AWS credentials or region, or the role cannot be
│   │                           assumed (names the profile or role and the fix)
│   └── PlanError               exit 1; the file cannot be applied to this cluster (a role that
│                               does not exist, a reserved or hidden mapping), found before any
│                               write; ``e.problems`` lists them
├── ClusterError                exit 1; talking to a cluster failed (names endpoint and request)
│   ├── ConnectionFailed        no TCP connection, DNS failure, connect timeout, lost answer
│   │   ├── AnswerTimeout       the request was sent but no answer came in time
│   │   └── AnswerLost          a proxy in front of the node (Amazon's load balancer) answered
│   │                           502/504 to a write: the node may still write it
│   ├── TLSFailed               certificate not trusted, hostname mismatch
│   ├── AuthenticationFailed    401: wrong user name/password or certificate
│   ├── AWSDenied               Amazon refused before OpenSearch saw the request:
│   │                           IAM/domain policy (es:ESHttp*), bad signature, expired token
│   ├── SecurityApiDenied       the security plugin refused the caller (403)
│   ├── UnexpectedResponse      not the security API's JSON (an HTML page, a proxy, ...)
│   └── ApiError                any other error status from the security API
│       ├── Conflict            409: another writer changed the document at the same time
│       ├── ServerError         5xx: the write may or may not have happened
│       └── Throttled           429/502/503/504 (``e.retry_after``: the server's Retry-After)
├── PartiallyApplied            exit 1; a later PATCH (another resource type, or another part
│                               of a split write) failed after earlier ones landed
│                               (``e.applied``, ``e.failed``, ``e.cause``)
├── VerificationFailed          exit 1; after a write the cluster does not hold what was written
└── Refused                     exit 3; a safety guard refused the plan (lockout, protect,
                                threshold, deletion), or a reviewed plan is stale, altered or
                                for another cluster

HTTP answers become these exceptions in one place: :func:`osaccess.cluster.transport.error_for`.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_REFUSED = 3
# can-i and who-can answer with their exit code: 0 yes (someone may), and codes of their own
# for no and for "it depends", never 1 (an error: a script that reads any non-zero as "no" must
# not take an unreachable cluster for a refusal) nor 2 (plan's "changes pending").
EXIT_NO = 4
EXIT_DEPENDS = 5
EXIT_USAGE = 64


class OsaccessError(Exception):
    exit_code = EXIT_ERROR
    label = "error"  # how the command line introduces the message

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(OsaccessError):
    pass


class CredentialsError(ConfigError):
    pass


class PlanError(ConfigError):
    def __init__(self, message: str, problems: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  - {p}" for p in self.problems)])


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


class AnswerTimeout(ConnectionFailed):
    pass


class AnswerLost(ConnectionFailed):
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


class Throttled(ApiError):
    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        retry_after: float | None = None,
        endpoint: str = "",
        request: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, hint, endpoint=endpoint, request=request, status=status)
        self.retry_after = retry_after


class VerificationFailed(OsaccessError):
    pass


class PartiallyApplied(OsaccessError):
    """The security plugin keeps each resource type in its own document, so a plan that
    changes several types is several writes (and ``--max-operations-per-write`` splits one type
    into several); this says which of them landed."""

    def __init__(self, *, applied: tuple[str, ...], failed: str, cause: OsaccessError) -> None:
        super().__init__(
            f"applied {', '.join(applied)}; then writing {failed} failed: {cause}",
            hint=f"{', '.join(applied)} are on the cluster, {failed} and what follows are not; "
            "fix the cause and run plan, then apply again: the next plan holds only what is "
            "left",
        )
        self.applied = applied
        self.failed = failed
        self.cause = cause


class Refused(OsaccessError):
    exit_code = EXIT_REFUSED
    label = "refused"


def exit_code(exc: BaseException) -> int:
    """The exit code for any exception: its class's, or 1 for an unexpected one (a bug)."""
    return exc.exit_code if isinstance(exc, OsaccessError) else EXIT_ERROR


def severity(code: int) -> int:
    """Exit codes from best to worst, for many clusters: 0, 2 (changes), 3 (refused), 1."""
    return {EXIT_OK: 0, EXIT_CHANGES: 1, EXIT_REFUSED: 2, EXIT_ERROR: 3}.get(code, 3)
