"""import, explain, whoami, doctor and many clusters at once, against the sandbox."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sandbox.identities import Identity, identify, sandbox_profiles
from tests.integration.conftest import ROOT, Sandbox, admin, reset_mappings
from tests.integration.helpers import ALICE, ANALYTICS, MASTER, SSO, env_for, live, run, write

MAPPINGS = "/_plugins/_security/api/rolesmapping"


@pytest.fixture()
def shipped(sandbox: Sandbox, tmp_path: Path) -> Path:
    """The repository's mappings/ as they are, pointed at this sandbox's gateway (its port may
    not be the default one)."""
    folder = tmp_path / "mappings"
    folder.mkdir()
    for source in (ROOT / "mappings").glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        text = text.replace("https://127.0.0.1:9201", sandbox.gateway_url)
        text = text.replace("../sandbox/certs/ca.pem", sandbox.ca_certs)
        (folder / source.name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture()
def assorted(sandbox: Sandbox, roles: list[str]) -> list[str]:
    """Mappings added by hand, of every kind of value."""
    a, b, c = roles
    admin(
        sandbox,
        "PUT",
        f"{MAPPINGS}/{a}",
        {
            "users": [ALICE, "kibanaro", "/svc-.*/"],
            "backend_roles": [SSO, "ldap-ops"],
            "hosts": ["10.0.0.*"],
            "description": "assorted: ARNs, names, regex, hosts",
        },
    )
    admin(
        sandbox,
        "PUT",
        f"{MAPPINGS}/{b}",
        {"and_backend_roles": ["team-a", "on-call"], "users": ["yes", "123"]},
    )
    # a mistake made by hand: an IAM user ARN as a backend role (it never matches)
    admin(
        sandbox,
        "PUT",
        f"{MAPPINGS}/{c}",
        {"backend_roles": ["arn:aws:iam::111111111111:user/misplaced", ANALYTICS]},
    )
    return roles


@pytest.mark.serial
def test_import_then_plan_shows_no_changes(
    sandbox: Sandbox, assorted: list[str], tmp_path: Path
) -> None:
    cluster_file = write(tmp_path, sandbox, "sigv4-master", f"  {assorted[0]}: [{ALICE}]\n")
    out = tmp_path / "imported.yaml"
    result = run(sandbox, "sigv4-master", "import", "-c", str(cluster_file), "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "# Left out of roles, built in or reserved: kibana_server" in text
    assert "\n  kibana_server:" not in text
    # the Identity Center role is written by its permission set
    assert f"  {assorted[0]}:\n    principals:\n      - {ALICE}\n      - sso: Admin\n" in text
    assert "    ownership: shared   # keeps the values left out above" in text
    assert (
        "  # left on the cluster, not in this file: backend_roles: "
        "'arn:aws:iam::111111111111:user/misplaced' (an IAM user ARN as a backend role "
        "never matches)"
    ) in text
    validated = run(sandbox, "sigv4-master", "validate", str(out))
    assert validated.returncode == 0, validated.stderr
    plan = run(sandbox, "sigv4-master", "plan", str(out), "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout[-2000:] + plan.stderr
    assert "No changes: the cluster matches the file." in plan.stdout


@pytest.mark.serial
def test_explain_agrees_with_the_node_for_every_sandbox_principal(
    aws_env: Sandbox, roles: list[str], tmp_path: Path, shipped: Path
) -> None:
    sandbox = aws_env
    a, b, c = roles
    admin(
        sandbox, "PUT", f"{MAPPINGS}/{a}", {"backend_roles": ["arn:aws:iam::222222222222:role/*"]}
    )
    admin(sandbox, "PUT", f"{MAPPINGS}/{b}", {"users": ["/arn:aws:iam::111111111111:user/al.*/"]})
    admin(sandbox, "PUT", f"{MAPPINGS}/{c}", {"backend_roles": [SSO, "unrelated"]})
    try:
        applied = run(sandbox, "sigv4-master", "apply", str(shipped), "-y")
        assert applied.returncode == 0, applied.stderr
        cluster_file = shipped / "sandbox.yaml"

        def ask_both(profile: str, arn: str) -> tuple[Identity, subprocess.CompletedProcess[str]]:
            node = identify(sandbox.gateway_url, sandbox.ca_certs, profile, arn)
            explained = run(
                sandbox, "sigv4-master", "explain", arn, "-c", str(cluster_file), "-f", "json"
            )
            return node, explained

        # the cluster does not change while they are asked: ask for every principal at once
        profiles = sandbox_profiles(sandbox.principals)
        assert profiles
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda p: ask_both(*p), profiles))
        for (profile, _), (node, result) in zip(profiles, answers, strict=True):
            assert result.returncode == 0, result.stderr
            explained = json.loads(result.stdout)
            assert explained["roles"] == sorted(node.roles), profile
            assert explained["seen_as"]["user_name"] == node.user_name
            assert explained["seen_as"]["backend_roles"] == sorted(node.backend_roles)
        alice = json.loads(
            run(
                sandbox, "sigv4-master", "explain", ALICE, "-c", str(cluster_file), "-f", "json"
            ).stdout
        )
        assert {
            "field": "users",
            "pattern": "/arn:aws:iam::111111111111:user/al.*/",
            "matched": ALICE,
        } in alice["matches"][b]
        (logs,) = [g for g in alice["permissions"]["index"] if g["patterns"] == ["logs-*"]]
        assert "indices:data/read*" in logs["actions"]
        assert logs["granted_by"] == ["logs_reader via read"]
    finally:
        reset_mappings(sandbox)


def test_explain_a_role_and_offline(sandbox: Sandbox, tmp_path: Path, shipped: Path) -> None:
    cluster_file = shipped / "sandbox.yaml"
    held = run(sandbox, "sigv4-master", "explain", "--role", "all_access", "-c", str(cluster_file))
    assert held.returncode == 0, held.stderr
    assert f"backend_roles     {MASTER}   (IAM role)" in held.stdout
    assert "users             admin   (name)" in held.stdout
    offline = run(
        sandbox,
        "sigv4-master",
        "explain",
        "arn:aws:sts::222222222222:assumed-role/analytics/laptop",
        "--from",
        str(cluster_file),
    )
    assert offline.returncode == 0, offline.stderr
    assert "is an STS session; OpenSearch sees the role behind it" in offline.stdout
    assert "Roles: logs_reader, readall" in offline.stdout


def test_whoami_says_who_and_whether_mappings_can_change(sandbox: Sandbox, shipped: Path) -> None:
    cluster_file = str(shipped / "sandbox.yaml")
    master = run(sandbox, "sigv4-master", "whoami", "-c", cluster_file)
    assert master.returncode == 0, master.stderr
    assert f"user name      {MASTER}" in master.stdout
    assert "role mappings  can read and change them" in master.stdout
    env = env_for(sandbox, "sigv4-master") | {"AWS_PROFILE": "sandbox-alice"}
    alice = run(sandbox, "sigv4-master", "whoami", "-c", cluster_file, env=env)
    assert alice.returncode == 1
    assert f"user name      {ALICE}" in alice.stdout
    assert (
        "must be the master user or be mapped to both all_access and security_manager"
        in alice.stdout
    )


@pytest.mark.serial
def test_doctor_checks_in_order_and_gives_advice(
    sandbox: Sandbox, tmp_path: Path, shipped: Path
) -> None:
    healthy = run(sandbox, "sigv4-master", "doctor", str(shipped))
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    names = [
        line.split("] ")[1].split(":")[0]
        for line in healthy.stdout.splitlines()
        if line.strip().startswith("[")
    ]
    assert names == [
        "reachable",
        "TLS",
        "authentication",
        "version",
        "read role mappings",
        "write role mappings",
        "write internal users",  # every kind the file names is probed
        "roles of the file",
        "IAM principals",
        "domain access policy",
    ]
    # the shipped file's `sso: Admin` counts as its role (resolved through IAM)
    assert (
        "domain access policy: 4 of 5 mapped IAM principal(s) allowed by the policy of domain "
        "sandbox" in healthy.stdout
    )
    env = env_for(sandbox, "sigv4-master") | {"AWS_PROFILE": "sandbox-alice"}
    alice = run(sandbox, "sigv4-master", "doctor", str(shipped), env=env)
    assert alice.returncode == 1
    assert "[FAIL] read role mappings" in alice.stdout
    assert "advice: to change role mappings" in alice.stdout
    path = write(tmp_path, sandbox, "basic", "  no_such_role: [x]\n".replace("[x]", f"[{ALICE}]"))
    missing = run(sandbox, "basic", "doctor", str(path))
    assert "[FAIL] roles of the file: missing on the cluster: no_such_role" in missing.stdout
    dead = run(sandbox, "basic", "doctor", str(path), "--endpoint", "https://127.0.0.1:1")
    assert dead.returncode == 1
    assert "[FAIL] reachable" in dead.stdout


def test_many_clusters_one_failing_does_not_stop_the_others(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    directory = tmp_path / "fleet"
    directory.mkdir()
    for index, role in enumerate(roles[:2]):
        (directory / f"c{index}.yaml").write_text(
            write(tmp_path, sandbox, "basic", f"  {role}: [{ALICE}]\n").read_text()
        )
    (directory / "c9-dead.yaml").write_text(
        f"cluster:\n  endpoint: https://127.0.0.1:1\n  auth: basic\n  username: admin\n"
        f"roles:\n  {roles[2]}: [{ALICE}]\n"
    )
    planned = run(sandbox, "basic", "plan", str(directory), "--parallel", "3")
    assert planned.returncode == 1
    assert "Summary: 3 file(s): 2 with changes, 0 up to date, 1 failed." in planned.stderr
    applied = run(sandbox, "basic", "apply", str(directory), "-y", "--parallel", "3")
    assert applied.returncode == 1  # the worst outcome: the dead cluster
    assert f"error: {directory / 'c9-dead.yaml'}: cannot connect" in applied.stderr
    assert live(sandbox, roles[0])["users"] == [ALICE]  # type: ignore[index]
    assert live(sandbox, roles[1])["users"] == [ALICE]  # type: ignore[index]


@pytest.mark.serial
def test_import_of_values_yaml_would_retype_plans_nothing(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    tricky = ["2024-01-01", "12:30", "0x1F", "0o17", "017", "1e3", "yes", "null", "1_000"]
    admin(
        sandbox,
        "PUT",
        f"{MAPPINGS}/{roles[0]}",
        {"users": tricky, "backend_roles": ["on", "~"], "description": "2024-01-01"},
    )
    cluster_file = write(tmp_path, sandbox, "sigv4-master", f"  {roles[0]}: [{ALICE}]\n")
    out = tmp_path / "imported.yaml"
    result = run(sandbox, "sigv4-master", "import", "-c", str(cluster_file), "--out", str(out))
    assert result.returncode == 0, result.stderr
    plan = run(sandbox, "sigv4-master", "plan", str(out), "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout[-2000:] + plan.stderr
    assert "No changes: the cluster matches the file." in plan.stdout


def test_doctor_names_the_version_and_its_known_differences(
    sandbox: Sandbox, shipped: Path
) -> None:
    from osaccess.cluster.compat import applicable
    from tests.integration.conftest import running_version

    version = ".".join(map(str, running_version()))
    result = run(sandbox, "sigv4-master", "doctor", str(shipped))
    assert f"version: opensearch {version} (" in result.stdout, result.stdout
    known = [line.strip() for line in result.stdout.splitlines() if "known:" in line]
    expected = [f"known: {d.behaviour}; {d.handling}" for d in applicable(version)]
    assert known == expected
