"""The gateway's SigV4 verification, against requests signed by botocore as real clients sign."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sandbox.principals import load_principals
from sandbox.sigv4 import ResolvedCredentials, SignatureRejected, verify_request
from tests.signing import clock, sign

ROOT = Path(__file__).resolve().parents[2]
TABLE = load_principals(ROOT / "sandbox" / "principals.yml")
ALICE = TABLE.by_name("alice")
SSO = TABLE.by_name("sso-admin")
NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.timezone.utc)
HOST = "127.0.0.1:9201"


class Resolver:
    """The long-term keys of the sandbox table, plus one temporary session."""

    def __init__(self, session_expires: dt.datetime = NOW + dt.timedelta(hours=1)) -> None:
        self.session = ResolvedCredentials(
            secret_access_key="temporary-secret",
            principal_arn=SSO.arn,
            backend_roles=(SSO.arn,),
            session_token="session-token-value",
            expiration=session_expires,
        )

    def resolve(self, access_key_id: str) -> ResolvedCredentials | None:
        if access_key_id == "ASIATEMPORARYKEY0001":
            return self.session
        principal = TABLE.by_access_key(access_key_id)
        if principal is None:
            return None
        return ResolvedCredentials(
            principal.secret_access_key, principal.arn, principal.backend_roles
        )


def signed(
    method: str = "GET",
    path: str = "/_plugins/_security/authinfo",
    body: bytes = b"",
    at: dt.datetime = NOW,
    **kwargs: object,
) -> dict[str, str]:
    kwargs.setdefault("key", ALICE.access_key_id)
    kwargs.setdefault("secret", ALICE.secret_access_key)
    with clock(at):
        headers = sign(method, f"https://{HOST}{path}", body=body, **kwargs)  # type: ignore[arg-type]
    return {k.lower(): v for k, v in headers.items()} | {"host": HOST}


def verify(
    headers: dict[str, str],
    method: str = "GET",
    path: str = "/_plugins/_security/authinfo",
    body: bytes = b"",
    resolver: Resolver | None = None,
) -> ResolvedCredentials:
    return verify_request(
        method=method,
        raw_path=path,
        headers=headers,
        body=body,
        resolver=resolver or Resolver(),
        region="eu-west-1",
        now=NOW,
    )


def test_a_correct_signature_names_the_principal() -> None:
    caller = verify(signed())
    assert caller.principal_arn == "arn:aws:iam::111111111111:user/alice"
    assert caller.backend_roles == ()


def test_a_role_key_is_presented_with_its_arn_as_backend_role() -> None:
    master = TABLE.by_name("master")
    caller = verify(signed(key=master.access_key_id, secret=master.secret_access_key))
    assert caller.principal_arn == master.arn
    assert caller.backend_roles == (master.arn,)


def test_non_ascii_body_percent_encoded_path_and_query_verify() -> None:
    body = '[{"op":"add","path":"/team","value":{"users":["Zürich-東京"]}}]'.encode()
    path = "/_plugins/_security/api/rolesmapping/team%3Aops%40eu%20%C3%A9?pretty=true"
    headers = signed("PATCH", path, body, headers={"Content-Type": "application/json"})
    assert verify(headers, "PATCH", path, body).principal_arn == ALICE.arn


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: h.pop("authorization"), "User: anonymous is not authorized"),
        (lambda h: h.update({"x-test": "changed"}), "signature we calculated does not match"),
        (lambda h: h.update({"authorization": "Basic YWRtaW46YWRtaW4="}), "requires 'Credential'"),
    ],
    ids=["unsigned", "signed-header-changed", "not-sigv4"],
)
def test_tampered_or_missing_signatures_are_refused(change: object, message: str) -> None:
    headers = signed(headers={"X-Test": "original"})
    change(headers)  # type: ignore[operator]
    with pytest.raises(SignatureRejected) as refused:
        verify(headers)
    assert refused.value.status == 403
    assert message in refused.value.message


def test_a_body_changed_after_signing_is_refused() -> None:
    headers = signed("PATCH", body=b'[{"op":"remove","path":"/a"}]')
    with pytest.raises(SignatureRejected, match="does not match"):
        verify(headers, "PATCH", body=b'[{"op":"remove","path":"/all_access"}]')


def test_a_path_changed_after_signing_is_refused() -> None:
    headers = signed()
    with pytest.raises(SignatureRejected, match="does not match"):
        verify(headers, path="/_plugins/_security/api/rolesmapping")


def test_a_content_hash_header_that_lies_about_the_body_is_refused() -> None:
    headers = signed("PATCH", body=b"[]", headers={"X-Amz-Content-SHA256": "0" * 64})
    with pytest.raises(SignatureRejected) as refused:
        verify(headers, "PATCH", body=b"[]")
    assert refused.value.status == 400


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"region": "us-east-1"}, "scoped to a valid region"),
        ({"service": "aoss"}, "scoped to correct service: 'es'"),
        ({"key": "AKIAUNKNOWNKEY000000"}, "security token included in the request is invalid"),
        ({"secret": "not-the-secret"}, "signature we calculated does not match"),
        ({"at": NOW - dt.timedelta(minutes=6)}, "Signature expired"),
        ({"at": NOW + dt.timedelta(minutes=6)}, "Signature expired"),
    ],
    ids=["wrong-region", "wrong-service", "unknown-key", "wrong-secret", "too-old", "future"],
)
def test_wrong_scope_key_secret_or_time_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SignatureRejected) as refused:
        verify(signed(**kwargs))  # type: ignore[arg-type]
    assert refused.value.status == 403
    assert message in refused.value.message


def test_temporary_credentials_need_their_session_token() -> None:
    kwargs = {"key": "ASIATEMPORARYKEY0001", "secret": "temporary-secret"}
    assert verify(signed(token="session-token-value", **kwargs)).principal_arn == SSO.arn
    with pytest.raises(SignatureRejected, match="invalid"):
        verify(signed(**kwargs))
    with pytest.raises(SignatureRejected, match="invalid"):
        verify(signed(token="another-token", **kwargs))


def test_expired_temporary_credentials_are_refused() -> None:
    resolver = Resolver(session_expires=NOW - dt.timedelta(seconds=1))
    headers = signed(
        token="session-token-value", key="ASIATEMPORARYKEY0001", secret="temporary-secret"
    )
    with pytest.raises(SignatureRejected, match="expired"):
        verify(headers, resolver=resolver)


def test_a_session_token_on_a_long_term_key_is_refused() -> None:
    with pytest.raises(SignatureRejected, match="invalid"):
        verify(signed(token="made-up"))
