"""The CI templates, pre-commit hook and Dockerfile say what the README promises."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_github_actions_plans_pull_requests_and_applies_the_reviewed_plan() -> None:
    workflow = yaml.safe_load((ROOT / "examples/github-actions/osaccess.yml").read_text())
    plan_steps = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["plan"]["steps"])
    apply_steps = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["apply"]["steps"])
    assert "--format markdown --detailed-exitcode --out plan.json" in plan_steps
    assert "GITHUB_STEP_SUMMARY" in plan_steps and "gh pr comment" in plan_steps
    assert "osaccess apply --plan plan.json --yes" in apply_steps
    assert workflow["permissions"]["id-token"] == "write"  # OIDC role assumption


def test_gitlab_ci_does_the_same() -> None:
    pipeline = yaml.safe_load((ROOT / "examples/gitlab-ci/.gitlab-ci.yml").read_text())
    assert "--detailed-exitcode" in " ".join(pipeline["plan"]["script"])
    assert (
        "osaccess apply --plan plan.json --yes --audit-log audit.jsonl"
        in pipeline["apply"]["script"]
    )


def test_the_pre_commit_hook_runs_validate() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"] == "osaccess validate"
