"""Does the domain's access policy let an IAM principal in at all?

On Amazon OpenSearch Service a request passes the domain's resource-based access policy before
OpenSearch (and so fine-grained access control) sees it. This module evaluates that policy, as
DescribeDomain returns it, for one principal and the HTTP actions (``es:ESHttp*``) on the
domain's subresources (``arn:...:domain/NAME/*``):

- an explicit Deny that applies wins; then an Allow that applies; otherwise nothing allows it;
- a principal matches by its exact ARN, by its account (``"111111111111"`` or
  ``arn:aws:iam::111111111111:root``), or by ``"*"``; ``NotPrincipal``, ``NotAction`` and
  ``NotResource`` are honoured;
- a statement with a ``Condition`` (source IP, VPC endpoint, ...) cannot be decided here: it is
  reported as "depends on: ..." and never guessed; so is a Resource narrower than the whole domain.

A principal in the domain's own account may still be let in by an IAM policy of its own (the
identity policy) when the domain policy is silent; an explicit Deny, and silence towards another
account, refuse the request whatever the identity policy says. Pure: no AWS calls here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from osaccess.file.principals import one_iam_principal

HTTP_ACTIONS = (
    "es:ESHttpGet",
    "es:ESHttpHead",
    "es:ESHttpPost",
    "es:ESHttpPut",
    "es:ESHttpPatch",
    "es:ESHttpDelete",
)

Status = Literal["allowed", "denied", "not allowed", "depends", "partly allowed", "not checked"]

_ENDPOINT = re.compile(
    r"^(?:search|vpc)-(?P<name>[a-z][a-z0-9-]{2,27})-[a-z0-9]+\.[a-z0-9-]+\.(?:es|aoss)\.amazonaws\.com(?:\.cn)?$"
)


class PolicyError(ValueError):
    """The access policy is not a JSON policy document."""


def domain_name(endpoint: str, configured: str | None = None) -> str | None:
    """The domain's name: ``cluster.domain`` when given, else from an Amazon endpoint
    (``search-NAME-ID.REGION.es.amazonaws.com`` or ``vpc-NAME-ID...``); None when neither says."""
    if configured:
        return configured
    host = re.sub(r"^https?://", "", endpoint).split("/", 1)[0].split(":", 1)[0].lower()
    match = _ENDPOINT.match(host)
    return match["name"] if match else None


@dataclass(frozen=True)
class Verdict:
    """What the domain's access policy does with one principal's HTTP requests."""

    principal: str
    status: Status
    detail: str  # the statements (and conditions) that decided it
    same_account: bool = True  # the principal is in the domain's account

    @property
    def refused(self) -> bool:
        """Requests are refused by the domain policy (allowing the identity policy its say for
        a principal of the domain's own account when the policy is merely silent)."""
        return self.status == "denied" or (self.status == "not allowed" and not self.same_account)

    def text(self, who: str | None = None) -> str:
        """One sentence; ``who`` names the principal (default: its ARN)."""
        who = who or self.principal
        if self.status == "allowed":
            return f"the domain's access policy allows {who} ({self.detail})"
        if self.status == "denied":
            return (
                f"the domain's access policy denies {who} ({self.detail}): requests are "
                "refused before OpenSearch sees them"
            )
        if self.status == "not allowed":
            tail = (
                "unless an IAM policy of the principal itself allows es:ESHttp* on the domain, "
                "requests are refused before OpenSearch sees them"
                if self.same_account
                else "requests are refused before OpenSearch sees them (a principal of another "
                "account needs the domain policy's allow)"
            )
            return f"the domain's access policy does not allow {who}: {tail}"
        if self.status == "not checked":
            return f"the domain's access policy was not checked ({self.detail})"
        return f"the domain's access policy for {who}: {self.detail}"


def parse(policy: str | dict[str, Any] | None) -> list[dict[str, Any]]:
    """The statements of a policy document (an empty policy has none)."""
    if policy is None or (isinstance(policy, str) and not policy.strip()):
        return []
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
    except json.JSONDecodeError as exc:
        raise PolicyError(f"the access policy is not JSON: {exc.msg} at {exc.pos}") from exc
    if not isinstance(document, dict):
        raise PolicyError("the access policy is not a JSON object")
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise PolicyError("the access policy's Statement is not a list of objects")
    return statements


def evaluate(policy: str | dict[str, Any] | None, principal: str, domain_arn: str) -> Verdict:
    """The verdict of the domain's access policy on ``principal`` (an IAM user or role ARN)."""
    statements = parse(policy)
    same = _account(principal) == _account(domain_arn)
    per_action = {
        action: _decide(statements, principal, domain_arn, action) for action in HTTP_ACTIONS
    }
    kinds = {status for status, _ in per_action.values()}
    if len(kinds) == 1:
        status = kinds.pop()
        details = sorted({detail for _, detail in per_action.values() if detail})
        detail = "; ".join(details) or "no statement names it, its account or *"
        if status == "depends":
            detail = "depends on: " + detail
        return Verdict(principal, status, detail, same)
    parts = []
    for status in ("allowed", "denied", "depends", "not allowed"):
        actions = [a for a, (s, _) in per_action.items() if s == status]
        if actions:
            reasons = sorted({per_action[a][1] for a in actions if per_action[a][1]})
            because = f" ({'; '.join(reasons)})" if reasons else ""
            verb = {"depends": "depends on the conditions for"}.get(status, status)
            parts.append(f"{verb} {', '.join(actions)}{because}")
    return Verdict(principal, "partly allowed", "; ".join(parts), same)


def _decide(
    statements: list[dict[str, Any]], principal: str, domain_arn: str, action: str
) -> tuple[Status, str]:
    deny_sure: list[str] = []
    deny_maybe: list[str] = []
    allow_sure: list[str] = []
    allow_maybe: list[str] = []
    for index, statement in enumerate(statements, 1):
        name = str(statement.get("Sid") or f"statement {index}")
        if not _principal_matches(statement, principal) or not _action_matches(statement, action):
            continue
        scope = _resource_scope(statement, domain_arn)
        if scope is None:
            continue
        unsure = [f"{name}: {text}" for text in _conditions(statement)]
        if scope:
            unsure.append(f"{name}: only for {scope}")
        deny = str(statement.get("Effect", "")).lower() == "deny"
        if unsure:
            (deny_maybe if deny else allow_maybe).extend(unsure)
        else:
            (deny_sure if deny else allow_sure).append(name)
    if deny_sure:
        return "denied", f"Deny in {', '.join(deny_sure)}"
    if deny_maybe:
        return "depends", ", ".join(deny_maybe)
    if allow_sure:
        return "allowed", f"Allow in {', '.join(allow_sure)}"
    if allow_maybe:
        return "depends", ", ".join(allow_maybe)
    return "not allowed", ""


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _names(entry: str, principal: str) -> bool:
    if entry == "*" or entry == principal:
        return True
    account = _account(principal)
    return account is not None and entry in (account, f"arn:aws:iam::{account}:root")


def _principal_matches(statement: dict[str, Any], principal: str) -> bool:
    def listed(block: Any) -> list[str]:
        if block == "*":
            return ["*"]
        if isinstance(block, dict):
            return _listed(block.get("AWS"))
        return []

    if "NotPrincipal" in statement:
        return not any(_names(e, principal) for e in listed(statement["NotPrincipal"]))
    return any(_names(e, principal) for e in listed(statement.get("Principal")))


def _glob(pattern: str, case: bool = True) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts) + r"\Z", 0 if case else re.IGNORECASE)


