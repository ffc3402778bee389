"""A fake HTTP layer for fast tests of the client logic: a requests adapter that plays the
security API's role-mapping endpoints in memory, with faults scripted per request.

It is not a stand-in for the real node (the integration tests use that); it lets the write
loop's fault branches run in milliseconds and lets tests see the exact bytes osaccess sends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import BaseAdapter

from osaccess.cluster.security import SecurityApi
from osaccess.cluster.transport import Transport

PREFIX = "/_plugins/_security"
Fault = Callable[["FakeCluster", requests.PreparedRequest], "requests.Response | None"]


@dataclass
class Sent:
    method: str
    path: str
    body: bytes | None


@dataclass
class FakeCluster(BaseAdapter):
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: set[str] = field(default_factory=set)
    # endpoint (roles, actiongroups, tenants) -> name -> body; roles holds a body per name
    documents: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    user: str = "admin"
    user_roles: tuple[str, ...] = ("all_access",)
    sent: list[Sent] = field(default_factory=list)
    # faults by "METHOD path-suffix": each call pops the first; None forwards normally
    faults: dict[str, list[Fault]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        roles = self.documents.setdefault("roles", {})
        for name in self.roles:
            roles.setdefault(name, {"cluster_permissions": []})
        self.documents.setdefault("actiongroups", {})
        self.documents.setdefault("tenants", {})
        self.documents.setdefault("internalusers", {})

    # -- what tests use ---------------------------------------------------------------------
    def api(self) -> SecurityApi:
        return SecurityApi(Transport("https://fake.test", ("admin", "x"), adapter=self))

    def fault(self, key: str, *faults: Fault) -> None:
        self.faults.setdefault(key, []).extend(faults)

    def requests_of(self, method: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method]

    # -- the adapter ------------------------------------------------------------------------
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        path = (request.path_url or "").split("?")[0]
        body = request.body if isinstance(request.body, bytes) else None
        self.sent.append(Sent(str(request.method), path, body))
        key = f"{request.method} {path.rsplit('/', 1)[-1]}"
        queue = self.faults.get(key)
        if queue:
            answer = queue.pop(0)(self, request)
            if answer is not None:
                return answer
        return self.handle(request, path, body)

    def close(self) -> None:
        pass

    def handle(
        self, request: requests.PreparedRequest, path: str, body: bytes | None
    ) -> requests.Response:
        if path == f"{PREFIX}/api/rolesmapping" and request.method == "GET":
            return answer(request, 200, self.mappings)
        endpoint = path.removeprefix(f"{PREFIX}/api/")
        if endpoint in self.documents and request.method == "GET":
            return answer(request, 200, self.documents[endpoint])
        if endpoint in self.documents and request.method == "PATCH":
            return answer(request, 200, self.patch(json.loads(body or b"[]"), endpoint))
        if path == f"{PREFIX}/authinfo":
            return answer(
                request,
                200,
                {"user_name": self.user, "backend_roles": [], "roles": list(self.user_roles)},
            )
        if path == f"{PREFIX}/api/rolesmapping" and request.method == "PATCH":
            return answer(request, 200, self.patch(json.loads(body or b"[]")))
        return answer(request, 404, {"error": f"no handler found for uri [{path}]"})

    def patch(self, operations: list[dict[str, Any]], endpoint: str = "") -> dict[str, str]:
        document = self.documents[endpoint] if endpoint else self.mappings
        for op in operations:
            parts = [
                p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")
            ]
            name = parts[0]
            if len(parts) == 2:  # a member of an entry (JSON Patch on the whole document)
                document[name][parts[1]] = op["value"]
            elif op["op"] == "remove":
                document.pop(name, None)
            else:
                document[name] = dict(op["value"])
        return {"status": "OK", "message": "Resource updated."}


def answer(
    request: requests.PreparedRequest,
    status: int,
    body: Any,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode("utf-8")
    response.headers.update({"content-type": "application/json", **(headers or {})})
    response.request = request
    response.url = str(request.url)
    return response


# -- faults -----------------------------------------------------------------------------------


def status(code: int, message: str = "", headers: dict[str, str] | None = None) -> Fault:
    def fault(_: FakeCluster, request: requests.PreparedRequest) -> requests.Response:
        return answer(request, code, {"status": str(code), "message": message}, headers)

    return fault


def write_then(code: int) -> Fault:
    """The write lands, then the cluster answers with an error anyway."""

    def fault(cluster: FakeCluster, request: requests.PreparedRequest) -> requests.Response:
        body = request.body if isinstance(request.body, bytes) else b"[]"
        cluster.patch(json.loads(body))
        return answer(request, code, {"status": "INTERNAL_SERVER_ERROR", "message": "boom"})

    return fault


def write_then_lose_answer(cluster: FakeCluster, request: requests.PreparedRequest) -> None:
    """The write lands, but the answer never arrives."""
    body = request.body if isinstance(request.body, bytes) else b"[]"
    cluster.patch(json.loads(body))
    raise requests.exceptions.ReadTimeout("read timed out")


def no_connection(_: FakeCluster, request: requests.PreparedRequest) -> None:
    raise requests.exceptions.ConnectTimeout("connect timed out")


def meanwhile(change: Callable[[FakeCluster], None], then: Fault | None = None) -> Fault:
    """Another writer changes the cluster just before this request is handled."""

    def fault(cluster: FakeCluster, request: requests.PreparedRequest) -> requests.Response | None:
        change(cluster)
        return then(cluster, request) if then else None

    return fault
