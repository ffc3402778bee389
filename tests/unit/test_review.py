"""access-review: every principal with its roles and effective permissions, in three formats."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANALYTICS = "arn:aws:iam::222222222222:role/analytics"

FILE = f"""cluster: {{endpoint: https://x.example.com, auth: none}}
roles:
  team: [{ANALYTICS}]
  readall:
    users: [bob]
    backend_roles: ["arn:aws:iam::222222222222:role/*"]
role_definitions:
  team:
    index_permissions:
      - index_patterns: [logs-*]
        allowed_actions: [team_write]
        dls: {{term: {{team: blue}}}}
    tenant_permissions:
      - tenant_patterns: [analytics]
        allowed_actions: [kibana_all_write]
action_groups:
  team_write: {{allowed_actions: [crud]}}
"""


def review(tmp_path: Path, fmt: str) -> str:
    path = tmp_path / "f.yaml"
    path.write_text(FILE)
    result = subprocess.run(
        [sys.executable, "-m", "osaccess", "access-review", "--from", str(path), "-f", fmt],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_json_lists_every_principal_with_expanded_permissions(tmp_path: Path) -> None:
    document = json.loads(review(tmp_path, "json"))
    by_name = {p["principal"]: p for p in document["principals"]}
    assert set(by_name) == {ANALYTICS, "bob", "anyone matching arn:aws:iam::222222222222:role/*"}
    analytics = by_name[ANALYTICS]
    # the analytics role also matches the readall wildcard entry
    assert analytics["roles"] == ["readall", "team"]
    (grant,) = [g for g in analytics["index"] if g["patterns"] == ["logs-*"]]
    assert "indices:data/write*" in grant["actions"]
    assert "team via team_write > crud > write" in grant["granted_by"]
    assert json.loads(grant["dls"]) == {"term": {"team": "blue"}}
    assert analytics["tenants"] == {"analytics": "write"}
    assert by_name["bob"]["roles"] == ["readall"]


def test_csv_has_a_row_per_grant(tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(review(tmp_path, "csv"))))
    analytics = [r for r in rows if r["principal"] == ANALYTICS]
    assert {r["grant"] for r in analytics} == {"role", "cluster", "index", "tenant", "note"}
    # as the node applies it: the team may write on logs-*, but not a single document
    notes = [r["target"] for r in analytics if r["grant"] == "note"]
    assert any("also needs the cluster permission indices:data/write/bulk" in n for n in notes)
    # readall (no DLS, on *) does not lift team's DLS on logs-*
    assert any("the restrictions of the roles combine: DLS" in n for n in notes)
    (tenant,) = [r for r in analytics if r["grant"] == "tenant"]
    assert (tenant["target"], tenant["actions"]) == ("analytics", "write")


def test_markdown_is_a_table(tmp_path: Path) -> None:
    text = review(tmp_path, "markdown")
    assert text.startswith("# Access review")
    assert f"| `{ANALYTICS}` | readall, team |" in text
