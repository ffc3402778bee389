"""The sandbox is a real OpenSearch that sees IAM callers exactly as Amazon presents them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest
import requests

from sandbox.identities import identify
from tests.integration.conftest import Sandbox
from tests.signing import clock, sign

AUTHINFO = "/_plugins/_security/authinfo"
ADMIN_ROLES = {"all_access", "security_manager"}


def through_gateway(
    sandbox: Sandbox,
    headers: dict[str, str],
    method: str = "GET",
    path: str = AUTHINFO,
    body: bytes = b"",
) -> requests.Response:
    return requests.request(
        method,
        sandbox.gateway_url + path,
        headers=headers,
        data=body,
        verify=sandbox.ca_certs,
        timeout=30,
    )


def signed_as(
    sandbox: Sandbox,
    name: str,
    method: str = "GET",
    path: str = AUTHINFO,
    body: bytes = b"",
    **kwargs: Any,
) -> dict[str, str]:
    principal = sandbox.principals.by_name(name)
    return sign(
        method,
        sandbox.gateway_url + path,
        key=principal.access_key_id,
        secret=principal.secret_access_key,
        body=body,
        **kwargs,
    )


@pytest.mark.parametrize("name", ["master", "alice", "analytics", "sso-admin"])
def test_each_principal_is_seen_as_amazon_presents_it(aws_env: Sandbox, name: str) -> None:
    principal = aws_env.principals.by_name(name)
    who = identify(aws_env.gateway_url, aws_env.ca_certs, f"sandbox-{name}", principal.arn)
    assert who.user_name == principal.arn
    if principal.kind == "role":
        assert who.backend_roles == (principal.arn,)  # the role ARN, path included
    else:
        assert who.backend_roles == ()
    if name == "master":
        assert set(who.roles) >= ADMIN_ROLES
    else:
        assert not ADMIN_ROLES & set(who.roles)


def test_the_identity_center_role_keeps_its_path(aws_env: Sandbox) -> None:
    who = identify(aws_env.gateway_url, aws_env.ca_certs, "sandbox-sso-admin", "")
    assert who.user_name == (
        "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
        "AWSReservedSSO_Admin_0123456789abcdef"
    )


def test_unsigned_requests_are_refused_by_the_gateway(sandbox: Sandbox) -> None:
    response = through_gateway(sandbox, {})
    assert response.status_code == 403
    assert "anonymous is not authorized" in response.json()["Message"]


def test_a_body_changed_after_signing_is_refused(sandbox: Sandbox) -> None:
    path = "/_plugins/_security/api/rolesmapping"
    signed_body = b'[{"op":"add","path":"/readall","value":{"users":["x"]}}]'
    headers = signed_as(
        sandbox, "master", "PATCH", path, signed_body, headers={"Content-Type": "application/json"}
    )
    evil = b'[{"op":"remove","path":"/all_access"}]'
    response = through_gateway(sandbox, headers, "PATCH", path, evil)
    assert response.status_code == 403
    assert "signature we calculated does not match" in response.json()["message"]
    # and nothing reached the node: all_access is still mapped
    mapping = requests.get(
        sandbox.node_url + path + "/all_access",
        verify=sandbox.ca_certs,
        auth=(sandbox.username, sandbox.password),
        timeout=30,
    ).json()
    assert "arn:aws:iam::111111111111:role/sandbox-master" in mapping["all_access"]["backend_roles"]


def test_a_signed_header_changed_after_signing_is_refused(sandbox: Sandbox) -> None:
    headers = signed_as(sandbox, "alice", headers={"X-Request-Purpose": "read"})
    headers["X-Request-Purpose"] = "write"
    assert through_gateway(sandbox, headers).status_code == 403


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"region": "us-east-1"}, "valid region"),
        ({"service": "aoss"}, "correct service"),
    ],
)
def test_wrongly_scoped_signatures_are_refused(
    sandbox: Sandbox, kwargs: dict[str, str], message: str
) -> None:
    response = through_gateway(sandbox, signed_as(sandbox, "master", **kwargs))
    assert response.status_code == 403
    assert message in response.json()["message"]


def test_expired_signatures_are_refused(sandbox: Sandbox) -> None:
    with clock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)):
        headers = signed_as(sandbox, "master")
    response = through_gateway(sandbox, headers)
    assert response.status_code == 403
    assert "Signature expired" in response.json()["message"]


def test_unknown_keys_are_refused(sandbox: Sandbox) -> None:
    headers = sign(
        "GET", sandbox.gateway_url + AUTHINFO, key="AKIAUNKNOWNKEY000000", secret="whatever"
    )
    response = through_gateway(sandbox, headers)
    assert response.status_code == 403
    assert "security token included in the request is invalid" in response.json()["message"]


@pytest.mark.parametrize("signed_spoof", [True, False], ids=["spoof-signed", "spoof-unsigned"])
def test_spoofed_identity_headers_have_no_effect(sandbox: Sandbox, signed_spoof: bool) -> None:
    master = sandbox.principals.by_name("master").arn
    spoof = {
        "x-osaccess-principal": master,
        "x-osaccess-backend-roles": master,
        "X-Forwarded-For": "127.0.0.1",
    }
    headers = signed_as(sandbox, "alice", headers=spoof if signed_spoof else None)
    if not signed_spoof:
        headers.update(spoof)
    response = through_gateway(sandbox, headers)
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["user_name"] == "arn:aws:iam::111111111111:user/alice"
    assert info["backend_roles"] == []
    assert not ADMIN_ROLES & set(info["roles"])


def test_an_identity_policy_without_patch_is_enforced(sandbox: Sandbox) -> None:
    path = "/_plugins/_security/api/rolesmapping"
    body = b'[{"op":"remove","path":"/no-such-mapping"}]'
    headers = signed_as(
        sandbox,
        "readonly-pipeline",
        "PATCH",
        path,
        body,
        headers={"Content-Type": "application/json"},
    )
    response = through_gateway(sandbox, headers, "PATCH", path, body)
    assert response.status_code == 403
    assert "es:ESHttpPatch" in response.json()["Message"]
    assert through_gateway(sandbox, signed_as(sandbox, "readonly-pipeline")).status_code == 200


def _assume(sandbox: Sandbox, role_arn: str, **extra: str) -> dict[str, str]:
    alice = sandbox.principals.by_name("alice")
    sts = boto3.client(
        "sts",
        endpoint_url=sandbox.sts_url,
        region_name="eu-west-1",
        aws_access_key_id=alice.access_key_id,
        aws_secret_access_key=alice.secret_access_key,
    )
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="integration-test", **extra)
    return dict(creds["Credentials"])  # type: ignore[arg-type]


def test_assumed_role_credentials_are_seen_as_the_role(sandbox: Sandbox) -> None:
    role = sandbox.principals.by_name("sso-admin").arn
    creds = _assume(sandbox, role, ExternalId="osaccess-ci")
    assert creds["AccessKeyId"].startswith("ASIA")
    headers = sign(
        "GET",
        sandbox.gateway_url + AUTHINFO,
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )
    info = through_gateway(sandbox, headers).json()
    assert info["user_name"] == role  # the role ARN with its path, not the STS session ARN
    assert info["backend_roles"] == [role]


def test_assumed_role_credentials_without_their_token_are_refused(sandbox: Sandbox) -> None:
    creds = _assume(sandbox, sandbox.principals.by_name("master").arn)
    headers = sign(
        "GET",
        sandbox.gateway_url + AUTHINFO,
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
    )
    assert through_gateway(sandbox, headers).status_code == 403


def test_credentials_for_a_role_the_sandbox_does_not_know_are_refused(sandbox: Sandbox) -> None:
    creds = _assume(sandbox, "arn:aws:iam::111111111111:role/not-in-the-sandbox")
    headers = sign(
        "GET",
        sandbox.gateway_url + AUTHINFO,
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )
    assert through_gateway(sandbox, headers).status_code == 403


def test_assume_role_profiles_work_through_boto3(aws_env: Sandbox) -> None:
    role = aws_env.principals.by_name("analytics").arn
    who = identify(aws_env.gateway_url, aws_env.ca_certs, "sandbox-assumed-analytics", role)
    assert who.user_name == role
    assert who.backend_roles == (role,)


def test_basic_auth_as_admin_works_and_a_wrong_password_is_refused(sandbox: Sandbox) -> None:
    ok = requests.get(
        sandbox.node_url + AUTHINFO,
        auth=(sandbox.username, sandbox.password),
        verify=sandbox.ca_certs,
        timeout=30,
    )
    assert ok.status_code == 200
    assert ok.json()["user_name"] == "admin"
    assert set(ok.json()["roles"]) >= ADMIN_ROLES
    wrong = requests.get(
        sandbox.node_url + AUTHINFO,
        auth=(sandbox.username, "wrong"),
        verify=sandbox.ca_certs,
        timeout=30,
    )
    assert wrong.status_code == 401


def test_the_node_serves_tls_from_the_sandbox_ca_only(sandbox: Sandbox) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sandbox.node_url, verify=True, timeout=30)


def test_client_certificate_authentication_works(sandbox: Sandbox) -> None:
    from tests.integration.conftest import ROOT

    certs = ROOT / "sandbox" / "certs"
    response = requests.get(
        sandbox.node_url + AUTHINFO,
        verify=sandbox.ca_certs,
        timeout=30,
        cert=(str(certs / "operator.pem"), str(certs / "operator-key.pem")),
    )
    assert response.status_code == 200, response.text
    assert response.json()["user_name"] == "sandbox-operator"


def test_the_security_plugin_is_really_there(sandbox: Sandbox) -> None:
    response = requests.get(
        sandbox.node_url + "/_plugins/_security/api/rolesmapping",
        auth=(sandbox.username, sandbox.password),
        verify=sandbox.ca_certs,
        timeout=30,
    )
    mappings = response.json()
    assert mappings["kibana_server"]["reserved"] is True
    assert json.dumps(mappings["security_manager"]["backend_roles"]) == json.dumps(
        ["arn:aws:iam::111111111111:role/sandbox-master"]
    )
