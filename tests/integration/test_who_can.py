"""who-can, can-i --plan and the file's access tests against the real cluster: `osaccess test`
reads the cluster and applies the plan in memory; plan shows a failing test; apply refuses it
with exit 3 and writes nothing; once the file is fixed, apply goes through and who-can finds
the principal live. That each answer is the node's is tests/integration/test_agreement.py."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.integration.conftest import Sandbox, admin
from tests.integration.helpers import cluster_block, run

ROLES = "/_plugins/_security/api/roles"


def test_access_tests_refuse_the_apply_until_the_file_is_fixed(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    role, lambda_ = f"wc_{tag}_writer", f"arn:aws:iam::111111111111:role/wc-{tag}-lambda"
    index = f"wc-{tag}-logs-1"
    text = (
        cluster_block(sandbox, "basic")
        + f"""role_definitions:
  {role}:
    CLUSTER
    index_permissions:
      - index_patterns: ["wc-{tag}-logs-*"]
        allowed_actions: [crud]
roles:
  {role}: [{lambda_}]
tests:
  - name: the Lambda writes logs
    principal: {lambda_}
    can: [{{action: "PUT /{index}/_doc/1"}}]
    cannot: [{{action: "DELETE /{index}"}}]
"""
    )
    path = tmp_path / "wc.yaml"
    path.write_text(text.replace("CLUSTER", "cluster_permissions: [cluster_monitor]"))
    # the index exists: a write to a missing one would also need indices:admin/create
    assert admin(sandbox, "PUT", f"/{index}").ok
    try:
        tested = run(sandbox, "basic", "test", str(path))
        assert tested.returncode == 1, tested.stdout + tested.stderr
        assert (
            "1 of 1 access test(s) fail (the cluster as the plan would leave it)" in tested.stdout
        )
        assert "also needs the cluster permission indices:data/write/bulk" in tested.stdout
        planned = run(
            sandbox, "basic", "plan", str(path), "-f", "json", "--out", str(tmp_path / "p.json")
        )
        assert planned.returncode == 0, planned.stderr
        (document,) = json.loads(planned.stdout)["plans"]
        assert document["tests"]["failed"] == 1
        assert [r["guard"] for r in document["safety"]["refusals"]] == ["access-test"]
        # can-i and who-can answer for the cluster as the reviewed plan would leave it
        asked = run(
            sandbox,
            "basic",
            "can-i",
            lambda_,
            f"PUT /{index}/_doc/1",
            "--plan",
            str(tmp_path / "p.json"),
            "-f",
            "json",
        )
        assert asked.returncode == 4, asked.stderr
        assert json.loads(asked.stdout)["allowed"] is False
        holders = run(
            sandbox,
            "basic",
            "who-can",
            "indices:data/write/index",
            index,
            "--plan",
            str(tmp_path / "p.json"),
            "-f",
            "json",
        )
        assert holders.returncode == 0, holders.stderr
        found = {p["principal"]: p for p in json.loads(holders.stdout)["principals"]}
        assert found[lambda_]["roles"] == [role]
        for command in (
            ["apply", str(path), "--yes"],
            ["apply", "--plan", str(tmp_path / "p.json"), "--yes"],
        ):
            applied = run(sandbox, "basic", *command)
            assert applied.returncode == 3, applied.stdout + applied.stderr
            assert "the Lambda writes logs" in applied.stdout + applied.stderr
            assert admin(sandbox, "GET", f"{ROLES}/{role}").status_code == 404  # nothing written
        path.write_text(text.replace("CLUSTER", "cluster_permissions: [indices:data/write/bulk]"))
        assert run(sandbox, "basic", "test", str(path)).returncode == 0
        applied = run(sandbox, "basic", "apply", str(path), "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        live = run(sandbox, "basic", "who-can", f"PUT /{index}/_doc/1", "-c", str(path))
        assert live.returncode == 0, live.stderr
        assert f"{lambda_}   (IAM role; roles: {role})" in live.stdout
        nobody = run(sandbox, "basic", "who-can", f"DELETE /{index}", "-c", str(path), "-f", "json")
        assert lambda_ not in {p["principal"] for p in json.loads(nobody.stdout)["principals"]}
    finally:
        admin(sandbox, "DELETE", f"/_plugins/_security/api/rolesmapping/{role}")
        admin(sandbox, "DELETE", f"{ROLES}/{role}")
        admin(sandbox, "DELETE", f"/{index}")
