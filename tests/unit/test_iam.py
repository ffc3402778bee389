"""Checking IAM principals: exact ARNs exist; another path or case gets the ARN to use; other
accounts are not checked; patterns name no single principal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from osaccess.aws.iam import (
    Directory,
    check,
    permission_set_of,
    plan_warnings,
    resolve_file,
    resolve_sso,
)
from osaccess.errors import ConfigError, PlanError
from osaccess.file.principals import SsoRef
from osaccess.kinds.mappings import RoleMapping
from osaccess.model import ClusterSpec, MappingFile
from tests.unit.states import mapping as mapping_entry
from tests.unit.states import roles as roles_of

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

    def expect(self, kind: str, count: int) -> None:
        pass


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


# -- IAM Identity Center permission sets by name ---------------------------------------------

SSO_BASE = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/"


class SsoDirectory:
    def __init__(self, *arns: str) -> None:
        self.roles = list(arns)

    def find(self, kind: str, name: str) -> str | None:
        return next((a for a in self.roles if a.rsplit("/", 1)[-1] == name), None)

    def arns(self, kind: str) -> list[str]:
        return self.roles if kind == "role" else []

    def sso_roles(self) -> list[str]:
        return [
            a for a in self.roles if "/aws-reserved/sso.amazonaws.com/" in a.replace(":role", ":")
        ]

    def expect(self, kind: str, count: int) -> None:
        pass


def test_permission_set_of_parses_identity_center_role_arns() -> None:
    assert permission_set_of(SSO_BASE + "eu-west-1/AWSReservedSSO_Admin_Read_0a1b") == "Admin_Read"
    assert permission_set_of(SSO_BASE + "AWSReservedSSO_Admin_0a1b") == "Admin"
    assert permission_set_of("arn:aws:iam::111111111111:role/AWSReservedSSO_Admin_0a1b") is None
    assert permission_set_of(SSO_BASE + "eu-west-1/Admin_0a1b") is None


def test_one_role_resolves() -> None:
    admin = SSO_BASE + "eu-west-1/AWSReservedSSO_Admin_0a1b2c"
    directory = SsoDirectory(admin, SSO_BASE + "eu-west-1/AWSReservedSSO_AdminRead_3d4e")
    assert resolve_sso(SsoRef("Admin"), "111111111111", directory) == admin


def test_none_lists_the_permission_sets_of_the_account() -> None:
    directory = SsoDirectory(SSO_BASE + "eu-west-1/AWSReservedSSO_ReadOnly_3d4e")
    with pytest.raises(ConfigError) as raised:
        resolve_sso(SsoRef("Admin", location="f.yaml:7"), "111111111111", directory)
    assert raised.value.message.startswith("f.yaml:7: sso: Admin: no IAM Identity Center role")
    assert raised.value.hint == "permission sets with a role in account 111111111111: ReadOnly"
    with pytest.raises(ConfigError) as raised:
        resolve_sso(SsoRef("readonly"), "111111111111", directory)
    assert raised.value.hint == "the name differs in case: write sso: ReadOnly"


def test_several_is_ambiguous_and_lists_them() -> None:
    old, new = (
        SSO_BASE + "AWSReservedSSO_Support_1a",
        SSO_BASE + "eu-west-1/AWSReservedSSO_Support_2b",
    )
    with pytest.raises(ConfigError) as raised:
        resolve_sso(SsoRef("Support"), "111111111111", SsoDirectory(old, new))
    assert (
        "2 IAM Identity Center roles of account 111111111111 have this permission set: "
        f"{old}, {new}" in raised.value.message
    )


def test_resolve_file_adds_backend_roles_and_names_them() -> None:
    admin = SSO_BASE + "eu-west-1/AWSReservedSSO_Admin_0a1b2c"
    file = MappingFile(
        "f.yaml",
        ClusterSpec("https://x"),
        (mapping_entry("all_access", RoleMapping.of(users=["u"]), sso=(SsoRef("Admin"),)),),
    )
    resolved, names = resolve_file(file, lambda _: SsoDirectory(admin), "111111111111")
    assert roles_of(resolved)[0].mapping.backend_roles == {admin}
    assert roles_of(resolved)[0].sso == () and names == {admin: "sso: Admin"}
    with pytest.raises(PlanError) as raised:
        resolve_file(file, lambda _: "no access", "111111111111")
    assert "cannot list the roles of account 111111111111 (no access)" in raised.value.problems[0]


def test_a_case_insensitive_lookup_says_the_case_differs() -> None:
    """IAM's GetRole finds a role whatever the case of the name asked for."""

    class CaseBlind:
        def find(self, kind: str, name: str) -> str | None:
            return "arn:aws:iam::111111111111:role/Deployer" if name.lower() == "deployer" else None

        def arns(self, kind: str) -> list[str]:
            return ["arn:aws:iam::111111111111:role/Deployer"]

        def sso_roles(self) -> list[str]:
            return []

        def expect(self, kind: str, count: int) -> None:
            pass

    finding = check("arn:aws:iam::111111111111:role/deployer", lambda _: CaseBlind())
    assert finding is not None and finding.use == "arn:aws:iam::111111111111:role/Deployer"
    assert finding.message.endswith("a role named Deployer exists with its name in another case")
    moved = check("arn:aws:iam::111111111111:role/ci/deployer", lambda _: CaseBlind())
    assert moved is not None
    assert moved.message.endswith("under another path and with its name in another case")


# -- the IAM calls of a large file -------------------------------------------------------------


