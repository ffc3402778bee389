"""Internal users against the real node: created from each password source and logged in with,
rotated through a new secret version, left alone when nothing changed, refused where they must
be, imported into an empty plan, and seen in every access answer as the node sees them. No
secret appears in anything osaccess writes, --debug included."""

from __future__ import annotations

import fcntl
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml

from tests.integration.conftest import ROOT, STATE, Sandbox, admin
from tests.integration.helpers import cluster_block, env_for, run

USERS = "/_plugins/_security/api/internalusers"


@pytest.fixture()
def names(sandbox: Sandbox) -> Iterator[list[str]]:
    """Fresh internal user names (the users are deleted afterwards). The tests that write
    internal users take turns: a write that sends passwords takes the node long (it hashes
    them), and two such writes at once were seen to lose the race (409) four times in a row."""
    found = [f"iu-{uuid.uuid4().hex[:8]}-{i}" for i in range(4)]
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "internal-users.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield found
        for name in found:
            admin(sandbox, "DELETE", f"{USERS}/{name}")


def password() -> str:
    return f"Pw-{uuid.uuid4().hex[:12]}-Xq9!"


def aws(sandbox: Sandbox, service: str) -> Any:
    owner = sandbox.principals.by_name("master")
    return boto3.client(
        service,
        endpoint_url=sandbox.sts_url,
        region_name=sandbox.principals.region,
        aws_access_key_id=owner.access_key_id,
        aws_secret_access_key=owner.secret_access_key,
    )


def file_of(tmp_path: Path, sandbox: Sandbox, users: str, mode: str = "basic") -> Path:
    path = tmp_path / f"{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(cluster_block(sandbox, mode) + "internal_users:\n" + users, encoding="utf-8")
    return path


def logs_in(sandbox: Sandbox, user: str, secret: str) -> dict[str, Any] | None:
    response = requests.get(
        f"{sandbox.node_url}/_plugins/_security/authinfo",
        auth=(user, secret),
        verify=sandbox.ca_certs,
        timeout=30,
    )
    return response.json() if response.status_code == 200 else None


