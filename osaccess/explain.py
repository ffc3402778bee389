"""`osaccess explain`: who has access, and why.

For a principal: every mapping that matches it (field, pattern, what it matched), the resulting
roles, and what those roles allow. For a role: who holds it, through which entries. Works on a
live cluster or offline on a mapping file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from osaccess.arn import ArnKind, role_arn_for_session
from osaccess.matching import Caller, Match, pattern_kind, roles_of
from osaccess.model import FIELDS, RoleMapping
from osaccess.principals import field_for


@dataclass(frozen=True)
class Subject:
    """The principal as the security plugin would see it, and how we got there."""

    caller: Caller
    described: str
    notes: tuple[str, ...] = ()


def subject_for(
    principal: str, backend_roles: list[str] | None = None, host: str | None = None
) -> Subject:
    subject = _subject(principal.strip(), frozenset(backend_roles or ()))
    if host is None:
        return subject
    caller = Caller(subject.caller.user_name, subject.caller.backend_roles, host)
    return Subject(caller, subject.described, subject.notes)


def _subject(principal: str, extra: frozenset[str]) -> Subject:
    placement = field_for(principal)
    info = placement.info
    if placement.field == "backend_roles":
        return Subject(
            Caller(principal, frozenset({principal}) | extra),
            "IAM role: Amazon presents it with the role ARN as user name and as its "
            "only backend role",
        )
    if placement.field == "users":
        return Subject(
            Caller(principal, extra),
            "IAM user: Amazon presents it with the user ARN as user name and no backend roles",
        )
    if info.kind is ArnKind.ASSUMED_ROLE:
        role = role_arn_for_session(info)
        return Subject(
            Caller(role, frozenset({role}) | extra),
            "IAM role (from an STS session ARN)",
            (
                f"{principal} is an STS session; OpenSearch sees the role behind it, evaluated "
                f"here as {role}. If the role has a path (IAM Identity Center roles do: "
                "role/aws-reserved/sso.amazonaws.com/...), pass the full role ARN instead.",
            ),
        )
    return Subject(
        Caller(principal, extra), "user name" + (" with the given backend roles" if extra else "")
    )


@dataclass(frozen=True)
class Explanation:
    subject: Subject
    matches: Mapping[str, list[Match]]
    permissions: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""

    @property
    def roles(self) -> list[str]:
        return sorted(self.matches)

    def data(self) -> dict[str, Any]:
        return {
            "principal": self.subject.caller.user_name,
            "seen_as": {
                "user_name": self.subject.caller.user_name,
                "backend_roles": sorted(self.subject.caller.backend_roles),
                "kind": self.subject.described,
            },
            "source": self.source,
            "roles": self.roles,
            "matches": {
                role: [
                    {"field": m.field, "pattern": m.pattern, "matched": m.matched} for m in reasons
                ]
                for role, reasons in sorted(self.matches.items())
            },
            "permissions": {
                role: self.permissions[role] for role in self.roles if role in self.permissions
            },
            "notes": list(self.subject.notes),
        }


def explain(
    subject: Subject,
    mappings: Mapping[str, RoleMapping],
    definitions: Mapping[str, dict[str, Any]] | None = None,
    source: str = "",
) -> Explanation:
    matched = roles_of(mappings, subject.caller)
    permissions = {
        role: summarize(definitions[role])
        for role in matched
        if definitions and role in definitions
    }
    return Explanation(subject, matched, permissions, source)


def summarize(definition: Mapping[str, Any]) -> dict[str, Any]:
    """What a role allows, from the roles API."""
    return {
        "cluster_permissions": list(definition.get("cluster_permissions") or []),
        "index_permissions": [
            {
                "index_patterns": list(entry.get("index_patterns") or []),
                "allowed_actions": list(entry.get("allowed_actions") or []),
            }
            for entry in definition.get("index_permissions") or []
            if isinstance(entry, dict)
        ],
        "tenant_permissions": [
            {
                "tenant_patterns": list(entry.get("tenant_patterns") or []),
                "allowed_actions": list(entry.get("allowed_actions") or []),
            }
            for entry in definition.get("tenant_permissions") or []
            if isinstance(entry, dict)
        ],
    }


def render_explanation(explanation: Explanation) -> str:
    caller = explanation.subject.caller
    lines = [
        f"{caller.user_name}",
        f"  seen as: {explanation.subject.described}",
        f"  user name: {caller.user_name}",
        f"  backend roles: {', '.join(sorted(caller.backend_roles)) or '(none)'}",
        f"  from host: {caller.host or '(not given: hosts patterns are not evaluated; --host)'}",
    ]
    for note in explanation.subject.notes:
        lines.append(f"  note: {note}")
    if explanation.source:
        lines.append(f"  source: {explanation.source}")
    if not explanation.matches:
        lines.append("\nNo mapping matches: this principal holds no role through role mappings.")
        return "\n".join(lines) + "\n"
    lines.append(f"\nRoles: {', '.join(explanation.roles)}")
    for role in explanation.roles:
        lines.append(f"\n  {role}")
        for match in explanation.matches[role]:
            how = pattern_kind(match.pattern)
            lines.append(
                f"    via {match.field}: {match.pattern!r} ({how}) matches {match.matched!r}"
            )
        allowed = explanation.permissions.get(role)
        if allowed:
            lines += _permission_lines(allowed)
    return "\n".join(lines) + "\n"


def _permission_lines(allowed: Mapping[str, Any]) -> list[str]:
    lines = []
    if allowed["cluster_permissions"]:
        lines.append(f"    cluster: {', '.join(allowed['cluster_permissions'])}")
    for entry in allowed["index_permissions"]:
        lines.append(
            f"    indices {', '.join(entry['index_patterns'])}: "
            f"{', '.join(entry['allowed_actions'])}"
        )
    for entry in allowed["tenant_permissions"]:
        lines.append(
            f"    tenants {', '.join(entry['tenant_patterns'])}: "
            f"{', '.join(entry['allowed_actions'])}"
        )
    if len(lines) == 0:
        lines.append("    (no permissions)")
    return lines


def holders(role: str, mapping: RoleMapping | None) -> dict[str, Any]:
    """Who holds a role through its mapping: every entry, with what kind of value it is."""
    entries = []
    if mapping is not None:
        for name in FIELDS:
            for value in sorted(mapping.values(name)):
                how = pattern_kind(value)
                what = how if how != "exact" else (field_for(value).kind or "name")
                entries.append({"field": name, "value": value, "kind": what})
    return {
        "role": role,
        "mapped": mapping is not None,
        "entries": entries,
        "description": mapping.description if mapping else None,
    }


def render_holders(data: Mapping[str, Any]) -> str:
    if not data["mapped"]:
        return f"{data['role']}: no mapping, so nobody holds it through role mappings.\n"
    lines = [f"{data['role']}" + (f" — {data['description']}" if data["description"] else "")]
    if not data["entries"]:
        lines.append("  the mapping is empty: nobody holds it")
    for entry in data["entries"]:
        lines.append(f"  {entry['field']:<17} {entry['value']}   ({entry['kind']})")
    return "\n".join(lines) + "\n"
