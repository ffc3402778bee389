"""A small HTTP proxy in front of the sandbox node that can misbehave on purpose.

Tests give it a rule: for each request (method, path) it decides to forward, to answer by itself
without forwarding, or to forward and then answer something else (a write that happened but was
reported as failed). It speaks plain HTTP on loopback and HTTPS to the node.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


@dataclass(frozen=True)
class Forward:
    pass


@dataclass(frozen=True)
class Answer:
    """Answer without forwarding (JSON, or the text as it is for other content types)."""

    status: int
    body: Any
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    def encoded(self) -> bytes:
        if self.content_type == "application/json":
            return json.dumps(self.body).encode()
        return str(self.body).encode()


@dataclass(frozen=True)
class ForwardThenAnswer:
    """Forward (the write happens), then answer this instead of the node's reply."""

    status: int
    body: Any


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering (a reset, as a crashed proxy would)."""


@dataclass(frozen=True)
class Delay:
    """Wait, then forward (the client may have given up by then: a timeout); or, with
    ``after_forward``, forward at once and hold the answer back."""

    seconds: float
    after_forward: bool = False


@dataclass(frozen=True)
class ForwardLater:
    """Answer at once (as Amazon's load balancer does with a 504 when a request outlives its
    idle timeout), and forward the request only after ``seconds``: the node writes it later."""

    seconds: float
    status: int = 504
    body: str = "<html><body><h1>504 Gateway Time-out</h1></body></html>"


Rule = Callable[[str, str], Forward | Answer | ForwardThenAnswer | Drop | Delay | ForwardLater]


class FaultProxy:
    def __init__(self, upstream: str, ca_certs: str, rule: Rule) -> None:
        self.upstream = upstream
        self.ca_certs = ca_certs
        self.rule = rule
        self.seen: list[str] = []
        self.actions: list[str] = []
        self.late: list[int] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy._handle(self)

            do_PUT = do_PATCH = do_DELETE = do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        self.seen.append(f"{handler.command} {handler.path}")
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else None
        action = self.rule(handler.command, handler.path)
        self.actions.append(type(action).__name__)
        if isinstance(action, Drop):
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if isinstance(action, ForwardLater):
            self._reply(handler, action.status, action.body.encode(), "text/html")
            headers = dict(handler.headers.items())
            path, command = handler.path, handler.command

            def later() -> None:
                time.sleep(action.seconds)
                self._land(command, path, body, headers)

            threading.Thread(target=later, daemon=True).start()
            return
        if isinstance(action, Delay) and not action.after_forward:
            time.sleep(action.seconds)
        if isinstance(action, Answer):
            self._reply(
                handler, action.status, action.encoded(), action.content_type, action.headers
            )
            return
        if isinstance(action, (ForwardThenAnswer, Delay)) and handler.command != "GET":
            # a write the scenario needs to land (its answer is replaced or held back)
            upstream = self._land(handler.command, handler.path, body, dict(handler.headers))
        else:
            upstream = self._forward(handler.command, handler.path, body, dict(handler.headers))
        if isinstance(action, Delay) and action.after_forward:
            time.sleep(action.seconds)
        if isinstance(action, ForwardThenAnswer):
            self._reply(handler, action.status, json.dumps(action.body).encode())
        else:
            self._reply(handler, upstream.status_code, upstream.content)

    def _land(
        self, command: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> requests.Response:
        """Forward a write until it is not refused for a concurrency race: the sandbox's other
        tests write too, and a write that a scenario needs written (late, or with its answer
        replaced) must land. Every status is kept in ``late``."""
        for _ in range(20):
            upstream = self._forward(command, path, body, headers)
            self.late.append(upstream.status_code)
            if upstream.status_code != 409:
                break
            time.sleep(0.2)
        return upstream

    def _forward(
        self, command: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> requests.Response:
        return requests.request(
            command,
            self.upstream + path,
            data=body,
            verify=self.ca_certs,
            timeout=120,
            headers={
                k: v for k, v in headers.items() if k.lower() in ("authorization", "content-type")
            },
        )

    @staticmethod
    def _reply(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        handler.send_response(status)
        handler.send_header("content-type", content_type)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def no_handler(method: str, path: str) -> Answer:
    return Answer(
        400, {"error": f"no handler found for uri [{path}] and method [{method}]", "status": 400}
    )