def test_created_from_each_source_and_logged_in_with_it(
    sandbox: Sandbox, names: list[str], tmp_path: Path
) -> None:
    from_env, from_file, from_secret, from_ssm = names
    secrets = {name: password() for name in names}
    (tmp_path / "pw.txt").write_text(secrets[from_file] + "\n")
    secret_id = f"osaccess-test/{from_secret}"
    aws(sandbox, "secretsmanager").create_secret(
        Name=secret_id, SecretString=json.dumps({"password": secrets[from_secret]})
    )
    parameter = f"/osaccess-test/{from_ssm}"
    aws(sandbox, "ssm").put_parameter(Name=parameter, Value=secrets[from_ssm], Type="SecureString")
    path = file_of(
        tmp_path,
        sandbox,
        f"  {from_env}:\n    backend_roles: [shippers]\n    attributes: {{team: blue}}\n"
        "    password: {env: TEST_USER_PASSWORD}\n"
        f"  {from_file}:\n    password: {{file: pw.txt}}\n"
        f"  {from_secret}:\n    password: {{secretsmanager: {secret_id}, key: password}}\n"
        f"  {from_ssm}:\n    password: {{ssm: {parameter}}}\n",
    )
    env = env_for(sandbox, "basic") | {"TEST_USER_PASSWORD": secrets[from_env]}
    result = run(sandbox, "basic", "apply", "-y", str(path), env=env)
    assert result.returncode == 0, result.stderr
    for name in names:
        who = logs_in(sandbox, name, secrets[name])
        assert who is not None, name
        assert who["user_name"] == name
    assert logs_in(sandbox, from_env, secrets[from_env])["backend_roles"] == ["shippers"]  # type: ignore[index]
    # a pre-computed bcrypt hash: the sandbox admin's, so the admin's password logs in
    hashed = f"{from_env}-h"
    admin_hash = (ROOT / "sandbox/opensearch-security/internal_users.yml").read_text()
    (hash_value,) = [line.split('"')[1] for line in admin_hash.splitlines() if "hash:" in line][:1]
    with_hash = file_of(tmp_path, sandbox, f"  {hashed}:\n    hash: {{env: TEST_USER_HASH}}\n")
    try:
        made = run(
            sandbox,
            "basic",
            "apply",
            "-y",
            str(with_hash),
            env=env | {"TEST_USER_HASH": hash_value},
        )
        assert made.returncode == 0, made.stderr
        assert logs_in(sandbox, hashed, sandbox.password) is not None
        assert hash_value not in made.stdout + made.stderr
    finally:
        admin(sandbox, "DELETE", f"{USERS}/{hashed}")
    # nothing changed: nothing is sent again
    again = run(sandbox, "basic", "plan", "--detailed-exitcode", str(path), env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout
    # doctor, asked to, logs in as each user with its source's password
    doctor = run(sandbox, "basic", "doctor", "--check-passwords", str(path), env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert doctor.stdout.count("logs in (roles:") == 4
    wrong = env | {"TEST_USER_PASSWORD": password()}
    doctor = run(sandbox, "basic", "doctor", "--check-passwords", str(path), env=wrong)
    assert doctor.returncode == 1
    assert (
        f"the password from env TEST_USER_PASSWORD does not log in as {from_env}" in doctor.stdout
    )
    assert wrong["TEST_USER_PASSWORD"] not in doctor.stdout + doctor.stderr


def test_a_new_secret_version_rotates_the_password(
    sandbox: Sandbox, names: list[str], tmp_path: Path
) -> None:
    name = names[0]
    old, new = password(), password()
    secret_id = f"osaccess-test/{name}"
    manager = aws(sandbox, "secretsmanager")
    manager.create_secret(Name=secret_id, SecretString=old)
    path = file_of(tmp_path, sandbox, f"  {name}:\n    password: {{secretsmanager: {secret_id}}}\n")
    assert run(sandbox, "basic", "apply", "-y", str(path)).returncode == 0
    assert logs_in(sandbox, name, old) is not None
    manager.put_secret_value(SecretId=secret_id, SecretString=new)
    planned = run(sandbox, "basic", "plan", str(path))
    assert "password.sent" in planned.stdout
    assert "its source or the source's version changed" in planned.stdout
    result = run(sandbox, "basic", "apply", "-y", str(path))
    assert result.returncode == 0, result.stderr
    assert logs_in(sandbox, name, old) is None
    assert logs_in(sandbox, name, new) is not None
    assert "No changes" in run(sandbox, "basic", "plan", str(path)).stdout


def test_an_update_without_a_password_source_keeps_the_password(
    sandbox: Sandbox, names: list[str], tmp_path: Path
) -> None:
    name, secret = names[0], password()
    body = {"password": secret, "backend_roles": ["old"], "attributes": {"team": "red"}}
    assert admin(sandbox, "PUT", f"{USERS}/{name}", body).ok
    path = file_of(
        tmp_path,
        sandbox,
        f"  {name}:\n    backend_roles: [new]\n    roles: [readall]\n"
        "    attributes: {team: blue}\n    description: changed\n",
    )
    result = run(sandbox, "basic", "apply", "-y", str(path))
    assert result.returncode == 0, result.stderr
    who = logs_in(sandbox, name, secret)
    assert who is not None, "the update took the user's password away"
    assert who["backend_roles"] == ["new"] and "readall" in who["roles"]
    assert "No changes" in run(sandbox, "basic", "plan", str(path)).stdout


def test_refusals(sandbox: Sandbox, names: list[str], tmp_path: Path) -> None:
    # a new user without a password source: refused at plan time, nothing sent
    path = file_of(tmp_path, sandbox, f"  {names[0]}:\n    backend_roles: [b]\n")
    result = run(sandbox, "basic", "apply", "-y", str(path))
    assert result.returncode != 0
    assert f"the internal user {names[0]!r} does not exist on this cluster" in result.stderr
    assert admin(sandbox, "GET", f"{USERS}/{names[0]}").status_code == 404
    # a source that cannot be read: named, before anything is sent
    path = file_of(tmp_path, sandbox, f"  {names[1]}:\n    password: {{env: NOT_SET_ANYWHERE}}\n")
    result = run(sandbox, "basic", "apply", "-y", str(path))
    assert result.returncode != 0
    assert "the environment variable NOT_SET_ANYWHERE is not set" in result.stderr
    assert admin(sandbox, "GET", f"{USERS}/{names[1]}").status_code == 404
    # the caller's own user: its password is not changed without --force
    own = file_of(tmp_path, sandbox, f"  {sandbox.username}:\n    password: {{env: NEW_ADMIN}}\n")
    env = env_for(sandbox, "basic") | {"NEW_ADMIN": password()}
    result = run(sandbox, "basic", "apply", "-y", str(own), env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "changes the password of your own internal user" in result.stdout + result.stderr
    assert logs_in(sandbox, sandbox.username, sandbox.password) is not None
    # a user the cluster reserves: refused at plan time, with the fix
    reserved = file_of(tmp_path, sandbox, "  kibanaserver:\n    backend_roles: [b]\n")
    result = run(sandbox, "basic", "plan", str(reserved))
    assert result.returncode != 0
    assert "the internal user 'kibanaserver' is reserved on this cluster" in result.stderr
    assert "remove it from the file" in result.stderr
    # deleting a user needs --force
    assert admin(sandbox, "PUT", f"{USERS}/{names[2]}", {"password": password()}).ok
    gone = file_of(tmp_path, sandbox, f"  {names[2]}: {{state: absent}}\n")
    assert run(sandbox, "basic", "apply", "-y", str(gone)).returncode == 3
    assert admin(sandbox, "GET", f"{USERS}/{names[2]}").status_code == 200
    assert run(sandbox, "basic", "apply", "-y", "--force", str(gone)).returncode == 0
    assert admin(sandbox, "GET", f"{USERS}/{names[2]}").status_code == 404


def test_import_then_an_empty_plan(sandbox: Sandbox, names: list[str], tmp_path: Path) -> None:
    name = names[0]
    body = {
        "password": password(),
        "backend_roles": ["ldap-ops"],
        "attributes": {"team": "red"},
        "opendistro_security_roles": ["readall"],
        "description": "imported",
    }
    assert admin(sandbox, "PUT", f"{USERS}/{name}", body).ok
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(cluster_block(sandbox, "basic") + "internal_users: {}\n")
    result = run(sandbox, "basic", "import", "-c", str(cluster), "--include", "internal-users")
    assert result.returncode == 0, result.stderr
    imported = yaml.safe_load(result.stdout)
    # other tests' users come and go on the shared node: keep ours
    mine = {name: imported["internal_users"][name]}
    assert mine[name] == {
        "backend_roles": ["ldap-ops"],
        "roles": ["readall"],
        "attributes": {"team": "red"},
        "description": "imported",
    }
    path = tmp_path / "imported.yaml"
    path.write_text(cluster_block(sandbox, "basic") + yaml.safe_dump({"internal_users": mine}))
    planned = run(sandbox, "basic", "plan", "--detailed-exitcode", str(path))
    assert planned.returncode == 0, planned.stdout + planned.stderr


def test_a_super_user_by_direct_role_is_in_every_answer(
    sandbox: Sandbox, names: list[str], tmp_path: Path
) -> None:
    name = names[0]
    secret = password()
    body = {
        "password": secret,
        "backend_roles": ["ldap-analysts"],
        "opendistro_security_roles": ["all_access"],
    }
    assert admin(sandbox, "PUT", f"{USERS}/{name}", body).ok
    node = logs_in(sandbox, name, secret)
    assert node is not None
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(cluster_block(sandbox, "basic") + "internal_users: {}\n")
    explained = json.loads(
        run(sandbox, "basic", "explain", name, "-c", str(cluster), "-f", "json").stdout
    )
    assert explained["seen_as"]["backend_roles"] == node["backend_roles"]
    assert explained["seen_as"]["internal_user"] is True
    # the node's roles for this user are the roles osaccess says it holds
    assert sorted(explained["roles"]) == sorted(node["roles"])
    assert "all_access" in explained["roles"]
    holders = run(sandbox, "basic", "explain", "--role", "all_access", "-c", str(cluster))
    assert f"{name}   (directly)" in holders.stdout
    review = json.loads(
        run(sandbox, "basic", "access-review", "-c", str(cluster), "--format", "json").stdout
    )
    (entry,) = [p for p in review["principals"] if p["principal"] == name]
    assert "all_access" in entry["roles"]


def test_no_secret_in_anything_osaccess_writes(
    sandbox: Sandbox, names: list[str], tmp_path: Path
) -> None:
    name = names[0]
    secret = password()
    path = file_of(
        tmp_path,
        sandbox,
        f"  {name}:\n    roles: [readall]\n    password: {{env: LEAK_CANARY}}\n"
        "    password_version: '1'\n",
    )
    env = env_for(sandbox, "basic") | {"LEAK_CANARY": secret}
    plan_file, audit = tmp_path / "plan.json", tmp_path / "audit.jsonl"
    seen = []
    for args in (
        ["plan", "--debug", str(path), "--out", str(plan_file)],
        ["plan", "--debug", str(path), "-f", "json"],
        ["plan", "--debug", str(path), "-f", "markdown"],
        ["apply", "--debug", "-y", "--plan", str(plan_file), "--audit-log", str(audit)],
        ["plan", "--debug", "--rotate-passwords", str(path), "--out", str(plan_file)],
        ["apply", "--debug", "-y", "--rotate-passwords", str(path), "--audit-log", str(audit)],
        ["doctor", "--debug", "--check-passwords", str(path)],
        ["explain", "--debug", name, "-c", str(path), "-f", "json"],
    ):
        result = run(sandbox, "basic", *args, env=env)
        seen.append(result.stdout + result.stderr)
    assert logs_in(sandbox, name, secret) is not None  # it was sent, so the canary was read
    written = "\n".join(seen) + plan_file.read_text() + audit.read_text()
    assert "LEAK_CANARY" in written  # the source is named ...
    assert secret not in written  # ... its value never
