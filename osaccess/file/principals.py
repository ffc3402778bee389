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

from osaccess.aws.arn import ArnInfo, ArnKind, classify

MAX_VALUE_LENGTH = 256  # the security plugin's limit on strings (3.8+) and role names
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    from osaccess.access.matching import pattern_kind

    return field_for(value).field is not None and pattern_kind(value) == "exact"


def value_problem(value: str) -> str | None:
    """Why no mapping could hold this value as it is (None: it can)."""
    if not value or value != value.strip() or CONTROL.search(value):
        return "white space or control characters"
    if len(value) > MAX_VALUE_LENGTH:
        return f"longer than {MAX_VALUE_LENGTH} characters"
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
