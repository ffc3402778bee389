"""Which field a value belongs in, and which values a mapping may hold at all.

The one rule of placement, used by the loader, `import` and `explain`: Amazon OpenSearch Service
presents an IAM user by its user ARN as the user name (so it belongs in ``users``) and an IAM
role by its role ARN, path included, as a backend role (so it belongs in ``backend_roles``).
Other ARNs (STS sessions, groups, account roots) never reach OpenSearch. A value that is not an
ARN (an internal user, an LDAP group, a host) may stand in any field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from yaml.nodes import MappingNode, Node, ScalarNode

from osaccess.file.arn import ArnInfo, ArnKind, classify, role_arn_for_session
from osaccess.file.format import MAX_VALUE_LENGTH, PERMISSION_SET_PATTERN, SSO
from osaccess.file.source import CONTROL, YAML_STR, describe

if TYPE_CHECKING:
    from osaccess.file.reader import Reader


@dataclass(frozen=True)
class Placement:
    field: str | None  # "users" or "backend_roles" for IAM principals; None otherwise
    info: ArnInfo

    @property
    def is_arn(self) -> bool:
        return self.info.kind is not ArnKind.NOT_AN_ARN

    @property
    def kind(self) -> str | None:
        """What the value is, when it is an ARN (``"IAM user"``, ``"STS assumed-role session"``)."""
        return self.info.kind.value if self.is_arn else None


def field_for(value: str) -> Placement:
    """Where OpenSearch sees this value, if it is an IAM principal."""
    info = classify(value)
    field = {ArnKind.IAM_USER: "users", ArnKind.IAM_ROLE: "backend_roles"}.get(info.kind)
    return Placement(field, info)


def one_iam_principal(value: str) -> bool:
    """The value names exactly one IAM user or role (an ARN, not a wildcard or regex pattern):
    what IAM and a domain policy can say something about."""
    from osaccess.plugin.matching import pattern_kind

    return field_for(value).field is not None and pattern_kind(value) == "exact"


def value_problem(value: str) -> str | None:
    """Why no mapping could hold this value as it is (None: it can)."""
    if not value or value != value.strip() or CONTROL.search(value):
        return "white space or control characters"
    if len(value) > MAX_VALUE_LENGTH:
        return f"longer than {MAX_VALUE_LENGTH} characters"
    return None


def unusable(field_name: str, value: str) -> str | None:
    """Why a mapping file could not hold this live value in this field (None: it can)."""
    return value_problem(value) or (None if field_name == "hosts" else misplaced(field_name, value))


def misplaced(field_name: str, value: str) -> str | None:
    """Why a value in this field never matches (an IAM ARN where Amazon never presents it)."""
    placed = field_for(value)
    if placed.field is None and placed.kind is None:
        return None  # not an ARN: any field may hold it
    if placed.field is None:
        return f"an {placed.kind}, which OpenSearch never sees"
    if placed.field == "users" and field_name != "users":
        return "an IAM user ARN as a backend role never matches"
    if placed.field == "backend_roles" and field_name == "users":
        return "an IAM role ARN as a user name never matches"
    return None


def role_name_problem(name: str) -> str | None:
    """Why the security API would reject (or mishandle) a role name, or None."""
    if not name.strip():
        return "it is empty"
    if name != name.strip():
        return "it has leading or trailing white space"
    if name.startswith("_"):
        return "names starting with '_' are reserved by the security plugin"
    if CONTROL.search(name):
        return "it contains control characters"
    if len(name) > MAX_VALUE_LENGTH:
        return f"it is longer than {MAX_VALUE_LENGTH} characters"
    if "/" in name:
        return "it contains '/', which the role API cannot address"
    return None


@dataclass(frozen=True)
class SsoRef:
    """An IAM Identity Center permission set named in a file (``sso: Name``): at plan time it
    becomes the account's AWSReservedSSO_<Name>_<suffix> role ARN, a backend role."""

    permission_set: str
    account: str | None = None  # None: the account of the credentials
    location: str = ""  # file:line

    @property
    def label(self) -> str:
        return f"sso: {self.permission_set}" + (
            f" (account {self.account})" if self.account else ""
        )


# -- reading principals (the rule above, with file:line:column and the fix) ----------------------

Collected = dict[str, list[tuple[str, Node]]]


def read_principals(reader: Reader, node: Node, collected: Collected, sso: list[SsoRef]) -> None:
    """A `principals` list: ARNs placed by the rule, `sso:` entries collected."""

    def permission_set(item: MappingNode) -> None:
        ref = read_sso(reader, item)
        if ref is None:
            return
        if any((r.permission_set, r.account) == (ref.permission_set, ref.account) for r in sso):
            reader.warn(item, f"{ref.label} is listed twice", "remove one")
        else:
            sso.append(ref)

    for value, item in reader.items(node, "principals", permission_set):
        placement = field_for(value)
        info = placement.info
        if placement.field is not None:
            collected[placement.field].append((value, item))
            sso_path(reader, value, info, item)
        elif not placement.is_arn:
            reader.error(
                item,
                f"{value!r} is not an IAM ARN; 'principals' places IAM user and role ARNs only",
                f"put it under users (a user name) or "
                f"backend_roles (a backend role): users: [{value}]",
            )
        else:
            bad_arn(reader, value, info, item)
        if value == "*":
            everyone(reader, item, "principals")


