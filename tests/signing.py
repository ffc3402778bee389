"""Signing as an AWS client does it (botocore's SigV4Auth), for tests of the gateway."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


@contextmanager
def clock(at: dt.datetime) -> Iterator[None]:
    """Make botocore sign as if it were ``at``."""
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda: at.replace(tzinfo=None)):
        yield


def sign(
    method: str,
    url: str,
    *,
    key: str,
    secret: str,
    token: str | None = None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    region: str = "eu-west-1",
    service: str = "es",
) -> dict[str, str]:
    """Return the headers to send (all of them signed, like botocore does)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(key, secret, token), service, region).add_auth(request)
    return dict(request.headers.items())
