"""Checking IAM principals: exact ARNs exist; another path or case gets the ARN to use; other
accounts are not checked; patterns name no single principal."""

from __future__ import annotations

from osaccess.iam import Directory, check, plan_warnings
from osaccess.model import RoleMapping

SSO = (
    "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
    "AWSReservedSSO_Admin_0123456789abcdef"
)


class Account:
    def __init__(self, *arns: str) -> None:
        self.all = list(arns)

    def find(self, kind: str, name: str) -> str | None:
        return next((a for a in self.all if f":{kind}/" in a and a.rsplit("/", 1)[1] == name), None)

    def arns(self, kind: str) -> list[str]:
        return [a for a in self.all if f":{kind}/" in a]


ACCOUNT = Account(SSO, "arn:aws:iam::111111111111:user/alice")


def directory_for(account: str) -> Directory | str:
    return ACCOUNT if account == "111111111111" else "no IAM access to this account"


def test_an_exact_arn_exists() -> None:
    finding = check(SSO, directory_for)
    assert finding is not None and finding.status == "exists"


def test_another_path_gets_the_arn_to_use() -> None:
    finding = check(
        "arn:aws:iam::111111111111:role/AWSReservedSSO_Admin_0123456789abcdef", directory_for
    )
    assert finding is not None and finding.status == "missing"
    assert finding.use == SSO
    assert "exists under another path" in finding.text()


def test_another_case_gets_the_arn_to_use() -> None:
    finding = check("arn:aws:iam::111111111111:user/Alice", directory_for)
    assert finding is not None and finding.status == "missing"
    assert finding.use == "arn:aws:iam::111111111111:user/alice"


def test_a_principal_that_does_not_exist() -> None:
    finding = check("arn:aws:iam::111111111111:role/ghost", directory_for)
    assert finding is not None and finding.status == "missing" and finding.use is None


def test_other_accounts_are_not_checked_and_patterns_are_skipped() -> None:
    finding = check("arn:aws:iam::222222222222:role/analytics", directory_for)
    assert finding is not None and finding.status == "not checked"
    assert check("arn:aws:iam::111111111111:role/*", directory_for) is None
    assert check("kibanaro", directory_for) is None


def test_plan_warnings_name_missing_principals_and_orphans() -> None:
    warnings = plan_warnings(
        [RoleMapping.of(backend_roles=["arn:aws:iam::111111111111:role/ghost"])],
        {"readall": RoleMapping.of(users=["arn:aws:iam::111111111111:user/departed"])},
        directory_for,
    )
    assert warnings == [
        "IAM: arn:aws:iam::111111111111:role/ghost: no such role in account 111111111111",
        "IAM: the mapping of 'readall' on the cluster names arn:aws:iam::111111111111:user/"
        "departed: no such user in account 111111111111 (an orphan)",
    ]
