"""The security plugin's REST API for every kind, on top of :mod:`osaccess.cluster.transport`.

Turns wire JSON into the model and a plan's operations into one collection PATCH. Reads are a
constant number of requests whatever the number of roles: all mappings in one GET, all roles in
one GET. The API prefix (``_plugins/_security`` or the legacy ``_opendistro/_security``) is
detected once, on the first read.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from osaccess import errors, kinds
from osaccess.cluster.transport import Response, Transport
from osaccess.kinds.base import Kind
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.roles import ROLES
from osaccess.model import ClusterSpec, LiveState

log = logging.getLogger("osaccess.cluster")

PREFIXES = ("_plugins/_security", "_opendistro/_security")
# How many of a plan's reads are in flight at once (1: one after another). The reads are
# independent GETs; docs/safety.md says why reading them concurrently is as safe as in turn.
READ_CONCURRENCY_ENV = "OSACCESS_READ_CONCURRENCY"
DEFAULT_READ_CONCURRENCY = 8

T = TypeVar("T")


def read_concurrency() -> int:
    """The reads in flight at once: OSACCESS_READ_CONCURRENCY, else 8 (1 reads in turn)."""
    value = os.environ.get(READ_CONCURRENCY_ENV, "")
    try:
        return max(1, int(value)) if value.strip() else DEFAULT_READ_CONCURRENCY
    except ValueError:
        raise errors.ConfigError(
            f"{READ_CONCURRENCY_ENV}={value!r} is not a number",
            hint=f"set it to a whole number of reads in flight (1 reads one after another), "
            f"or unset it (default {DEFAULT_READ_CONCURRENCY})",
        ) from None


def all_of(calls: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Every call's result, in the calls' order, with up to ``workers`` running at once. Every
    call finishes before this returns; the first failure in the calls' order is raised (so the
    error a user sees does not depend on which answer came first)."""
    if workers <= 1 or len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(min(workers, len(calls)), thread_name_prefix="osaccess-read") as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]