def _action_matches(statement: dict[str, Any], action: str) -> bool:
    def any_of(patterns: Iterable[str]) -> bool:
        # in a domain policy es:* means the HTTP actions, as does *
        return any(_glob(p, case=False).match(action) for p in patterns)

    if "NotAction" in statement:
        return not any_of(_listed(statement["NotAction"]))
    return any_of(_listed(statement.get("Action")))


def _resource_scope(statement: dict[str, Any], domain_arn: str) -> str | None:
    """'' when the statement covers every path of the domain, the narrower resources when it
    covers some, None when none."""
    whole = f"{domain_arn}/*"
    if "NotResource" in statement:
        excluded = _listed(statement["NotResource"])
        if any(_glob(p).match(whole) for p in excluded):
            return None
        inside = [p for p in excluded if p.startswith(f"{domain_arn}/")]
        return f"paths other than {', '.join(inside)}" if inside else ""
    resources = _listed(statement.get("Resource"))
    if any(_glob(p).match(whole) for p in resources):
        return ""
    inside = [p for p in resources if p.startswith(f"{domain_arn}/")]
    return ", ".join(inside) if inside else None


def _conditions(statement: dict[str, Any]) -> list[str]:
    block = statement.get("Condition")
    if not isinstance(block, dict):
        return []
    found = []
    for operator, tests in block.items():
        if isinstance(tests, dict):
            for key, value in tests.items():
                found.append(f"{operator} {key} {', '.join(_listed(value))}")
        else:
            found.append(str(operator))
    return found


@dataclass(frozen=True)
class Domain:
    """An Amazon OpenSearch Service domain as DescribeDomain describes it."""

    name: str
    arn: str
    policy: str

    def verdicts(self, principals: Iterable[str]) -> list[Verdict]:
        """The verdict for each IAM user or role ARN among ``principals`` (others are skipped:
        the domain policy names IAM principals only)."""
        wanted = sorted(p for p in set(principals) if one_iam_principal(p))
        return [evaluate(self.policy, p, self.arn) for p in wanted]


_UNIQUE_ID = re.compile(r"^A(?:ROA|IDA)[A-Z0-9]{12,}$")


def stale_principals(policy: str | dict[str, Any] | None) -> list[str]:
    """Unique ids (AROA..., AIDA...) among the policy's principals: IAM shows a deleted role or
    user so in a resource policy, and a principal re-created under the same name does not match."""
    found = set()
    for statement in parse(policy):
        for key in ("Principal", "NotPrincipal"):
            block = statement.get(key)
            if isinstance(block, dict):
                found |= {p for p in _listed(block.get("AWS")) if _UNIQUE_ID.match(p)}
    return sorted(found)


def read_domain(client: Any, name: str) -> Domain:
    """DescribeDomain (read-only) through boto3's ``opensearch`` client."""
    status = client.describe_domain(DomainName=name)["DomainStatus"]
    return Domain(name, str(status["ARN"]), str(status.get("AccessPolicies") or ""))
