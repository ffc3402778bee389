"""What an ARN names, as far as OpenSearch role mappings care.

Amazon OpenSearch Service presents an IAM user as its user ARN (a user name) and an IAM role as its
role ARN (user name and single backend role) — never the STS session ARN, and always with the role
path. Groups and account roots never sign requests.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

_PARTITION = r"aws(?:-[a-z]+)*"
_ACCOUNT = r"[0-9]{12}"
# IAM names: ASCII letters, digits and +=,.@_- ; paths are /-separated segments of the same.
# Wildcards (* and ?) are allowed because mapping values are patterns. (Not \w, which also
# matches Cyrillic and other letters that IAM refuses and that look like Latin ones.)
_NAME = r"[A-Za-z0-9_+=,.@*?-]+"
_NAME_CHAR = re.compile(r"[A-Za-z0-9_+=,.@*?/-]")
_IAM = re.compile(
    rf"^arn:(?P<partition>{_PARTITION}):iam::(?P<account>{_ACCOUNT}):"
    rf"(?P<type>user|role|group)/(?P<path>(?:{_NAME}/)*)(?P<name>{_NAME})$"
)
_ROOT = re.compile(rf"^arn:{_PARTITION}:iam::{_ACCOUNT}:root$")
_ASSUMED = re.compile(
    rf"^arn:(?P<partition>{_PARTITION}):sts::(?P<account>{_ACCOUNT}):"
    rf"assumed-role/(?P<role>{_NAME})/(?P<session>[^/\s]+)$"
)
_FEDERATED = re.compile(rf"^arn:{_PARTITION}:sts::{_ACCOUNT}:federated-user/")
SSO_PATH = "aws-reserved/sso.amazonaws.com/"
MAX_NAME = 64  # IAM user and role names
MAX_PATH = 512  # IAM paths, counted with their leading and trailing '/'


class ArnKind(Enum):
    NOT_AN_ARN = "not an ARN"
    IAM_USER = "IAM user"
    IAM_ROLE = "IAM role"
    IAM_GROUP = "IAM group"
    ACCOUNT_ROOT = "account root"
    ASSUMED_ROLE = "STS assumed-role session"
    FEDERATED_USER = "STS federated user"
    MALFORMED = "malformed ARN"
    OTHER = "ARN of another service"


@dataclass(frozen=True)
class ArnInfo:
    kind: ArnKind
    account: str | None = None
    name: str | None = None
    path: str = ""
    problem: str | None = None  # why a MALFORMED ARN is malformed

    @property
    def is_sso_role_without_path(self) -> bool:
        return (
            self.kind is ArnKind.IAM_ROLE
            and (self.name or "").startswith("AWSReservedSSO_")
            and not self.path.startswith(SSO_PATH)
        )


def classify(value: str) -> ArnInfo:
    if not value.startswith("arn:"):
        return ArnInfo(ArnKind.NOT_AN_ARN)
    match = _IAM.match(value)
    if match and len(match["name"]) > MAX_NAME:
        return ArnInfo(
            ArnKind.MALFORMED,
            problem=f"IAM {match['type']} names are at most {MAX_NAME} characters "
            f"({match['name'][:20]}... has {len(match['name'])})",
        )
    if match and len(match["path"]) + 1 > MAX_PATH:
        return ArnInfo(
            ArnKind.MALFORMED,
            problem=f"IAM paths are at most {MAX_PATH} characters (this one has "
            f"{len(match['path']) + 1})",
        )
    if match:
        kind = {"user": ArnKind.IAM_USER, "role": ArnKind.IAM_ROLE, "group": ArnKind.IAM_GROUP}[
            match["type"]
        ]
        return ArnInfo(kind, match["account"], match["name"], match["path"])
    if _ROOT.match(value):
        return ArnInfo(ArnKind.ACCOUNT_ROOT)
    match = _ASSUMED.match(value)
    if match:
        return ArnInfo(ArnKind.ASSUMED_ROLE, match["account"], match["role"])
    if _FEDERATED.match(value):
        return ArnInfo(ArnKind.FEDERATED_USER)
    return ArnInfo(
        ArnKind.MALFORMED if _looks_iam(value) else ArnKind.OTHER, problem=_diagnose(value)
    )


def _looks_iam(value: str) -> bool:
    parts = value.split(":")
    return (
        len(parts) < 6 or parts[2] in ("iam", "sts", "") or not re.fullmatch(_PARTITION, parts[1])
    )


def _diagnose(value: str) -> str:
    parts = value.split(":", 5)
    if len(parts) < 6:
        return "an ARN has six ':'-separated parts: arn:aws:iam::<12-digit account>:<type>/<name>"
    _, partition, service, region, account, resource = parts
    if not re.fullmatch(_PARTITION, partition):
        return f"unknown partition {partition!r} (expected aws, aws-cn or aws-us-gov)"
    if service in ("iam", "sts") and region:
        return f"{service} ARNs have no region (found {region!r})"
    if not re.fullmatch(_ACCOUNT, account):
        return f"the account must be 12 digits (found {account!r})"
    if service == "iam":
        kind = resource.split("/", 1)[0]
        if kind not in ("user", "role", "group", "root"):
            return f"unknown IAM resource type {kind!r} (expected user/... or role/...)"
        if re.search(r"\s", resource):
            return "the name contains white space"
        odd = next((c for c in resource.split("/", 1)[-1] if not _NAME_CHAR.match(c)), None)
        if odd is not None:
            described = unicodedata.name(odd, "").lower() or "a character"
            return (
                f"the name contains {odd!r} (U+{ord(odd):04X}, {described}), which IAM does "
                "not allow: IAM names are ASCII letters, digits and +=,.@_-; retype it"
            )
        return "the name or path contains characters IAM does not allow"
    if service == "sts":
        return "STS ARNs name sessions (assumed-role/ROLE/SESSION), not principals"
    return f"{service!r} ARNs do not sign requests to OpenSearch"


def role_arn_for_session(info: ArnInfo, partition: str = "aws") -> str:
    """The IAM role ARN an assumed-role session most likely stands for (its path is unknown)."""
    return f"arn:{partition}:iam::{info.account}:role/{info.name}"