class SecurityApi:
    def __init__(
        self,
        transport: Transport,
        prefix: str | None = None,
        cluster: ClusterSpec | None = None,
    ) -> None:
        self.transport = transport
        self.prefix = prefix
        # the effective cluster block this client was built from (recorded in plan files)
        self.cluster = cluster or ClusterSpec(endpoint=transport.endpoint)
        self.requests = 0  # how many HTTP requests this object sent (for benchmarks and tests)
        self._counting = threading.Lock()  # reads may be sent from several threads
        self.read_concurrency = read_concurrency()

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> SecurityApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def endpoint(self) -> str:
        return self.transport.endpoint

    def _send(
        self, method: str, path: str, body: Any = None, *, timeout: float | None = None
    ) -> Response:
        with self._counting:
            self.requests += 1
        return self.transport.request(method, path, body, timeout=timeout)

    def _fail(self, response: Response, method: str, path: str) -> errors.ClusterError:
        return self.transport.error_for(response, method, path)

    def _get_json(self, path: str) -> Any:
        response = self._send("GET", path)
        if response.status != 200:
            raise self._fail(response, "GET", path)
        try:
            return response.json()
        except ValueError:
            raise errors.UnexpectedResponse(
                "the answer is not JSON",
                endpoint=self.endpoint,
                request=f"GET /{path}",
                status=response.status,
                hint="the endpoint may not be an OpenSearch cluster with the security plugin",
            ) from None

    def detect_prefix(self, kind: Kind) -> dict[str, LiveDefinition]:
        """Find the API prefix (``_plugins/_security``, else the legacy one) by reading one
        kind's entries, and return them."""
        for prefix in PREFIXES:
            path = f"{prefix}/api/{kind.endpoint}"
            response = self._send("GET", path)
            if _no_handler(response):
                log.debug("%s: no handler, trying the next prefix", path)
                continue
            if response.status != 200:
                raise self._fail(response, "GET", path)
            self.prefix = prefix
            return self._entries(kind, response, path)
        raise errors.UnexpectedResponse(
            "neither _plugins/_security nor _opendistro/_security answers",
            hint="the security plugin is not installed or not enabled on this cluster "
            "(OpenSearch Serverless has none)",
            endpoint=self.endpoint,
            request=f"GET /{PREFIXES[0]}/api/{kind.endpoint}",
        )

    def read_definitions(self, kind: Kind) -> dict[str, LiveDefinition]:
        """All entries of one kind, in one GET, with the plugin's flags (the first read of
        this client finds the API prefix)."""
        if self.prefix is None:
            return self.detect_prefix(kind)
        path = f"{self.prefix}/api/{kind.endpoint}"
        response = self._send("GET", path)
        if response.status != 200:
            raise self._fail(response, "GET", path)
        return self._entries(kind, response, path)

    def _entries(self, kind: Kind, response: Response, path: str) -> dict[str, LiveDefinition]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise errors.UnexpectedResponse(
                f"the {kind.endpoint} answer is not a JSON object",
                endpoint=self.endpoint,
                request=f"GET /{path}",
                status=response.status,
                hint="the endpoint may not be an OpenSearch cluster with the security plugin",
            )
        return kind.from_document(body)

    def _read_offered(
        self, kind: Kind, unavailable: dict[str, str]
    ) -> dict[str, LiveDefinition] | None:
        """One kind's entries; None (and why, in ``unavailable``) when an optional kind's API
        is not offered by this cluster."""
        try:
            return self.read_definitions(kind)
        except (errors.ApiError, errors.SecurityApiDenied, errors.UnexpectedResponse) as exc:
            if not kind.optional:
                raise
            unavailable[kind.name] = _unavailable(kind, exc)
            return None

    def read_roles(self) -> frozenset[str]:
        return frozenset(self.read_definitions(ROLES))

    def info(self) -> dict[str, Any]:
        """GET / : the cluster's name and version (distribution, number)."""
        body = self._get_json("")
        return dict(body) if isinstance(body, dict) else {}

    def write_refusal(self, kind: Kind) -> errors.ClusterError | None:
        """Why a kind's entries may not be written (None: they may), found without writing: an
        empty PATCH passes the access checks (IAM's and the plugin's) and is then refused as an
        empty patch (400)."""
        assert self.prefix is not None, "read a kind first: it detects the prefix"
        path = f"{self.prefix}/api/{kind.endpoint}"
        response = self._send("PATCH", path, [])
        return None if response.status in (200, 400) else self._fail(response, "PATCH", path)

    def read_state(self) -> LiveState:
        """Everything a plan needs, one GET per kind: the first kind (which finds the API
        prefix when it is not known yet), then every other kind at once."""
        state, _ = self._read_state_with()
        return state

    def read_state_and_authinfo(self) -> tuple[LiveState, dict[str, Any]]:
        """:meth:`read_state` and :meth:`authinfo`, the authinfo read with the kinds: two
        round trips in all, whatever the number of kinds."""
        state, info = self._read_state_with(self.authinfo)
        return state, info if info is not None else {}

    def _read_state_with(
        self, also: Callable[[], dict[str, Any]] | None = None
    ) -> tuple[LiveState, dict[str, Any] | None]:
        every = kinds.registered()
        unavailable: dict[str, str] = {}
        first: dict[Kind, dict[str, LiveDefinition] | None] = {}
        if self.prefix is None:  # a kind that every cluster offers finds the prefix
            kind = next(k for k in every if not k.optional)
            first[kind] = self.detect_prefix(kind)
        rest = [kind for kind in every if kind not in first]
        calls: list[Callable[[], Any]] = [
            functools.partial(self._read_offered, kind, unavailable) for kind in rest
        ]
        if also is not None:
            calls.append(also)
        results = all_of(calls, self.read_concurrency)
        found = {**first, **dict(zip(rest, results, strict=False))}
        state = LiveState(
            definitions={k.name: v for k in every if (v := found.get(k)) is not None},
            prefix=self.prefix or "",
            unavailable=dict(sorted(unavailable.items())),
        )
        return state, results[-1] if also is not None else None

    def patch(
        self, endpoint: str, operations: list[dict[str, Any]], *, timeout: float | None = None
    ) -> str:
        """Send one collection PATCH of one resource type (all or nothing); the message.
        ``timeout``: how long to wait for the answer (a long write), else the read timeout."""
        assert self.prefix is not None
        path = f"{self.prefix}/api/{endpoint}"
        response = self._send("PATCH", path, operations, timeout=timeout)
        if response.status != 200:
            raise self._fail(response, "PATCH", path)
        try:
            return str(response.json().get("message", ""))
        except (ValueError, AttributeError):
            return ""

    def read_aliases(self) -> dict[str, frozenset[str]] | None:
        """Aliases and data streams, each with the indices behind it (can-i checks those, as the
        node does); None when the caller may not read them."""
        found: dict[str, set[str]] = {}
        response = self._send("GET", "_alias")
        if response.status != 200:
            return None
        body = response.json()
        for index, entry in body.items() if isinstance(body, dict) else ():
            for alias in (entry or {}).get("aliases", {}) if isinstance(entry, dict) else ():
                found.setdefault(str(alias), set()).add(str(index))
        response = self._send("GET", "_data_stream")
        if response.status == 200:
            streams = (
                response.json().get("data_streams", []) if isinstance(response.json(), dict) else []
            )
            for stream in streams:
                names = {str(i.get("index_name")) for i in stream.get("indices", [])}
                found.setdefault(str(stream.get("name")), set()).update(names)
        return {name: frozenset(indices) for name, indices in found.items()}

    def read_known(self) -> tuple[tuple[int, ...] | None, frozenset[str] | None]:
        """The node's version and the names of its indices (None each when not readable)."""
        version: tuple[int, ...] | None = None
        response = self._send("GET", "")
        if response.status == 200:
            number = str((response.json() or {}).get("version", {}).get("number", ""))
            parts = [int(x) for x in re.findall(r"\d+", number)[:3]]
            version = tuple(parts) or None
        indices: frozenset[str] | None = None
        response = self._send("GET", "_cat/indices?format=json&h=index&expand_wildcards=all")
        if response.status == 200 and isinstance(response.json(), list):
            indices = frozenset(str(row.get("index")) for row in response.json())
        return version, indices

    def authinfo(self) -> dict[str, Any]:
        prefix = self.prefix or PREFIXES[0]
        body = self._get_json(f"{prefix}/authinfo")
        return dict(body) if isinstance(body, dict) else {}


def _unavailable(kind: Kind, exc: errors.ClusterError) -> str:
    """Why the cluster does not offer an optional kind's endpoint, and what to do."""
    return f"the cluster refuses the {kind.label} API ({exc}): {kind.unavailable_hint}"


def _no_handler(response: Response) -> bool:
    return response.status in (400, 404, 405) and b"no handler found" in response.body
