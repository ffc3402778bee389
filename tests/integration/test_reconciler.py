"""validate / plan / apply against the real sandbox: basic auth on the node, SigV4 through the
gateway (as the master role, and as a role assumed through STS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from osaccess.cluster.clients import Overrides, connect
from osaccess.cluster.security import SecurityApi
from osaccess.file.loader import load
from osaccess.model import MappingFile
from osaccess.run.engine import Planned, execute, make_plan
from tests.integration.conftest import ROOT, STATE, Sandbox, admin
from tests.integration.helpers import (
    ALICE,
    ANALYTICS,
    MASTER,
    MODES,
    SSO,
    env_for,
    live,
    run,
    write,
)
from tests.integration.proxy import (
    Answer,
    FaultProxy,
    Forward,
    ForwardThenAnswer,
    Rule,
    no_handler,
)


@pytest.mark.parametrize("mode", MODES)
def test_create_update_shrink_delete(
    sandbox: Sandbox, roles: list[str], tmp_path: Path, mode: str
) -> None:
    a, b, _ = roles
    first = write(
        tmp_path,
        sandbox,
        mode,
        f"  {a}: [{ALICE}, {ANALYTICS}]\n  {b}:\n    users: [svc-reporting]\n",
    )
    plan_result = run(sandbox, mode, "plan", str(first), "--detailed-exitcode")
    assert plan_result.returncode == 2, plan_result.stderr
    assert f"+ {a}  (create)" in plan_result.stdout
    applied = run(sandbox, mode, "apply", str(first), "--yes")
    assert applied.returncode == 0, applied.stderr
    assert "Verified: the cluster now matches the file." in applied.stdout
    assert live(sandbox, a)["users"] == [ALICE]  # type: ignore[index]
    assert live(sandbox, a)["backend_roles"] == [ANALYTICS]  # type: ignore[index]
    assert run(sandbox, mode, "plan", str(first), "--detailed-exitcode").returncode == 0

    # update a (add SSO), shrink a (drop alice), delete b
    second = write(
        tmp_path, sandbox, mode, f"  {a}: [{ANALYTICS}, {SSO}]\n  {b}:\n    state: absent\n"
    )
    plan_text = run(sandbox, mode, "plan", str(second)).stdout
    assert f"- users             {ALICE}   <- REMOVED" in plan_text
    assert "DELETE the mapping" in plan_text
    assert "apply will refuse this plan" in plan_text
    refused = run(sandbox, mode, "apply", str(second), "-y")
    assert refused.returncode == 3  # deleting a whole mapping needs --force
    assert f"[mapping-deletion] the plan deletes the mapping of '{b}'" in refused.stderr
    assert live(sandbox, b) is not None
    assert run(sandbox, mode, "apply", str(second), "-y", "--force").returncode == 0
    assert sorted(live(sandbox, a)["backend_roles"]) == sorted([ANALYTICS, SSO])  # type: ignore[index]
    assert live(sandbox, a)["users"] == []  # type: ignore[index]
    assert live(sandbox, b) is None
    assert run(sandbox, mode, "plan", str(second), "--detailed-exitcode").returncode == 0


def test_shared_mode_keeps_principals_added_elsewhere(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    a = roles[0]
    assert admin(
        sandbox,
        "PUT",
        f"/_plugins/_security/api/rolesmapping/{a}",
        {"users": ["added-by-hand"], "backend_roles": [MASTER]},
    ).ok
    path = write(
        tmp_path,
        sandbox,
        "sigv4-master",
        f"  {a}:\n    ownership: shared\n    principals: [{ALICE}]\n",
    )
    planned = run(sandbox, "sigv4-master", "plan", str(path))
    assert "added-by-hand   (left alone" in planned.stdout
    assert "REMOVED" not in planned.stdout
    assert run(sandbox, "sigv4-master", "apply", str(path), "-y").returncode == 0
    assert sorted(live(sandbox, a)["users"]) == sorted([ALICE, "added-by-hand"])  # type: ignore[index]
    assert live(sandbox, a)["backend_roles"] == [MASTER]  # type: ignore[index]


def test_a_role_that_does_not_exist_is_reported_before_anything_is_sent(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path, sandbox, "basic", f"  {roles[0]}: [{ALICE}]\n  no_such_role_here: [{ALICE}]\n"
    )
    result = run(sandbox, "basic", "apply", str(path), "-y")
    assert result.returncode == 1
    assert "role 'no_such_role_here' does not exist on the cluster" in result.stderr
    assert live(sandbox, roles[0]) is None  # the valid role was not written either


def test_a_reserved_mapping_in_the_file_is_an_error(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write(tmp_path, sandbox, "basic", f"  kibana_server: [{ALICE}]\n")
    result = run(sandbox, "basic", "plan", str(path))
    assert result.returncode == 1
    assert "the mapping of 'kibana_server' is reserved on this cluster" in result.stderr
    assert live(sandbox, "kibana_server")["users"] == ["kibanaserver"]  # type: ignore[index]


def test_alice_gets_the_explained_403(sandbox: Sandbox, roles: list[str], tmp_path: Path) -> None:
    path = write(tmp_path, sandbox, "sigv4-master", f"  {roles[0]}: [{ALICE}]\n")
    env = env_for(sandbox, "sigv4-master") | {"AWS_PROFILE": "sandbox-alice"}
    result = run(sandbox, "sigv4-master", "plan", str(path), env=env)
    assert result.returncode == 1
    assert f"you are authenticated as {ALICE} with roles [" in result.stderr
    assert (
        "must be the master user or be mapped to both all_access and security_manager"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


@pytest.mark.serial
def test_an_iam_policy_without_patch_is_explained(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    # readonly-pipeline may read mappings once it holds the REST roles, but its IAM policy
    # lacks es:ESHttpPatch: the apply must say so, not "forbidden".
    for role_name in ("all_access", "security_manager"):
        admin(
            sandbox,
            "PATCH",
            "/_plugins/_security/api/rolesmapping",
            [
                {
                    "op": "add",
                    "path": f"/{role_name}/backend_roles/-",
                    "value": "arn:aws:iam::111111111111:role/readonly-pipeline",
                }
            ],
        )
    try:
        path = write(tmp_path, sandbox, "sigv4-master", f"  {roles[0]}: [{ALICE}]\n")
        env = env_for(sandbox, "sigv4-master") | {"AWS_PROFILE": "sandbox-readonly-pipeline"}
        result = run(sandbox, "sigv4-master", "apply", str(path), "-y", env=env)
        assert result.returncode == 1
        assert "AWS refused the request before OpenSearch saw it" in result.stderr
        assert "es:ESHttpPatch" in result.stderr
        assert live(sandbox, roles[0]) is None
    finally:
        from tests.integration.conftest import reset_mappings

        reset_mappings(sandbox)


def _file(sandbox: Sandbox, tmp_path: Path, mode: str, roles_yaml: str) -> MappingFile:
    result = load(str(write(tmp_path, sandbox, mode, roles_yaml)))
    assert result.file is not None, result.problems
    return result.file


@pytest.mark.serial
def test_requests_are_constant_in_the_number_of_roles(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    file = _file(sandbox, tmp_path, "basic", "".join(f"  {name}: [{ALICE}]\n" for name in roles))
    api = connect(file.cluster, Overrides(password=sandbox.password))
    planned = make_plan(api, file)
    # mappings, roles, action groups, tenants, internal users, audit, who the caller is
    assert api.requests == 7
    result = execute(api, file, planned)
    assert result.verified
    # + re-read before writing, one PATCH, and a verification read of every type
    assert api.requests == 15
    assert {c.name for c in result.plan.changes} == set(roles)


@contextmanager
def planned_through(
    sandbox: Sandbox, tmp_path: Path, role_name: str, rule: Rule
) -> Iterator[tuple[SecurityApi, MappingFile, Planned, FaultProxy]]:
    """Plan `role_name: [alice]` with basic auth through a fault proxy; yields what apply needs."""
    file = _file(sandbox, tmp_path, "basic", f"  {role_name}: [{ALICE}]\n")
    with FaultProxy(sandbox.node_url, sandbox.ca_certs, rule) as proxy:
        api = connect(file.cluster, Overrides(endpoint=proxy.url, password=sandbox.password))
        try:
            planned = make_plan(api, file)
            yield api, file, planned, proxy
        finally:
            api.transport.close()


def test_the_legacy_opendistro_prefix_is_found_and_used(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    """Behind a proxy that answers like an OpenDistro domain: no _plugins routes at all."""

    def legacy(method: str, path: str) -> Forward | Answer:
        return no_handler(method, path) if path.startswith("/_plugins/") else Forward()

    with planned_through(sandbox, tmp_path, roles[0], legacy) as (api, file, planned, proxy):
        assert planned.live.prefix == "_opendistro/_security"
        execute(api, file, planned)
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]
    assert "PATCH /_opendistro/_security/api/rolesmapping" in proxy.seen


@pytest.mark.serial
def test_a_conflict_is_retried_after_re_reading_and_re_planning(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    patches = []

    def conflict_once(method: str, path: str) -> Forward | Answer:
        if method == "PATCH":
            patches.append(path)
            if len(patches) == 1:
                return Answer(
                    409,
                    {
                        "status": "CONFLICT",
                        "message": "[rolesmapping]: version "
                        "conflict, required seqNo [7], primary term [1]. current "
                        "document has seqNo [8] and primary term [1]",
                    },
                )
        return Forward()

    with planned_through(sandbox, tmp_path, roles[0], conflict_once) as (api, file, planned, _):
        result = execute(api, file, planned, sleep=False)
    assert result.attempts == 2
    assert len(patches) == 2
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]


def test_a_500_after_a_committed_write_is_recognised_by_re_reading(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    def fail_after_write(method: str, path: str) -> Forward | ForwardThenAnswer:
        if method == "PATCH":
            return ForwardThenAnswer(
                500, {"status": "INTERNAL_SERVER_ERROR", "message": "Error reloading configuration"}
            )
        return Forward()

    with planned_through(sandbox, tmp_path, roles[0], fail_after_write) as (
        api,
        file,
        planned,
        proxy,
    ):
        result = execute(api, file, planned)
    assert proxy.late[-1:] == [200], proxy.late  # the write did land before the fake 500
    assert result.verified
    assert "reported an error after writing" in result.message
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]


def test_a_500_without_a_write_says_nothing_was_changed(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    from osaccess.errors import ServerError

    def refuse(method: str, path: str) -> Forward | Answer:
        if method == "PATCH":
            return Answer(500, {"status": "INTERNAL_SERVER_ERROR", "message": "Error disk full"})
        return Forward()

    with (
        planned_through(sandbox, tmp_path, roles[0], refuse) as (api, file, planned, _),
        pytest.raises(ServerError, match="nothing was changed"),
    ):
        execute(api, file, planned)
    assert live(sandbox, roles[0]) is None


def test_an_html_answer_gets_its_own_message(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    from osaccess.errors import UnexpectedResponse

    file = _file(sandbox, tmp_path, "basic", f"  {roles[0]}: [{ALICE}]\n")
    with FaultProxy(
        sandbox.node_url,
        sandbox.ca_certs,
        lambda m, p: Answer(403, "<html>login</html>", "text/html"),
    ) as proxy:
        api = connect(file.cluster, Overrides(endpoint=proxy.url, password=sandbox.password))
        with pytest.raises(UnexpectedResponse, match="HTML page"):
            make_plan(api, file)
        api.transport.close()


def test_apply_refuses_when_a_mapping_changed_after_the_plan(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    from osaccess.errors import Refused

    a = roles[0]
    assert admin(
        sandbox, "PUT", f"/_plugins/_security/api/rolesmapping/{a}", {"users": ["before"]}
    ).ok
    file = _file(sandbox, tmp_path, "basic", f"  {a}: [{ALICE}]\n")
    api = connect(file.cluster, Overrides(password=sandbox.password))
    planned = make_plan(api, file)
    assert admin(
        sandbox,
        "PUT",
        f"/_plugins/_security/api/rolesmapping/{a}",
        {"users": ["before", "sneaked-in"]},
    ).ok
    with pytest.raises(Refused, match="gained sneaked-in"):
        execute(api, file, planned)
    assert sorted(live(sandbox, a)["users"]) == ["before", "sneaked-in"]  # type: ignore[index]


def test_plan_output_formats_against_the_cluster(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    path = write(tmp_path, sandbox, "basic", f"  {roles[0]}: [{ALICE}]\n")
    out = tmp_path / "plan.json"
    markdown = run(sandbox, "basic", "plan", str(path), "--format", "markdown", "--out", str(out))
    assert markdown.returncode == 0
    assert f"| ➕ add | `{roles[0]}` | users | `{ALICE}` |" in markdown.stdout
    data = json.loads(out.read_text())
    assert data["plans"][0]["changes"][0]["added"] == {"users": [ALICE]}
    # one run for both: other tests change the shared cluster between two plans
    again = tmp_path / "again.json"
    as_json = json.loads(
        run(sandbox, "basic", "plan", str(path), "-f", "json", "--out", str(again)).stdout
    )
    assert as_json == json.loads(again.read_text())
    assert as_json["plans"][0]["changes"] == data["plans"][0]["changes"]


def test_tls_is_verified(sandbox: Sandbox, roles: list[str], tmp_path: Path) -> None:
    path = write(tmp_path, sandbox, "basic", f"  {roles[0]}: [{ALICE}]\n")
    path.write_text(path.read_text().replace(f"  ca_certs: {sandbox.ca_certs}\n", ""))
    env = env_for(sandbox, "basic")
    result = run(sandbox, "basic", "plan", str(path), env=env)
    assert result.returncode == 1
    assert "TLS verification failed" in result.stderr


@pytest.mark.serial
def test_client_certificates_authenticate(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    from tests.integration.conftest import reset_mappings

    certs = ROOT / "sandbox" / "certs"
    for role_name in ("all_access", "security_manager"):
        admin(
            sandbox,
            "PATCH",
            "/_plugins/_security/api/rolesmapping",
            [{"op": "add", "path": f"/{role_name}/users/-", "value": "sandbox-operator"}],
        )
    try:
        path = tmp_path / "cert.yaml"
        path.write_text(
            f"cluster:\n  endpoint: {sandbox.node_url}\n  auth: cert\n"
            f"  ca_certs: {sandbox.ca_certs}\n  client_cert: {certs / 'operator.pem'}\n"
            f"  client_key: {certs / 'operator-key.pem'}\nroles:\n  {roles[0]}: [{ALICE}]\n"
        )
        result = run(sandbox, "basic", "apply", str(path), "-y")
        assert result.returncode == 0, result.stderr
        assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]
    finally:
        reset_mappings(sandbox)


def test_connection_failures_get_their_own_message(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    path = write(tmp_path, sandbox, "basic", f"  {roles[0]}: [{ALICE}]\n")
    result = run(sandbox, "basic", "plan", str(path), "--endpoint", "https://127.0.0.1:1")
    assert result.returncode == 1
    assert "cannot connect" in result.stderr
    assert "GET /_plugins/_security/api/rolesmapping at https://127.0.0.1:1" in result.stderr


def test_a_signature_for_the_wrong_region_is_explained(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    path = write(tmp_path, sandbox, "sigv4-master", f"  {roles[0]}: [{ALICE}]\n")
    path.write_text(path.read_text().replace("region: eu-west-1", "region: us-east-1"))
    result = run(sandbox, "sigv4-master", "plan", str(path))
    assert result.returncode == 1
    assert "AWS did not accept the request signature" in result.stderr
    assert "check the region" in result.stderr


@pytest.mark.serial
def test_assume_role_costs_one_sts_call_per_run(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    log = STATE / "gateway.log"

    def sts_calls() -> int:
        return log.read_text(errors="replace").count('"POST / HTTP/1.1"')

    path = write(tmp_path, sandbox, "sigv4-assumed", f"  {roles[0]}: [{ALICE}]\n")
    # the local AWS endpoint serves IAM too: send the plan's IAM lookups elsewhere (they become
    # "not checked"), so that every request the endpoint sees is an STS call
    env = env_for(sandbox, "sigv4-assumed") | {"AWS_ENDPOINT_URL_IAM": "http://127.0.0.1:1"}
    before = sts_calls()
    result = run(sandbox, "sigv4-assumed", "apply", str(path), "-y", env=env)
    assert result.returncode == 0, result.stderr
    assert sts_calls() - before == 1  # the signer and the IAM lookups share one AssumeRole


@pytest.mark.parametrize("mode", ["basic", "sigv4-master", "sigv4-assumed"])
def test_debug_output_never_shows_secrets(
    sandbox: Sandbox, roles: list[str], tmp_path: Path, mode: str
) -> None:
    path = write(tmp_path, sandbox, mode, f"  {roles[0]}: [{ALICE}]\n")
    result = run(sandbox, mode, "apply", str(path), "-y", "--debug")
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "PATCH" in output  # --debug did log the requests
    secrets = [sandbox.password] + [p.secret_access_key for p in sandbox.principals.principals]
    for secret in secrets:
        assert secret not in output
    for marker in ("Signature=", "Authorization", "X-Amz-Security-Token", "Basic "):
        assert marker.lower() not in output.lower()


@pytest.mark.parametrize(("answer", "applied"), [("n", False), ("y", True)])
def test_apply_on_a_terminal_asks_first(
    sandbox: Sandbox, roles: list[str], tmp_path: Path, answer: str, applied: bool
) -> None:
    import pty

    path = write(tmp_path, sandbox, "basic", f"  {roles[0]}: [{ALICE}]\n")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "osaccess", "apply", str(path)],
        cwd=ROOT,
        env=env_for(sandbox, "basic"),
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(terminal)
    os.write(controller, f"{answer}\n".encode())
    stdout, stderr = process.communicate(timeout=120)
    os.close(controller)
    assert "Apply these changes to" in stdout + stderr
    assert (process.returncode == 0) is applied, stderr
    assert (live(sandbox, roles[0]) is not None) is applied
    if not applied:
        assert "Not applied." in stderr


@pytest.mark.opensearch(until="2.16", reason="before 2.16 a PATCH that changes nothing is written")
def test_an_idle_patch_is_a_write_on_old_versions(sandbox: Sandbox, roles: list[str]) -> None:
    remove_missing = [{"op": "remove", "path": f"/{roles[0]}"}]
    answer = admin(sandbox, "PATCH", "/_plugins/_security/api/rolesmapping", remove_missing)
    assert answer.status_code == 200
    assert answer.json()["message"] == "Resource updated."  # compat: no-op-patch-written


@pytest.mark.opensearch(
    since="2.16", reason="from 2.16 a PATCH that changes nothing is not written"
)
def test_an_idle_patch_is_no_write_on_new_versions(sandbox: Sandbox, roles: list[str]) -> None:
    remove_missing = [{"op": "remove", "path": f"/{roles[0]}"}]
    answer = admin(sandbox, "PATCH", "/_plugins/_security/api/rolesmapping", remove_missing)
    assert answer.status_code == 200
    assert answer.json()["message"] == "No updates required"
