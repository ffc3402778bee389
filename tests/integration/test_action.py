"""The GitHub Action's shell steps (scripts/action.sh), run here against the sandbox, with a
local stand-in for GitHub's API that records the pull-request comments."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import ROOT, Sandbox
from tests.integration.helpers import ALICE, env_for, live, write


class FakeGitHub:
    """Enough of the issue-comments API: list, create, update."""

    def __init__(self) -> None:
        self.comments: list[dict[str, Any]] = []
        self.calls: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length", 0))
                return dict(json.loads(self.rfile.read(length)))

            def do_GET(self) -> None:
                fake.calls.append(f"GET {self.path}")
                page = int(self.path.rsplit("page=", 1)[1]) if "page=" in self.path else 1
                self.reply(200, fake.comments if page == 1 else [])

            def do_POST(self) -> None:
                fake.calls.append(f"POST {self.path}")
                comment = {"id": 100 + len(fake.comments), "body": self.body()["body"]}
                fake.comments.append(comment)
                self.reply(201, comment)

            def do_PATCH(self) -> None:
                fake.calls.append(f"PATCH {self.path}")
                number = int(self.path.rsplit("/", 1)[1])
                (comment,) = [c for c in fake.comments if c["id"] == number]
                comment["body"] = self.body()["body"]
                self.reply(200, comment)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        yield fake


def action(
    sandbox: Sandbox, tmp_path: Path, github: FakeGitHub, mode: str, path: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    summary, outputs = tmp_path / f"summary-{mode}.md", tmp_path / f"outputs-{mode}"
    for file in (summary, outputs):
        file.write_text("")
    env = env_for(sandbox, "sigv4-master") | {
        "OSACCESS_BIN": str(Path(sys.executable).parent / "osaccess"),
        "OSACCESS_MODE": mode,
        "OSACCESS_PATHS": str(path),
        "OSACCESS_PLAN_FILE": str(tmp_path / "plan.json"),
        "OSACCESS_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "example/access",
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": "test-token",
    }
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "action.sh")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return result, values, summary.read_text()


def test_the_action_plans_comments_in_place_and_applies_the_reviewed_plan(
    sandbox: Sandbox, roles: list[str], tmp_path: Path, github: FakeGitHub
) -> None:
    path = write(tmp_path, sandbox, "sigv4-master", f"  {roles[0]}: [{ALICE}]\n")
    validated, values, _ = action(sandbox, tmp_path, github, "validate", path)
    assert validated.returncode == 0, validated.stderr
    planned, values, summary = action(sandbox, tmp_path, github, "plan", path)
    assert planned.returncode == 2, planned.stderr  # drift, reported by the exit code
    assert values == {"exit-code": "2", "drift": "true"}
    assert summary.startswith("<!-- osaccess-plan -->\n### osaccess plan:")
    assert "Who gains / who loses access" in summary
    assert [c for c in github.calls if not c.startswith("GET")] == [
        "POST /repos/example/access/issues/7/comments"
    ]
    again, _, _ = action(sandbox, tmp_path, github, "plan", path)
    assert again.returncode == 2
    assert github.calls[-1] == "PATCH /repos/example/access/issues/comments/100"
    assert len(github.comments) == 1  # updated in place, not added again
    applied, values, summary = action(sandbox, tmp_path, github, "apply", path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert values == {"exit-code": "0"}
    assert "Verified: the cluster now matches the plan." in summary
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]
    assert (tmp_path / "audit.jsonl").read_text().count('"result": "applied"') == 1
    settled, values, _ = action(sandbox, tmp_path, github, "plan", path)
    assert settled.returncode == 0
    assert values["drift"] == "false"
    assert "No changes" in github.comments[0]["body"]


def test_the_action_file_runs_these_steps() -> None:
    definition = yaml.safe_load((ROOT / "action.yml").read_text())
    assert definition["runs"]["using"] == "composite"
    assert {"mode", "path", "format", "role-to-assume", "parallel", "plan-file"} <= set(
        definition["inputs"]
    )
    (step,) = [s for s in definition["runs"]["steps"] if s.get("id") == "osaccess"]
    assert "scripts/action.sh" in step["run"]
    for name, value in step["env"].items():
        if name.startswith("OSACCESS_") and name != "OSACCESS_REGION":
            key = value.split("inputs.", 1)[1].split()[0].rstrip("}")
            assert key in definition["inputs"], name
