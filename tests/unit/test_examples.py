"""The CI templates, pre-commit hook and Dockerfile say what the README promises."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_github_actions_uses_the_action_to_plan_and_apply_the_reviewed_plan() -> None:
    workflow = yaml.safe_load((ROOT / "examples/github-actions/osaccess.yml").read_text())
    action_inputs = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]

    def uses(job: str) -> list[dict[str, str]]:
        steps = workflow["jobs"][job]["steps"]
        return [s.get("with", {}) for s in steps if "/osaccess@" in s.get("uses", "")]

    plan_modes = [w["mode"] for w in uses("plan")]
    assert plan_modes == ["validate", "plan"]
    (apply_with,) = uses("apply")
    assert apply_with["mode"] == "apply" and apply_with["plan-file"] == "plan.json"
    for inputs in [*uses("plan"), apply_with]:
        assert set(inputs) <= set(action_inputs), set(inputs) - set(action_inputs)
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