class FakeIam:
    """An IAM client with ``users`` and ``roles`` (ARNs), case-blind like IAM, that counts its
    calls; ``throttled`` makes every call fail as a throttled account does after the retries."""

    def __init__(self, users: list[str], roles: list[str], throttled: bool = False) -> None:
        self.users, self.roles, self.throttled = users, roles, throttled
        self.calls: list[str] = []

    def _called(self, name: str) -> None:
        self.calls.append(name)
        if self.throttled:
            from botocore.exceptions import ClientError

            error = {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}
            raise ClientError(error, name)  # type: ignore[arg-type]

    def _get(self, arns: list[str], name: str, key: str, operation: str) -> dict[str, object]:
        self._called(operation)
        for arn in arns:
            if arn.rsplit("/", 1)[-1].lower() == name.lower():
                return {key: {"Arn": arn}}
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "NoSuchEntity", "Message": ""}}, operation)  # type: ignore[arg-type]

    def get_user(self, UserName: str) -> dict[str, object]:
        return self._get(self.users, UserName, "User", "GetUser")

    def get_role(self, RoleName: str) -> dict[str, object]:
        return self._get(self.roles, RoleName, "Role", "GetRole")

    def get_paginator(self, operation: str) -> object:
        iam = self

        class Paginator:
            def paginate(self, PaginationConfig: dict[str, int], **_: str) -> list[object]:
                size = PaginationConfig["PageSize"]
                arns, key = (
                    (iam.roles, "Roles") if operation == "list_roles" else (iam.users, "Users")
                )
                pages = []
                for start in range(0, max(1, len(arns)), size):
                    iam._called(operation)
                    pages.append({key: [{"Arn": a} for a in arns[start : start + size]]})
                return pages

        return Paginator()


USERS = [f"arn:aws:iam::111111111111:user/u{i}" for i in range(2500)]


def directory_of(iam: FakeIam) -> Callable[[str], Directory | str]:
    from osaccess.aws.iam import BotoDirectory

    directory = BotoDirectory(iam)  # one per account and run, as AwsDirectories keeps them
    return lambda _: directory


def mappings_naming(values: list[str]) -> list[RoleMapping]:
    return [RoleMapping.of(users=values[i : i + 20]) for i in range(0, len(values), 20)]


def test_a_large_file_lists_the_account_once_instead_of_a_call_per_principal() -> None:

    iam = FakeIam(USERS[:1000], [])  # an account of 1,000 users
    wanted = [*USERS[:1000], "arn:aws:iam::111111111111:user/ghost", USERS[5].replace("u5", "U5")]
    lines = plan_warnings(mappings_naming(wanted), {}, directory_of(iam))
    assert iam.calls == ["list_users"]  # one page of 1,000... and no GetUser at all
    assert len(iam.calls) <= 10
    # the findings are the ones exact lookups give: a missing user, another case
    assert lines == [
        "IAM: arn:aws:iam::111111111111:user/U5: no such user; a user named u5 exists with its "
        "name in another case; use arn:aws:iam::111111111111:user/u5",
        "IAM: arn:aws:iam::111111111111:user/ghost: no such user in account 111111111111",
    ]


def test_listing_pages_grow_with_the_account_not_the_file() -> None:

    iam = FakeIam(USERS, [])
    plan_warnings(mappings_naming(USERS), {}, directory_of(iam))
    assert iam.calls == ["list_users"] * 3  # 2,500 users: three pages of 1,000


def test_orphans_on_the_cluster_are_looked_up_with_the_file_not_mapping_by_mapping() -> None:

    iam = FakeIam(USERS[:1000], [])
    live = {
        f"r{i}": m
        for i, m in enumerate(
            mappings_naming([*USERS[:400], "arn:aws:iam::111111111111:user/gone"])
        )
    }
    lines = plan_warnings([], live, directory_of(iam))
    assert iam.calls == ["list_users"]
    assert lines == [
        "IAM: the mapping of 'r20' on the cluster names arn:aws:iam::111111111111:user/gone: "
        "no such user in account 111111111111 (an orphan)"
    ]


def test_a_small_file_keeps_exact_lookups() -> None:

    iam = FakeIam(USERS, [])
    plan_warnings(mappings_naming(USERS[:3]), {}, directory_of(iam))
    assert iam.calls == ["GetUser"] * 3


def test_an_account_that_stays_throttled_is_not_checked_never_an_error() -> None:
    from osaccess.aws.iam import BotoDirectory

    iam = FakeIam(USERS, [], throttled=True)
    directory = BotoDirectory(iam)
    findings = [check(arn, lambda _: directory) for arn in USERS[:3]]
    assert all(f is not None and f.status == "not checked" for f in findings)
    assert findings[0] is not None
    assert findings[0].message.endswith("not checked (IAM could not be read: Throttling)")
    assert iam.calls == ["GetUser"]  # the account is given up after the first failure
    assert plan_warnings(mappings_naming(USERS[:50]), {}, directory_of(iam)) == []


def test_aws_calls_retry_throttling_with_botocores_own_retry_mode() -> None:
    from osaccess.aws.session import retry_config

    assert retry_config({}).retries == {"mode": "standard", "total_max_attempts": 5}
    chosen = retry_config({"AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "8"})
    assert chosen.retries == {"mode": "adaptive", "total_max_attempts": 8}


def test_an_unreachable_aws_endpoint_is_named_in_the_error() -> None:
    from botocore.exceptions import EndpointConnectionError

    from osaccess.aws.session import describe_failure

    failure = EndpointConnectionError(endpoint_url="https://sts.eu-west-1.amazonaws.com/")
    assert describe_failure(failure) == (
        "EndpointConnectionError: could not reach https://sts.eu-west-1.amazonaws.com/"
    )
