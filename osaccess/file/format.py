"""The mapping-file format, described once: every section, key, type, choice and limit.

The loader (:mod:`osaccess.file.loader`) checks a file's shape against these definitions, and
the JSON Schema (`osaccess schema`, :func:`json_schema`) is generated from them, so the two
cannot drift.
What a schema cannot say (where an ARN belongs, STS sessions, duplicate keys, aliases) the loader
checks on top, with the same file:line:column reporting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# string, strings (a list of strings), number, integer, section (a mapping with known keys),
# roles (role name -> list of principals or a role section), entries (name -> section),
# items (a list of sections), query (a JSON object, written as YAML or as a JSON string)
# principals (a list of strings or sso sections), account (a 12-digit AWS account id, quoted or
# not), attributes (a mapping of names to strings), boolean, object (name -> strings)
Kind = Literal[
    "string",
    "strings",
    "number",
    "integer",
    "section",
    "roles",
    "entries",
    "items",
    "query",
    "principals",
    "account",
    "attributes",
    "boolean",
    "object",
]

AUTH_KINDS = ("aws", "basic", "cert", "none")  # how osaccess signs in to a cluster
MAX_VALUE_LENGTH = 256  # the security plugin's limit on strings (3.8+) and role names
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/"
URL_PATTERN = r"^https?://[^\s?#]+$"
# AWS: region names; STS session names and external ids (AssumeRole's own limits)
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"
SESSION_NAME_PATTERN = r"^[A-Za-z0-9_+=,.@-]{2,64}$"
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"
ROLE_NAME_PATTERN = r"^[^_/\s][^/]*$"


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    pattern: str | None = None  # a regular expression the value matches
    minimum: float | None = None
    maximum: float | None = None
    non_empty: bool = False  # strings: not blank; lists: at least one entry
    section: Section | None = None  # kind "section": its keys


@dataclass(frozen=True)
class Section:
    where: str  # how messages name it: "at the top level", "in 'cluster'"
    fields: tuple[Field, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def text_field(name: str, description: str, **more: Any) -> Field:
    return Field(name, "string", description, non_empty=True, **more)


CLUSTER = Section(
    "in 'cluster'",
    (
        text_field(
            "endpoint",
            "The cluster's URL (https://host[:port]).",
            required=True,
            pattern=URL_PATTERN,
        ),
        text_field(
            "auth",
            "aws: SigV4 (boto3 credentials); basic: cluster.username and OSACCESS_PASSWORD; "
            "cert: client_cert and client_key; none.",
            choices=AUTH_KINDS,
            default="aws",
        ),
        text_field(
            "region",
            "AWS region (default: from the endpoint, then the environment).",
            pattern=REGION_PATTERN,
        ),
        text_field("assume_role", "IAM role to assume for this cluster.", pattern=ROLE_ARN_PATTERN),
        text_field("external_id", "External id for assume_role.", pattern=EXTERNAL_ID_PATTERN),
        text_field(
            "session_name",
            "Session name for assume_role.",
            default="osaccess",
            pattern=SESSION_NAME_PATTERN,
        ),
        text_field("username", "User name for basic auth (the password: OSACCESS_PASSWORD)."),
        text_field("ca_certs", "CA bundle that signed the cluster's certificate."),
        text_field("client_cert", "Client certificate (PEM) for auth: cert."),
        text_field("client_key", "Client certificate key (PEM) for auth: cert."),
        Field(
            "account",
            "account",
            "The AWS account of the domain: the default account of sso entries (default: the "
            "account of the credentials osaccess signs with).",
        ),
        text_field(
            "domain",
            "The Amazon OpenSearch Service domain's name, to read its access policy (default: "
            "from a search-NAME-ID or vpc-NAME-ID endpoint).",
            pattern=r"^[a-z][a-z0-9-]{2,27}$",
        ),
        Field(
            "iam_lookup_roles",
            "strings",
            "Roles to assume to check IAM principals in other accounts (one per account).",
        ),
    ),
)

# IAM Identity Center permission set names: 1 to 32 of these characters
PERMISSION_SET_PATTERN = r"^[A-Za-z0-9+=,.@_-]{1,32}$"
ACCOUNT_PATTERN = r"^[0-9]{12}$"

SSO = Section(
    "in an sso entry",
    (
        text_field(
            "sso",
            "An IAM Identity Center permission set, by name: at plan time it resolves to the "
            "account's role aws-reserved/sso.amazonaws.com/[REGION/]"
            "AWSReservedSSO_<name>_<suffix>.",
            required=True,
            pattern=PERMISSION_SET_PATTERN,
        ),
        Field(
            "account",
            "account",
            "The AWS account of that role (default: cluster.account, else the account of the "
            "credentials osaccess signs with).",
        ),
    ),
)

THRESHOLDS = Section(
    "in 'thresholds'",
    (
        Field(
            "removal_percent",
            "number",
            "Refuse (without --force) removing more than this share of the managed principals.",
            minimum=0,
            maximum=100,
            default=25.0,
        ),
        Field(
            "removal_minimum",
            "integer",
            "... once the managed mappings hold at least this many principals.",
            minimum=0,
            maximum=10**9,
            default=8,
        ),
    ),
)

STATE = text_field(
    "state",
    "absent: the definition must not exist (osaccess deletes it)",
    choices=("present", "absent"),
    default="present",
)


# -- the JSON Schema ----------------------------------------------------------------------------

_VALUE = {"type": "string", "minLength": 1, "maxLength": MAX_VALUE_LENGTH}


def _field_schema(field: Field) -> dict[str, Any]:
    schema: dict[str, Any]
    if field.kind == "string":
        schema = {"type": "string"}
        if field.choices:
            schema = {"enum": list(field.choices)}
        elif field.non_empty:
            schema["minLength"] = 1
        if field.pattern:
            schema["pattern"] = field.pattern
    elif field.kind == "strings":
        schema = {"type": "array", "items": dict(_VALUE)}
        if field.non_empty:
            schema["minItems"] = 1
    elif field.kind in ("number", "integer"):
        schema = {"type": field.kind}
        if field.minimum is not None:
            schema["minimum"] = field.minimum
        if field.maximum is not None:
            schema["maximum"] = field.maximum
    elif field.kind == "section":
        assert field.section is not None
        schema = _section_schema(field.section)
    elif field.kind == "entries":
        assert field.section is not None
        schema = {
            "type": "object",
            "propertyNames": {"pattern": ROLE_NAME_PATTERN, "maxLength": MAX_VALUE_LENGTH},
            "additionalProperties": _section_schema(field.section),
        }
    elif field.kind == "items":
        assert field.section is not None
        schema = {"type": "array", "items": _section_schema(field.section)}
    elif field.kind == "principals":
        assert field.section is not None
        schema = {"type": "array", "items": _principal_schema(field.section)}
    elif field.kind == "account":
        schema = _ACCOUNT_SCHEMA
    elif field.kind == "boolean":
        schema = {"type": "boolean"}
    elif field.kind == "object":
        schema = {
            "type": "object",
            "additionalProperties": {"type": "array", "items": dict(_VALUE)},
        }
    elif field.kind == "attributes":
        schema = {"type": "object", "additionalProperties": {"type": "string"}}
    elif field.kind == "query":
        schema = {"oneOf": [{"type": "object"}, {"type": "string", "pattern": r"^\s*\{"}]}
    else:  # roles
        assert field.section is not None
        schema = {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": ROLE_NAME_PATTERN, "maxLength": MAX_VALUE_LENGTH},
            "additionalProperties": {
                "oneOf": [
                    {
                        "type": "array",
                        "items": _principal_schema(field.section.field("principals").section),
                        "minItems": 1,
                    },
                    _section_schema(field.section),
                ]
            },
        }
    schema["description"] = field.description
    if field.default is not None:
        schema["default"] = field.default
    return schema


_ACCOUNT_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "pattern": ACCOUNT_PATTERN},
        {"type": "integer", "minimum": 10**11, "maximum": 10**12 - 1},
    ]
}


def _principal_schema(sso: Section | None) -> dict[str, Any]:
    assert sso is not None
    return {"oneOf": [dict(_VALUE), _section_schema(sso)]}


def _section_schema(section: Section) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: _field_schema(f) for f in section.fields},
    }
    required = [f.name for f in section.fields if f.required]
    if required:
        schema["required"] = required
    return schema


def section_schema(section: Section) -> dict[str, Any]:
    """The JSON Schema of one section (the whole file's is in :mod:`osaccess.file.layout`)."""
    return _section_schema(section)