def read_sso(reader: Reader, node: MappingNode) -> SsoRef | None:
    """``{sso: PermissionSet, account: "111111111111"}``: an IAM Identity Center role."""
    keys = reader.keys(node, SSO)
    if "sso" not in keys:
        reader.error(
            node,
            "a mapping among principals must name a permission set: {sso: Name}",
            "write - sso: AdminAccess (optionally with account: '111111111111'), or an ARN",
        )
        return None
    name = reader.choice(keys["sso"], SSO.field("sso"), "sso")
    if name is not None and not re.match(PERMISSION_SET_PATTERN, name):
        reader.error(
            keys["sso"],
            f"sso {name!r} is not a permission set name",
            "write the permission set's name as IAM Identity Center shows it "
            "(1 to 32 letters, digits and +=,.@_-)",
        )
        name = None
    account = None
    if "account" in keys:
        account = reader.account(keys["account"], "account")
        if account is None:
            return None
    if name is None:
        return None
    return SsoRef(name, account, f"{reader.path}:{node.start_mark.line + 1}")


def read_explicit(reader: Reader, field_name: str, node: Node, collected: Collected) -> None:
    for value, item in reader.items(node, field_name):
        collected[field_name].append((value, item))
        if value == "*":
            everyone(reader, item, field_name)
        if field_name == "hosts":
            continue
        placement = field_for(value)
        info = placement.info
        if not placement.is_arn:
            continue
        if placement.field == "users" and field_name != "users":
            reader.error(
                item,
                f"{value!r} is an IAM user ARN under {field_name}; OpenSearch "
                "sees IAM users as user names, never as backend roles",
                "move it to users (or to principals, which places it)",
            )
        elif placement.field == "backend_roles" and field_name == "users":
            reader.error(
                item,
                f"{value!r} is an IAM role ARN under users; OpenSearch sees "
                "IAM roles as backend roles",
                "move it to backend_roles (or to principals, which places it)",
            )
        elif placement.field == "backend_roles":
            sso_path(reader, value, info, item)
        elif placement.field is None:
            bad_arn(reader, value, info, item)


def bad_arn(reader: Reader, value: str, info: ArnInfo, item: Node) -> None:
    if info.kind is ArnKind.ASSUMED_ROLE:
        reader.error(
            item,
            f"{value!r} is an STS session, which OpenSearch never sees: "
            "Amazon presents the IAM role itself",
            f"map the role instead, probably {role_arn_for_session(info)} — with its "
            "path if it has one (check with `aws iam get-role`)",
        )
    elif info.kind is ArnKind.IAM_GROUP:
        reader.error(
            item,
            f"{value!r} is an IAM group; groups cannot sign requests, so "
            "OpenSearch never sees them",
            "map the group's users or a role they assume",
        )
    elif info.kind is ArnKind.ACCOUNT_ROOT:
        reader.error(
            item,
            f"{value!r} is an account root, which does not name a principal OpenSearch sees",
            "map the IAM users or roles of that account",
        )
    elif info.kind is ArnKind.FEDERATED_USER:
        reader.error(
            item,
            f"{value!r} is an STS federated user session",
            "map the IAM user or role behind it",
        )
    else:
        reader.error(
            item,
            f"{value!r} is a malformed or unsupported ARN: {info.problem}",
            "IAM ARNs look like arn:aws:iam::123456789012:role/name or "
            "arn:aws:iam::123456789012:user/name",
        )


def sso_path(reader: Reader, value: str, info: ArnInfo, item: Node) -> None:
    if info.is_sso_role_without_path:
        reader.warn(
            item,
            f"{value!r} is an IAM Identity Center role without its path; "
            "OpenSearch sees arn:aws:iam::<account>:role/aws-reserved/"
            "sso.amazonaws.com/<region>/AWSReservedSSO_..., so this will match "
            "nobody",
            f"copy the role's full ARN from `aws iam get-role --role-name {info.name}`",
        )


def everyone(reader: Reader, item: Node, field_name: str) -> None:
    reader.warn(
        item,
        f"'*' in {field_name} grants the role to everyone who can authenticate",
        "list principals explicitly unless that is intended",
    )


def repeated(reader: Reader, role: str, collected: Collected) -> None:
    """A value listed twice in one field of a role: a warning, since it is harmless."""
    for field_name, values in collected.items():
        seen: set[str] = set()
        for value, item in values:
            if value in seen:
                reader.warn(
                    item,
                    f"{value!r} is listed twice in role {role!r} ({field_name})",
                    "remove the repetition",
                )
            seen.add(value)


def entity_name(reader: Reader, key: Node, label: str, fix: str = "use a plain name") -> str | None:
    """The name of a role, mapping or other entry: a string the security API can address."""
    if not isinstance(key, ScalarNode) or key.tag != YAML_STR:
        reader.error(key, f"a {label} name must be a string, not {describe(key)}", "quote it")
        return None
    name = str(key.value)
    problem = role_name_problem(name)
    if problem:
        reader.error(key, f"{label} name {name!r}: {problem}", fix)
        return None
    return name
