"""The audit configuration (endpoint ``audit``): one document, ``config``, in the API's shape.

The file's ``audit:`` section is that document: ``enabled``, and the ``audit`` and
``compliance`` settings; what a one-document kind does (merge, ``_readonly``, import) is
:mod:`osaccess.kinds.document`. Clusters without the API (older versions, Amazon domains without
audit logs) are told apart from other failures when the state is read, and only a file that has
``audit:`` fails.
"""

from __future__ import annotations

from osaccess.file.format import Field, Section
from osaccess.kinds.document import Document, DocumentKind


def _strings(name: str, what: str) -> Field:
    return Field(name, "strings", what)


def _flag(name: str, what: str) -> Field:
    return Field(name, "boolean", what)


AUDIT_SETTINGS = Section(
    "in audit.audit",
    (
        _flag("enable_rest", "Log REST requests."),
        _strings("disabled_rest_categories", "REST categories not logged."),
        _flag("enable_transport", "Log transport requests."),
        _strings("disabled_transport_categories", "Transport categories not logged."),
        _flag("resolve_bulk_requests", "Log each document of a bulk request."),
        _flag("log_request_body", "Log request bodies."),
        _flag("resolve_indices", "Resolve index patterns and aliases in the log."),
        _flag("exclude_sensitive_headers", "Leave out headers such as Authorization."),
        _strings("ignore_users", "Users whose requests are not logged."),
        _strings("ignore_requests", "Requests (patterns) not logged."),
        _strings("ignore_headers", "Headers whose requests are not logged."),
        _strings("ignore_url_params", "URL parameters whose requests are not logged."),
    ),
)
COMPLIANCE_SETTINGS = Section(
    "in audit.compliance",
    (
        _flag("enabled", "Compliance logging."),
        _flag("internal_config", "Log changes to the security configuration."),
        _flag("external_config", "Log the node's configuration at start."),
        Field("read_watched_fields", "object", "Index pattern -> fields whose reads are logged."),
        _flag("read_metadata_only", "Log reads without the documents."),
        _strings("read_ignore_users", "Users whose reads are not logged."),
        _strings("write_watched_indices", "Indices whose writes are logged."),
        _flag("write_metadata_only", "Log writes without the documents."),
        _flag("write_log_diffs", "Log the difference a write makes."),
        _strings("write_ignore_users", "Users whose writes are not logged."),
    ),
)
AUDIT_SECTION = Section(
    "in audit",
    (
        _flag("enabled", "Audit logging on or off."),
        Field("audit", "section", "What is logged.", section=AUDIT_SETTINGS),
        Field("compliance", "section", "Compliance logging.", section=COMPLIANCE_SETTINGS),
    ),
)


class AuditConfig(Document):
    """The audit configuration document."""


class Audit(DocumentKind):
    name = "audit"
    section = "audit"
    endpoint = "audit"
    label = "audit configuration"
    include = "audit"
    order = 50  # depends on nothing
    model = AuditConfig
    entry = AUDIT_SECTION
    summary = "The audit configuration, in the shape of _plugins/_security/api/audit/config."
    spread = ("audit", "compliance")
    optional = True  # clusters without the API are told apart; only a file with audit: fails
    unavailable_hint = (
        "on Amazon OpenSearch Service, enable audit logs for the domain first (console: Logs, "
        "Audit logs; or UpdateDomainConfig with LogPublishingOptions AUDIT_LOGS), then manage "
        "them here; on other clusters, the version must have the endpoint and "
        "plugins.security.restapi.endpoints_disabled must not disable it; or remove the audit "
        "section from the file"
    )


AUDIT = Audit()
