"""IAM checks against the sandbox's local AWS endpoint (moto, seeded from principals.yml)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import ROOT, Sandbox, admin
from tests.integration.helpers import ALICE, MASTER, SSO, live, run, write

MAPPINGS = "/_plugins/_security/api/rolesmapping"
WRONG_PATH = "arn:aws:iam::111111111111:role/AWSReservedSSO_Admin_0123456789abcdef"
WRONG_CASE = "arn:aws:iam::111111111111:user/Alice"
GHOST = "arn:aws:iam::111111111111:role/ghost"
OTHER_ACCOUNT = "arn:aws:iam::222222222222:role/analytics"


def principals_file(tmp_path: Path, sandbox: Sandbox, role: str) -> Path:
    values = [MASTER, ALICE, SSO, WRONG_PATH, WRONG_CASE, GHOST, OTHER_ACCOUNT]
    return write(tmp_path, sandbox, "sigv4-master", f"  {role}: [{', '.join(values)}]\n")


def test_validate_iam_says_which_principals_exist(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    result = run(
        sandbox,
        "sigv4-master",
        "validate",
        "--iam",
        str(principals_file(tmp_path, sandbox, roles[0])),
    )
    assert result.returncode == 1
    err = result.stderr
    assert (
        f"error: {WRONG_PATH}: no such role; a role named "
        f"AWSReservedSSO_Admin_0123456789abcdef exists under another path; use {SSO}" in err
    )
    assert f"error: {WRONG_CASE}: no such user; the name differs in case; use {ALICE}" in err
    assert f"error: {GHOST}: no such role in account 111111111111" in err
    assert (
        f"note: {OTHER_ACCOUNT}: not checked (the credentials belong to account 111111111111" in err
    )
    assert "IAM: 3 principal(s) exist exactly" in err


@pytest.mark.serial
def test_plan_warns_of_missing_principals_and_orphans_and_only_reads(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    admin(
        sandbox,
        "PUT",
        f"{MAPPINGS}/{roles[1]}",
        {"users": ["arn:aws:iam::111111111111:user/departed"]},
    )
    path = principals_file(tmp_path, sandbox, roles[0])
    result = run(sandbox, "sigv4-master", "plan", str(path))
    assert result.returncode == 0, result.stderr
    assert f"warning: IAM: {GHOST}: no such role in account 111111111111" in result.stdout
    assert (
        f"warning: IAM: the mapping of '{roles[1]}' on the cluster names "
        "arn:aws:iam::111111111111:user/departed: no such user in account 111111111111 (an orphan)"
    ) in result.stdout
    assert f"warning: IAM: {OTHER_ACCOUNT}" not in result.stdout  # not checked is no warning
    doctor = run(sandbox, "sigv4-master", "doctor", str(path))
    assert "[FAIL] IAM principals: 4 principal(s) do not exist as written" in doctor.stdout
    # each one is listed under the check
    assert f"       - {GHOST}: no such role in account 111111111111" in doctor.stdout


@pytest.fixture()
def aws_calls(aws_env: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS API call made in this process, as IAM action names (es:DescribeDomain, ...);
    boto3 clients and botocore's own (assume-role) clients alike."""
    import botocore.session

    calls: list[str] = []
    original = botocore.session.Session.create_client

    def recording(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        prefix = client.meta.service_model.signing_name
        client.meta.events.register(
            "before-call.*.*", lambda model, **_: calls.append(f"{prefix}:{model.name}")
        )
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", recording)
    monkeypatch.setenv("AWS_PROFILE", "sandbox-master")
    return calls


def documented_actions() -> set[str]:
    """The actions of the minimal policies in docs/iam-policy.md, but the HTTP ones (es:ESHttp*),
    which go to the cluster, not to the AWS API."""
    text = (ROOT / "docs" / "iam-policy.md").read_text()
    found = set()
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        for statement in json.loads(block)["Statement"]:
            found |= {a for a in statement["Action"] if not a.startswith("es:ESHttp")}
    return found


@pytest.mark.serial
def test_the_aws_calls_are_read_only_and_exactly_the_documented_ones(
    sandbox: Sandbox, roles: list[str], tmp_path: Path, aws_calls: list[str]
) -> None:
    from osaccess import api, doctor
    from osaccess.overrides import Overrides

    roles_yaml = (
        f"  {roles[0]}: [{ALICE}, {WRONG_CASE}, {OTHER_ACCOUNT}]\n"
        f"  {roles[1]}: [{{sso: Admin}}, {{sso: Admin, account: '222222222222'}}]\n"
    )
    path = sso_file(tmp_path, sandbox, roles_yaml, lookup=True)
    path.write_text(path.read_text().replace("  auth: aws\n", "  auth: aws\n  domain: sandbox\n"))
    file = api.load(path)
    uses = {}
    for use, action in (
        ("plan", lambda: api.plan(file)),
        ("apply", lambda: api.apply(file)),
        ("doctor", lambda: doctor.diagnose(file, Overrides())),
        ("explain", lambda: api.explain(ALICE, file)),
        ("import", lambda: api.import_file(file)),
    ):
        before = len(aws_calls)
        action()
        uses[use] = set(aws_calls[before:])
    called = set().union(*uses.values())
    assert all(
        c.split(":")[1].startswith(("Get", "List", "Describe", "AssumeRole")) for c in called
    )
    assert "es:DescribeDomain" in uses["doctor"] and "es:DescribeDomain" in uses["explain"]
    assert "iam:ListRoles" in uses["plan"] and "sts:AssumeRole" in uses["plan"]
    assert called == documented_actions(), "docs/iam-policy.md and the calls differ"


CONTRACTOR = "arn:aws:iam::111111111111:user/contractor"
SSO_READONLY = (
    "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
    "AWSReservedSSO_ReadOnly_5555eeee6666ffff"
)
SSO_OTHER_ACCOUNT = (
    "arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
    "AWSReservedSSO_Admin_fedcba9876543210"
)


def domain_file(tmp_path: Path, sandbox: Sandbox, roles_yaml: str) -> Path:
    """A file for the sandbox's domain: the gateway's address does not name it, so say it."""
    path = write(tmp_path, sandbox, "sigv4-master", roles_yaml)
    text = path.read_text().replace("  auth: aws\n", "  auth: aws\n  domain: sandbox\n", 1)
    path.write_text(text)
    return path


def test_doctor_reads_the_domain_policy_allow_deny_and_condition(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    values = [ALICE, CONTRACTOR, OTHER_ACCOUNT, SSO_READONLY, SSO_OTHER_ACCOUNT]
    path = domain_file(tmp_path, sandbox, f"  {roles[0]}: [{', '.join(values)}]\n")
    doctor = run(sandbox, "sigv4-master", "doctor", str(path))
    out = doctor.stdout
    assert doctor.returncode != 0
    assert "[FAIL] domain access policy: " in out
    assert "allowed by the policy of domain sandbox" in out
    assert (
        f"refused: the domain's access policy denies {CONTRACTOR} (Deny in NoContractors): "
        "requests are refused before OpenSearch sees them" in out
    )
    assert f"refused: the domain's access policy does not allow {SSO_OTHER_ACCOUNT}" in out
    assert (
        f"the domain's access policy for {OTHER_ACCOUNT}: depends on: "
        "AnalyticsFromTheOffice: IpAddress aws:SourceIp 10.0.0.0/8" in out
    )
    assert (
        f"the domain's access policy does not allow {SSO_READONLY}: unless an IAM policy of "
        "the principal itself allows es:ESHttp*" in out
    )
    assert f"refused: the domain's access policy allows {ALICE}" not in out
    assert "advice: allow these principals in the domain's access policy" in out
    assert "the policy names AROAEXAMPLEDELETED0001, the id of a deleted IAM role or user" in out


def test_explain_says_the_domain_policy_refuses_a_mapped_principal(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    path = domain_file(tmp_path, sandbox, f"  {roles[0]}: [{CONTRACTOR}, {ALICE}]\n")
    assert run(sandbox, "sigv4-master", "apply", "--yes", str(path)).returncode == 0
    denied = run(sandbox, "sigv4-master", "explain", CONTRACTOR, "--cluster", str(path))
    assert denied.returncode == 0, denied.stderr
    (line,) = [x for x in denied.stdout.splitlines() if x.startswith("Domain access policy:")]
    # other tests may map the same principal at the same time: its roles include ours
    assert line.startswith("Domain access policy: mapped to ") and roles[0] in line
    assert line.endswith(
        ", but the domain's access policy denies this principal (Deny in NoContractors): "
        "requests are refused before OpenSearch sees them"
    )
    allowed = run(sandbox, "sigv4-master", "explain", ALICE, "--cluster", str(path))
    assert (
        "Domain access policy: the domain's access policy allows this principal (Allow in Team)"
        in (allowed.stdout)
    )
    as_json = run(
        sandbox, "sigv4-master", "explain", CONTRACTOR, "--cluster", str(path), "--format", "json"
    )
    import json

    policy = json.loads(as_json.stdout)["domain_access_policy"]
    assert policy["status"] == "denied" and policy["refused"] is True
    # a plain user name is no IAM principal: the domain policy has nothing to say about it
    plain = run(sandbox, "sigv4-master", "explain", "admin", "--cluster", str(path))
    assert plain.returncode == 0 and "Domain access policy" not in plain.stdout


def test_without_a_domain_name_the_policy_is_not_checked(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    path = write(tmp_path, sandbox, "sigv4-master", f"  {roles[0]}: [{ALICE}]\n")
    doctor = run(sandbox, "sigv4-master", "doctor", str(path))
    assert (
        "[ok  ] domain access policy: not checked: the endpoint does not name the domain"
        in doctor.stdout
    )
    assert "set cluster.domain" in doctor.stdout


# -- IAM Identity Center permission sets by name ----------------------------------------------

SSO_ADMIN_222 = SSO_OTHER_ACCOUNT
LOOKUP_222 = "arn:aws:iam::222222222222:role/analytics"  # assumed to read IAM in 222222222222


def sso_file(tmp_path: Path, sandbox: Sandbox, roles_yaml: str, lookup: bool = False) -> Path:
    path = write(tmp_path, sandbox, "sigv4-master", roles_yaml)
    if lookup:
        text = path.read_text().replace(
            "  auth: aws\n", f"  auth: aws\n  iam_lookup_roles: [{LOOKUP_222}]\n", 1
        )
        path.write_text(text)
    return path


def test_permission_sets_resolve_at_plan_time_and_the_plan_file_keeps_the_arns(
    sandbox: Sandbox, roles: list[str], tmp_path: Path, aws_env: Sandbox, monkeypatch: object
) -> None:
    roles_yaml = (
        f"  {roles[0]}:\n    - sso: Admin\n    - {{sso: Admin, account: '222222222222'}}\n"
        f"  {roles[1]}: [{{sso: ReadOnly}}]\n"
    )
    path = sso_file(tmp_path, sandbox, roles_yaml, lookup=True)
    planned = run(sandbox, "sigv4-master", "plan", str(path), "--out", str(tmp_path / "p.json"))
    assert planned.returncode == 0, planned.stderr
    assert f"+ backend_roles     {SSO}   (sso: Admin)" in planned.stdout
    assert f"+ backend_roles     {SSO_ADMIN_222}   (sso: Admin)" in planned.stdout
    assert f"+ backend_roles     {SSO_READONLY}   (sso: ReadOnly)" in planned.stdout
    document = (tmp_path / "p.json").read_text()
    assert SSO_ADMIN_222 in document and '"sso: ReadOnly"' in document

    # apply --plan applies the recorded ARNs and asks IAM nothing
    import boto3

    from osaccess import api

    calls: list[str] = []
    original = boto3.Session.client

    def recording(self: boto3.Session, service: str, *args: object, **kwargs: object) -> object:
        client = original(self, service, *args, **kwargs)
        client.meta.events.register(
            "before-call.*.*", lambda model, **_: calls.append(f"{service}:{model.name}")
        )
        return client

    monkeypatch.setattr(boto3.Session, "client", recording)  # type: ignore[attr-defined]
    monkeypatch.setenv("AWS_PROFILE", "sandbox-master")  # type: ignore[attr-defined]
    outcomes = api.apply_plan_file(tmp_path / "p.json")
    assert [o.result for o in outcomes] == ["applied"], outcomes[0].error
    assert not [c for c in calls if c.startswith("iam:")], calls
    assert set(live(sandbox, roles[0])["backend_roles"]) == {SSO, SSO_ADMIN_222}
    again = run(sandbox, "sigv4-master", "plan", str(path), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout


def test_a_permission_set_with_no_role_or_several_is_an_error_listing_candidates(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    roles_yaml = f"  {roles[0]}: [{{sso: Missing}}, {{sso: Support}}, {{sso: readonly}}]\n"
    path = sso_file(tmp_path, sandbox, roles_yaml)
    result = run(sandbox, "sigv4-master", "plan", str(path))
    assert result.returncode == 1
    err = result.stderr
    assert "3 IAM Identity Center permission set(s) do not resolve to one role" in err
    assert (
        f"{path}:{len(path.read_text().splitlines())}: sso: Missing: no IAM Identity Center "
        "role of account 111111111111 has this "
        "permission set (permission sets with a role in account 111111111111: Admin, ReadOnly, "
        "Support)" in err
    )
    assert (
        "sso: Support: 2 IAM Identity Center roles of account 111111111111 have this permission "
        "set: arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/"
        "AWSReservedSSO_Support_1111aaaa2222bbbb, arn:aws:iam::111111111111:role/aws-reserved/"
        "sso.amazonaws.com/eu-west-1/AWSReservedSSO_Support_3333cccc4444dddd" in err
    )
    assert "the name differs in case: write sso: ReadOnly" in err
    assert live(sandbox, roles[0]) is None  # nothing was sent
    doctor = run(sandbox, "sigv4-master", "doctor", str(path))
    assert "[FAIL] IAM principals: 3 IAM Identity Center permission set(s) do not resolve" in (
        doctor.stdout
    )
    assert "       - " + f"{path}:" in doctor.stdout
    validate = run(sandbox, "sigv4-master", "validate", "--iam", str(path))
    assert (
        validate.returncode == 1 and "sso: Missing: no IAM Identity Center role" in validate.stderr
    )


def test_another_account_without_a_lookup_role_cannot_resolve(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    path = sso_file(tmp_path, sandbox, f"  {roles[0]}: [{{sso: Admin, account: '222222222222'}}]\n")
    result = run(sandbox, "sigv4-master", "plan", str(path))
    assert result.returncode == 1
    assert "sso: Admin: cannot list the roles of account 222222222222 (the credentials belong" in (
        result.stderr
    )
    with_lookup = sso_file(
        tmp_path, sandbox, f"  {roles[0]}: [{OTHER_ACCOUNT}, {SSO_ADMIN_222}]\n", lookup=True
    )
    checked = run(sandbox, "sigv4-master", "validate", "--iam", str(with_lookup))
    assert checked.returncode == 0, checked.stderr
    assert "IAM: 2 principal(s) exist exactly" in checked.stderr


@pytest.mark.serial
def test_import_writes_permission_sets_by_name_and_plans_empty(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    admin(sandbox, "PUT", f"{MAPPINGS}/{roles[0]}", {"backend_roles": [SSO, SSO_READONLY, MASTER]})
    source = write(tmp_path, sandbox, "sigv4-master", f"  {roles[0]}: [{MASTER}]\n")
    imported = run(sandbox, "sigv4-master", "import", "--cluster", str(source))
    assert imported.returncode == 0, imported.stderr
    text = imported.stdout
    block = text[text.index(f"  {roles[0]}:") :].split("\n")[:4]
    expected = [f"  {roles[0]}:", "    - sso: Admin", "    - sso: ReadOnly", f"    - {MASTER}"]
    assert block == expected
    path = tmp_path / "imported.yaml"
    path.write_text(text)
    again = run(sandbox, "sigv4-master", "plan", str(path), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr


def test_explain_finds_the_path_of_a_session_role_in_iam(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    path = domain_file(tmp_path, sandbox, f"  {roles[0]}: [{{sso: Admin}}]\n")
    assert run(sandbox, "sigv4-master", "apply", "--yes", str(path)).returncode == 0
    session = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice"
    result = run(sandbox, "sigv4-master", "explain", session, "--cluster", str(path))
    assert result.returncode == 0, result.stderr
    assert f"is an STS session of {SSO} (the role's path comes from IAM)" in result.stdout
    assert roles[0] in result.stdout.split("Roles: ")[1].split("\n")[0]


def test_the_cluster_account_is_the_default_account_of_sso_entries(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    path = sso_file(tmp_path, sandbox, f"  {roles[0]}: [{{sso: Admin}}]\n", lookup=True)
    path.write_text(
        path.read_text().replace("  auth: aws\n", "  auth: aws\n  account: '222222222222'\n")
    )
    checked = run(sandbox, "sigv4-master", "validate", "--iam", str(path))
    assert checked.returncode == 0, checked.stderr
    assert f"{path}: sso: Admin is {SSO_ADMIN_222}" in checked.stderr


def test_environment_credentials_without_a_profile_reach_the_sandboxs_aws_endpoint(
    sandbox: Sandbox, roles: list[str], tmp_path: Path
) -> None:
    """`.sandbox/env` exports the AWS endpoints it serves, so keys in the environment (no
    profile, no config file) resolve `sso:` entries through the local STS and IAM."""
    from sandbox.principals import load_principals
    from tests.integration.conftest import STATE, _read_env

    master = load_principals(ROOT / "sandbox" / "principals.yml").by_name("master")
    exported = _read_env(STATE / "env")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OSACCESS_"))}
    env.update({k: v for k, v in exported.items() if k.startswith("AWS_ENDPOINT_URL_")})
    env.update(
        AWS_REGION=exported["AWS_REGION"],
        AWS_ACCESS_KEY_ID=master.access_key_id,
        AWS_SECRET_ACCESS_KEY=master.secret_access_key,
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
    )
    assert {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM"} <= set(env)
    path = sso_file(tmp_path, sandbox, f"  {roles[0]}: [{{sso: Admin}}]\n")
    result = run(sandbox, "sigv4-master", "plan", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert f"+ backend_roles     {SSO}   (sso: Admin)" in result.stdout

    # an AWS endpoint that does not answer is named in the error
    env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:1"
    failed = run(sandbox, "sigv4-master", "plan", str(path), env=env)
    assert failed.returncode == 1
    assert "could not reach http://127.0.0.1:1" in failed.stderr
    assert "Traceback" not in failed.stderr
