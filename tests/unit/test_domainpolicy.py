"""The domain access policy evaluator: allow, deny, silence, conditions, partial grants."""

from __future__ import annotations

import json

import pytest

from osaccess.aws.domainpolicy import PolicyError, domain_name, evaluate

DOMAIN = "arn:aws:es:eu-west-1:111111111111:domain/logs"
ALICE = "arn:aws:iam::111111111111:user/alice"
ANALYTICS = "arn:aws:iam::222222222222:role/analytics"


def policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: object, resource: object = f"{DOMAIN}/*", **more: object) -> dict[str, object]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "es:*",
        "Resource": resource,
        **more,
    }


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": ALICE},
        {"AWS": [ANALYTICS, ALICE]},
        {"AWS": "111111111111"},
        {"AWS": "arn:aws:iam::111111111111:root"},
        "*",
        {"AWS": "*"},
    ],
)
def test_exact_arn_account_and_star_allow(principal: object) -> None:
    verdict = evaluate(policy(allow(principal)), ALICE, DOMAIN)
    assert verdict.status == "allowed" and not verdict.refused


def test_another_principal_or_account_is_not_allowed() -> None:
    verdict = evaluate(policy(allow({"AWS": ALICE})), ANALYTICS, DOMAIN)
    assert (
        verdict.status == "not allowed" and verdict.refused
    )  # another account: nothing else helps
    assert "refused before OpenSearch sees them" in verdict.text()
    same = evaluate(policy(allow({"AWS": ANALYTICS})), ALICE, DOMAIN)
    assert same.status == "not allowed" and not same.refused  # its own IAM policy may allow it
    assert "unless an IAM policy of the principal itself" in same.text()


def test_explicit_deny_wins_over_allow() -> None:
    deny = {
        "Sid": "NoAlice",
        "Effect": "Deny",
        "Principal": {"AWS": ALICE},
        "Action": "es:*",
        "Resource": f"{DOMAIN}/*",
    }
    verdict = evaluate(policy(allow("*"), deny), ALICE, DOMAIN)
    assert verdict.status == "denied" and verdict.refused
    assert "NoAlice" in verdict.text()


def test_condition_is_reported_never_guessed() -> None:
    cond = {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}
    verdict = evaluate(policy(allow({"AWS": ANALYTICS}, Condition=cond)), ANALYTICS, DOMAIN)
    assert verdict.status == "depends" and not verdict.refused
    assert "depends on: statement 1: IpAddress aws:SourceIp 10.0.0.0/8" in verdict.text()


def test_a_conditional_deny_makes_an_allow_uncertain() -> None:
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "es:*",
        "Resource": f"{DOMAIN}/*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
    }
    assert evaluate(policy(allow("*"), deny), ALICE, DOMAIN).status == "depends"


def test_resource_without_subresources_or_of_another_domain_grants_nothing() -> None:
    assert evaluate(policy(allow("*", resource=DOMAIN)), ALICE, DOMAIN).status == "not allowed"
    other = "arn:aws:es:eu-west-1:111111111111:domain/other/*"
    assert evaluate(policy(allow("*", resource=other)), ALICE, DOMAIN).status == "not allowed"
    wide = "arn:aws:es:eu-west-1:111111111111:domain/*"
    assert evaluate(policy(allow("*", resource=wide)), ALICE, DOMAIN).status == "allowed"


def test_narrower_resource_is_reported() -> None:
    verdict = evaluate(policy(allow("*", resource=f"{DOMAIN}/logs-*")), ALICE, DOMAIN)
    assert verdict.status == "depends" and f"only for {DOMAIN}/logs-*" in verdict.detail


def test_some_actions_only() -> None:
    read = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["es:ESHttpGet", "es:ESHttpHead"],
        "Resource": f"{DOMAIN}/*",
    }
    verdict = evaluate(policy(read), ALICE, DOMAIN)
    assert verdict.status == "partly allowed"
    assert verdict.detail.startswith("allowed es:ESHttpGet, es:ESHttpHead")
    assert "not allowed es:ESHttpPost" in verdict.detail


def test_not_principal_and_not_action() -> None:
    deny_all_but = {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": ALICE},
        "Action": "es:*",
        "Resource": f"{DOMAIN}/*",
    }
    doc = policy(allow("*"), deny_all_but)
    assert evaluate(doc, ALICE, DOMAIN).status == "allowed"
    assert evaluate(doc, ANALYTICS, DOMAIN).status == "denied"
    no_delete = {
        "Effect": "Allow",
        "Principal": "*",
        "NotAction": "es:ESHttpDelete",
        "Resource": f"{DOMAIN}/*",
    }
    assert "not allowed es:ESHttpDelete" in evaluate(policy(no_delete), ALICE, DOMAIN).detail


def test_empty_and_broken_policies() -> None:
    assert evaluate("", ALICE, DOMAIN).status == "not allowed"
    with pytest.raises(PolicyError):
        evaluate("{not json", ALICE, DOMAIN)


@pytest.mark.parametrize(
    ("endpoint", "configured", "expected"),
    [
        ("https://search-logs-abc123def.eu-west-1.es.amazonaws.com", None, "logs"),
        ("https://vpc-my-app-logs-0a1b2c3d.us-east-1.es.amazonaws.com:443", None, "my-app-logs"),
        ("https://search.example.com", None, None),
        ("https://127.0.0.1:9201", "sandbox", "sandbox"),
    ],
)
def test_domain_name(endpoint: str, configured: str | None, expected: str | None) -> None:
    assert domain_name(endpoint, configured) == expected


def test_unique_ids_of_deleted_principals_are_found() -> None:
    from osaccess.aws.domainpolicy import stale_principals

    doc = policy(allow({"AWS": [ALICE, "AROAEXAMPLEID1234567"]}), allow("*"))
    assert stale_principals(doc) == ["AROAEXAMPLEID1234567"]
    assert stale_principals(policy(allow({"AWS": ALICE}))) == []
