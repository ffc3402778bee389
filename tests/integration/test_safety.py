"""The guards, reviewed plans, concurrency and faults, against the real sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, STATE, Sandbox, admin, reset_mappings, sandbox_settings
from tests.integration.helpers import ALICE, MASTER, SSO, env_for, live, run, write
from tests.integration.proxy import Answer, Delay, Drop, FaultProxy, Forward, ForwardLater

MAPPINGS = "/_plugins/_security/api/rolesmapping"


@pytest.fixture()
def restore(sandbox: Sandbox) -> Iterator[None]:
    """Tests that touch all_access / security_manager put them back afterwards."""
    yield
    reset_mappings(sandbox)


# -- lockout, protect, empty admin roles ---------------------------------------------------------


@pytest.mark.serial
def test_the_caller_cannot_lock_itself_out(sandbox: Sandbox, tmp_path: Path, restore: None) -> None:
    path = write(
        tmp_path, sandbox, "sigv4-master", f"  all_access: [{SSO}]\n  security_manager: [{SSO}]\n"
    )
    planned = run(sandbox, "sigv4-master", "plan", str(path))
    assert "apply will refuse this plan" in planned.stdout
    result = run(sandbox, "sigv4-master", "apply", str(path), "-y", "--force")
    assert result.returncode == 3, result.stderr
    assert (
        f"the plan would lock you out: {MASTER} would no longer hold any of all_access, "
        "security_manager" in result.stderr
    )
    assert f"'all_access': the plan removes '{MASTER}' from backend_roles" in result.stderr
    assert "--force does not lift this guard" in result.stderr
    assert MASTER in live(sandbox, "all_access")["backend_roles"]  # type: ignore[index]


@pytest.mark.serial
def test_protected_principals_stay_whatever_the_file_says(
    sandbox: Sandbox, tmp_path: Path, restore: None
) -> None:
    path = tmp_path / "protect.yaml"
    path.write_text(
        f"cluster:\n  endpoint: {sandbox.gateway_url}\n  region: eu-west-1\n"
        f"  ca_certs: {sandbox.ca_certs}\n"
        f"protect: [{MASTER}, admin]\n"
        f"roles:\n  all_access: [{SSO}]\n"
    )
    planned = run(sandbox, "sigv4-master", "plan", str(path))
    assert "(protected: kept although not in the file)" in planned.stdout
    assert "REMOVED" not in planned.stdout
    assert run(sandbox, "sigv4-master", "apply", str(path), "-y").returncode == 0
    after = live(sandbox, "all_access")
    assert after is not None
    assert sorted(after["backend_roles"]) == sorted([MASTER, SSO])
    assert after["users"] == ["admin"]


@pytest.mark.serial
def test_an_admin_role_is_never_left_empty(sandbox: Sandbox, tmp_path: Path, restore: None) -> None:
    path = write(tmp_path, sandbox, "sigv4-master", "  security_manager:\n    users: []\n")
    result = run(sandbox, "sigv4-master", "apply", str(path), "-y", "--force")
    assert result.returncode == 3
    assert (
        "[empty-admin-role] the plan leaves 'security_manager' with no principal" in result.stderr
    )
    assert live(sandbox, "security_manager")["users"] == ["admin"]  # type: ignore[index]


# -- mass removal ----------------------------------------------------------------------------


def test_mass_removal_needs_force(sandbox: Sandbox, roles: list[str], tmp_path: Path) -> None:
    users = [f"user-{i:02d}" for i in range(10)]
    assert admin(sandbox, "PUT", f"{MAPPINGS}/{roles[0]}", {"users": users}).ok
    path = write(
        tmp_path, sandbox, "basic", f"  {roles[0]}:\n    users: [{', '.join(users[:5])}]\n"
    )
    refused = run(sandbox, "basic", "apply", str(path), "-y")
    assert refused.returncode == 3
    assert "[removal-threshold] the plan removes 5 of the 10 principals" in refused.stderr
    assert f"user-09 ({roles[0]})" in refused.stderr
    assert "run apply again with --force" in refused.stderr
    assert len(live(sandbox, roles[0])["users"]) == 10  # type: ignore[index]
    forced = run(sandbox, "basic", "apply", str(path), "-y", "--force")
    assert forced.returncode == 0, forced.stderr
    assert sorted(live(sandbox, roles[0])["users"]) == users[:5]  # type: ignore[index]


# -- reviewed plans -----------------------------------------------------------------------------


def make_reviewed(sandbox: Sandbox, tmp_path: Path, roles_yaml: str) -> Path:
    path = write(tmp_path, sandbox, "basic", roles_yaml)
    out = tmp_path / "reviewed-plan.json"
    result = run(sandbox, "basic", "plan", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_a_reviewed_plan_is_applied_exactly(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    plan_file = make_reviewed(sandbox, tmp_path, f"  {roles[0]}: [{ALICE}]\n")
    document = json.loads(plan_file.read_text())
    assert document["checksum"].startswith("sha256:")
    assert document["plans"][0]["fingerprint"].startswith("sha256:")
    assert document["plans"][0]["caller"] == "admin"
    result = run(sandbox, "basic", "apply", "--plan", str(plan_file), "-y")
    assert result.returncode == 0, result.stderr
    assert "Verified: the cluster now matches the plan." in result.stdout
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]


def test_an_altered_plan_is_refused(sandbox: Sandbox, roles: list[str], tmp_path: Path) -> None:
    plan_file = make_reviewed(sandbox, tmp_path, f"  {roles[0]}: [{ALICE}]\n")
    document = json.loads(plan_file.read_text())
    document["plans"][0]["changes"][0]["after"]["users"].append("mallory")
    plan_file.write_text(json.dumps(document))
    result = run(sandbox, "basic", "apply", "--plan", str(plan_file), "-y")
    assert result.returncode == 3
    assert "the plan was altered after it was made" in result.stderr
    assert live(sandbox, roles[0]) is None


def test_a_plan_for_another_cluster_is_refused(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    plan_file = make_reviewed(sandbox, tmp_path, f"  {roles[0]}: [{ALICE}]\n")
    result = run(
        sandbox, "basic", "apply", "--plan", str(plan_file), "-y", "--endpoint", sandbox.gateway_url
    )
    assert result.returncode == 3
    assert "the plan was made for another cluster" in result.stderr
    assert live(sandbox, roles[0]) is None


def test_a_stale_plan_is_refused_and_shows_what_changed(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    assert admin(sandbox, "PUT", f"{MAPPINGS}/{roles[0]}", {"users": ["before"]}).ok
    plan_file = make_reviewed(sandbox, tmp_path, f"  {roles[0]}: [{ALICE}]\n")
    assert admin(
        sandbox, "PUT", f"{MAPPINGS}/{roles[0]}", {"users": ["before", "edited-by-hand"]}
    ).ok
    result = run(sandbox, "basic", "apply", "--plan", str(plan_file), "-y")
    assert result.returncode == 3
    assert f"{roles[0]}: gained edited-by-hand" in result.stderr
    assert sorted(live(sandbox, roles[0])["users"]) == ["before", "edited-by-hand"]  # type: ignore[index]


def test_an_edit_of_another_role_is_kept(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    plan_file = make_reviewed(sandbox, tmp_path, f"  {roles[0]}: [{ALICE}]\n")
    admin(sandbox, "PUT", f"{MAPPINGS}/{roles[1]}", {"users": ["edited-by-hand"]})
    result = run(sandbox, "basic", "apply", "--plan", str(plan_file), "-y")
    assert result.returncode == 0, result.stderr
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]
    assert live(sandbox, roles[1])["users"] == ["edited-by-hand"]  # type: ignore[index]


# -- audit -------------------------------------------------------------------------------------


def test_every_apply_leaves_an_audit_record(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    path = write(tmp_path, sandbox, "sigv4-master", f"  {roles[0]}: [{ALICE}]\n")
    applied = run(sandbox, "sigv4-master", "apply", str(path), "-y", "--audit-log", str(log))
    assert applied.returncode == 0
    assert f"audit: applied: 1 change(s) to {sandbox.gateway_url} by {MASTER}" in applied.stderr
    assert admin(
        sandbox, "PUT", f"{MAPPINGS}/{roles[0]}", {"users": [f"u{i}" for i in range(9)]}
    ).ok
    refused = run(sandbox, "sigv4-master", "apply", str(path), "-y", "--audit-log", str(log))
    assert refused.returncode == 3
    first, second = (json.loads(line) for line in log.read_text().splitlines())
    assert first["result"] == "applied"
    assert first["caller"] == MASTER
    assert first["cluster"] == sandbox.gateway_url
    (change,) = first["changes"]
    assert {k: change[k] for k in ("kind", "name", "action", "added", "removed")} == {
        "kind": "mappings",
        "name": roles[0],
        "action": "create",
        "added": {"users": [ALICE]},
        "removed": {},
    }
    assert change["before"] is None and change["after"]["users"] == [ALICE]
    assert second["result"] == "refused"
    assert "removal-threshold" in second["error"]
    assert first["time"] < second["time"] or first["time"] == second["time"]


# -- concurrency -------------------------------------------------------------------------------


@pytest.mark.serial
def test_two_applies_at_the_same_moment_both_land(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    for round_ in range(3):
        users = [f"round{round_}-a", f"round{round_}-b"]
        paths = [
            write(tmp_path, sandbox, "basic", f"  {role}:\n    users: [{user}]\n")
            for role, user in zip(roles[:2], users, strict=True)
        ]
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "osaccess", "apply", str(p), "-y"],
                cwd=ROOT,
                env=env_for(sandbox, "basic"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for p in paths
        ]
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
        assert live(sandbox, roles[0])["users"] == [users[0]]  # type: ignore[index]
        assert live(sandbox, roles[1])["users"] == [users[1]]  # type: ignore[index]


@pytest.mark.serial
def test_a_node_killed_during_apply_leaves_every_mapping_old_or_new(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    names = [f"kill_{uuid.uuid4().hex[:6]}_{i:04d}" for i in range(600)]
    ok = admin(
        sandbox,
        "PATCH",
        "/_plugins/_security/api/roles",
        [{"op": "add", "path": f"/{n}", "value": {"cluster_permissions": []}} for n in names],
    )
    assert ok.status_code == 200, ok.text
    path = write(
        tmp_path, sandbox, "basic", "".join(f"  {n}:\n    users: [u-{n}, v-{n}]\n" for n in names)
    )
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "osaccess", "apply", str(path), "-y", "--timeout", "60"],
            cwd=ROOT,
            env=env_for(sandbox, "basic"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        pid_file = STATE / "node" / "opensearch.pid"
        time.sleep(2.5)  # planning takes about a second, the PATCH of 600 mappings several
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        _, stderr = process.communicate(timeout=180)
        assert process.returncode != 0
        assert "Traceback" not in stderr
        restarted = subprocess.run(
            [str(ROOT / "scripts" / "sandbox.sh"), "start"],
            cwd=ROOT,
            env={**os.environ, **sandbox_settings()},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert restarted.returncode == 0, restarted.stderr
        current = admin(sandbox, "GET", MAPPINGS).json()
        present = [n for n in names if n in current]
        assert len(present) in (0, len(names))  # all old or all new, never a mix
        for name in present:
            assert sorted(current[name]["users"]) == [f"u-{name}", f"v-{name}"]
        replan = run(sandbox, "basic", "plan", str(path), "--detailed-exitcode")
        assert replan.returncode == (0 if present else 2)
    finally:
        admin(sandbox, "PATCH", MAPPINGS, [{"op": "remove", "path": f"/{n}"} for n in names])
        admin(
            sandbox,
            "PATCH",
            "/_plugins/_security/api/roles",
            [{"op": "remove", "path": f"/{n}"} for n in names],
        )


# -- faults ------------------------------------------------------------------------------------


def through(
    sandbox: Sandbox, tmp_path: Path, role: str, proxy: FaultProxy, *args: str
) -> subprocess.CompletedProcess[str]:
    path = write(tmp_path, sandbox, "basic", f"  {role}: [{ALICE}]\n")
    return run(sandbox, "basic", *args, str(path), "--endpoint", proxy.url)


class Once:
    """A rule that misbehaves for the first ``times`` matching requests, then forwards."""

    def __init__(self, method: str, action: object, times: int = 1) -> None:
        self.method, self.action, self.left = method, action, times

    def __call__(self, method: str, path: str) -> object:
        if method == self.method and self.left > 0:
            self.left -= 1
            return self.action
        return Forward()


@pytest.mark.parametrize(
    "fault",
    [
        Answer(503, {"message": "busy"}, headers=(("Retry-After", "1"),)),
        Answer(429, {"message": "Too Many Requests"}),
        Drop(),
        Delay(3.0),
    ],
    ids=["503-retry-after", "429", "connection-reset", "timeout"],
)
def test_reads_are_retried_through_transient_faults(
    sandbox: Sandbox, roles: list[str], tmp_path: Path, fault: object
) -> None:
    with FaultProxy(sandbox.node_url, sandbox.ca_certs, Once("GET", fault, 2)) as proxy:
        result = through(sandbox, tmp_path, roles[0], proxy, "apply", "-y", "--timeout", "1")
    assert result.returncode == 0, result.stderr
    assert "retrying in" in result.stderr
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]


def test_retries_are_bounded_and_end_with_a_clear_message(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    busy = Answer(503, {"message": "busy"}, headers=(("Retry-After", "0"),))
    with FaultProxy(sandbox.node_url, sandbox.ca_certs, lambda m, p: busy) as proxy:
        started = time.monotonic()
        result = through(sandbox, tmp_path, roles[0], proxy, "plan")
    assert result.returncode == 1
    assert "the cluster is busy or throttling (HTTP 503)" in result.stderr
    assert len(proxy.seen) == 4  # the first try and three retries, no more
    assert time.monotonic() - started < 30
    assert "Traceback" not in result.stderr


def test_a_throttled_write_is_retried_after_re_reading(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    throttle = Answer(429, {"message": "Too Many Requests"}, headers=(("Retry-After", "1"),))
    with FaultProxy(sandbox.node_url, sandbox.ca_certs, Once("PATCH", throttle)) as proxy:
        result = through(sandbox, tmp_path, roles[0], proxy, "apply", "-y")
    assert result.returncode == 0, result.stderr
    patches = [s for s in proxy.seen if s.startswith("PATCH")]
    # the 429, then the write (and again, should another test's write win the race: a 409)
    assert len(patches) >= 2 and proxy.actions[proxy.seen.index(patches[0])] == "Answer"
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]
    # between the two writes it read the mappings again
    first = proxy.seen.index(patches[0])
    assert any(s.startswith("GET") and s.endswith("/rolesmapping") for s in proxy.seen[first + 1 :])


def test_a_write_whose_answer_is_lost_is_checked_not_repeated(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    late = Delay(3.0, after_forward=True)  # written, but the answer comes too late
    with FaultProxy(sandbox.node_url, sandbox.ca_certs, Once("PATCH", late)) as proxy:
        result = through(sandbox, tmp_path, roles[0], proxy, "apply", "-y", "--timeout", "1")
    assert result.returncode == 0, result.stderr
    assert proxy.late[-1:] == [200], proxy.late  # written once it won any race, then answered
    assert len([s for s in proxy.seen if s.startswith("PATCH")]) == 1
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]


def test_a_write_whose_connection_breaks_is_awaited_then_reported_exactly_not_repeated(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    with FaultProxy(sandbox.node_url, sandbox.ca_certs, Once("PATCH", Drop(), 10)) as proxy:
        started = time.monotonic()
        result = through(sandbox, tmp_path, roles[0], proxy, "apply", "-y", "--timeout", "2")
    assert result.returncode == 1
    # the request went out, so the node may have it: osaccess re-reads until the write's
    # deadline, then says exactly what it saw
    assert "the connection broke before the answer came" in result.stderr
    assert "shows 0 of the 1 planned change(s) to the role mappings" in result.stderr
    assert time.monotonic() - started >= 10
    assert len([s for s in proxy.seen if s.startswith("PATCH")]) == 1
    assert live(sandbox, roles[0]) is None


def test_a_504_from_the_front_end_while_the_node_still_writes_ends_applied(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    """Amazon's load balancer answers 504 when a write outlives its idle timeout, and the node
    goes on writing: osaccess re-reads until the change shows, and reports it applied."""
    audit = tmp_path / "audit.jsonl"
    late = ForwardLater(4.0)
    with FaultProxy(sandbox.node_url, sandbox.ca_certs, Once("PATCH", late)) as proxy:
        result = through(
            sandbox, tmp_path, roles[0], proxy, "apply", "-y", "--audit-log", str(audit)
        )
    assert proxy.late[-1:] == [200], proxy.late  # the node did write it, late
    assert result.returncode == 0, result.stderr
    assert "gave up waiting for the answer (HTTP 504)" in result.stderr
    assert "re-reading the role mappings until the change shows" in result.stderr
    assert "note: the answer was lost or late" in result.stdout
    assert "Verified: the cluster now matches the file." in result.stdout
    assert len([s for s in proxy.seen if s.startswith("PATCH")]) == 1
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]
    (record,) = [json.loads(line) for line in audit.read_text().splitlines()]
    assert record["result"] == "applied"
    assert "answer was lost or late" in record["notes"][0]


def test_a_refused_plan_file_is_in_the_audit_log(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    plan_file = make_reviewed(sandbox, tmp_path, f"  {roles[0]}: [{ALICE}]\n")
    plan_file.write_text(plan_file.read_text().replace(ALICE, "arn:aws:iam::1:user/evil"))
    log = tmp_path / "audit.jsonl"
    result = run(sandbox, "basic", "apply", "--plan", str(plan_file), "-y", "--audit-log", str(log))
    assert result.returncode == 3
    (record,) = (json.loads(line) for line in log.read_text().splitlines())
    assert record["result"] == "refused"
    assert "altered" in record["error"]
