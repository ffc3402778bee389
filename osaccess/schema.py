"""The JSON Schema of mapping files, for editors (yaml-language-server) and CI.

It describes the shape; `osaccess validate` also checks what a schema cannot (ARN placement,
STS sessions, duplicate keys, ...).
"""

from __future__ import annotations

from typing import Any

from osaccess.config import AUTH_KINDS, MAX_VALUE_LENGTH
from osaccess.model import FIELDS


def mapping_file_schema() -> dict[str, Any]:
    value = {"type": "string", "minLength": 1, "maxLength": MAX_VALUE_LENGTH}
    values = {"type": "array", "items": value}
    role_full = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "principals": {
                **values,
                "description": "IAM user and role ARNs, placed "
                "automatically: users -> users, roles -> backend_roles",
            },
            **{name: {**values, "description": f"explicit {name} values"} for name in FIELDS},
            "description": {"type": "string"},
            "ownership": {
                "enum": ["exclusive", "shared"],
                "default": "exclusive",
                "description": "exclusive: the file is the whole truth for the role; "
                "shared: only add, never remove others' principals",
            },
            "state": {"enum": ["present", "absent"], "default": "present"},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "osaccess mapping file",
        "description": "Which principals hold which OpenSearch security roles, on one cluster.",
        "type": "object",
        "additionalProperties": False,
        "required": ["cluster", "roles"],
        "properties": {
            "cluster": {
                "type": "object",
                "additionalProperties": False,
                "required": ["endpoint"],
                "properties": {
                    "endpoint": {"type": "string", "pattern": "^https?://"},
                    "auth": {"enum": list(AUTH_KINDS), "default": "aws"},
                    "region": {"type": "string"},
                    "assume_role": {
                        "type": "string",
                        "pattern": "^arn:aws[a-z-]*:iam::\\d{12}:role/",
                    },
                    "external_id": {"type": "string"},
                    "session_name": {"type": "string"},
                    "username": {"type": "string"},
                    "ca_certs": {"type": "string"},
                    "client_cert": {"type": "string"},
                    "client_key": {"type": "string"},
                },
            },
            "roles": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": "^[^_/\\s][^/]*$", "maxLength": MAX_VALUE_LENGTH},
                "additionalProperties": {"oneOf": [{**values, "minItems": 1}, role_full]},
            },
            "protect": {**values, "description": "principals never removed from any mapping"},
            "admin_roles": {
                **values,
                "minItems": 1,
                "description": "roles that grant the security REST API (lockout guard)",
            },
            "thresholds": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "removal_percent": {"type": "number", "minimum": 0, "maximum": 100},
                    "removal_minimum": {"type": "integer", "minimum": 0},
                },
            },
        },
    }
