"""Comment a plan on the pull request of a GitHub Actions run, updating osaccess's earlier
comment in place (found by its first line, a hidden marker) instead of adding another.

Usage: action-comment.py BODY_FILE. Reads GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL
and GITHUB_TOKEN; does nothing outside a pull request. Standard library only."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from typing import Any

MARKER = "<!-- osaccess-plan -->"


def call(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def main(body_file: str) -> int:
    event_path = os.environ.get("GITHUB_EVENT_PATH")
    token = os.environ.get("GITHUB_TOKEN")
    if not event_path or not token:
        return 0
    with open(event_path, encoding="utf-8") as handle:
        event = json.load(handle)
    number = (event.get("pull_request") or {}).get("number")
    if number is None:
        return 0
    with open(body_file, encoding="utf-8") as handle:
        body = handle.read()
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    issue = f"{api}/repos/{os.environ['GITHUB_REPOSITORY']}/issues/{number}"
    page, existing = 1, None
    while existing is None:
        comments = call("GET", f"{issue}/comments?per_page=100&page={page}", token)
        if not comments:
            break
        existing = next((c for c in comments if c.get("body", "").startswith(MARKER)), None)
        page += 1
    if existing is not None:
        call(
            "PATCH",
            f"{api}/repos/{os.environ['GITHUB_REPOSITORY']}/issues/comments/{existing['id']}",
            token,
            {"body": body},
        )
        print(f"updated the plan comment on pull request #{number}", file=sys.stderr)
    else:
        call("POST", f"{issue}/comments", token, {"body": body})
        print(f"commented the plan on pull request #{number}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
