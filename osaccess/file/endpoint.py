"""What a cluster endpoint may look like, checked before any library parses it. Pure.

A URL from a file or the command line reaches urllib, requests and botocore; each of them fails
on a malformed one in its own way ("Invalid IPv6 URL", a port out of range, a host with a space
that resolves nowhere). :func:`problem` says what is wrong in words and how to write it.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")
FIX = "write it as https://host[:port], e.g. https://search-logs-abc123.eu-west-1.es.amazonaws.com"


def problem(value: str) -> str | None:
    """Why ``value`` is not a usable endpoint URL (None: it is)."""
    text = value.strip()
    bad = next((c for c in text if c.isspace() or ord(c) < 32 or c in '<>"{}|\\^`'), None)
    if bad is not None:
        shown = "a space" if bad == " " else repr(bad) if bad.isprintable() else f"U+{ord(bad):04X}"
        return f"contains {shown}, which no URL may hold"
    try:
        parts = urlsplit(text)
        port = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "is not an http(s) URL"
    if parts.username or parts.password:
        return "carries credentials (user:password@); secrets never belong in mapping files"
    host = parts.hostname or ""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "has no valid host name"
    elif not _HOST.match(host):
        return "has no valid host name"
    if port == 0:
        return "has port 0"
    if parts.query or parts.fragment or "?" in text or "#" in text:
        return "has a query or fragment (?, #), which an endpoint never has"
    return None


_REGION_IN_HOST = re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.(?:es|aoss)\.amazonaws\.com(?:\.cn)?$")


def region_from_endpoint(endpoint: str) -> str | None:
    host = urlsplit(endpoint).hostname or ""
    match = _REGION_IN_HOST.search(host)
    return match[1] if match else None
