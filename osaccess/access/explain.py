"""`osaccess explain`: who has access, and why.

For a principal: every mapping that matches it (field, pattern, what it matched), the resulting
roles, and what those roles allow. For a role: who holds it, through which entries. Works on a
live cluster or offline on a mapping file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from osaccess.access.caveats import notes
from osaccess.access.permissions import Evaluator, Permissions, internal_caller
from osaccess.access.state import ResolvedPrincipal
from osaccess.aws.domainpolicy import Verdict
from osaccess.file.principals import field_for
from osaccess.kinds.action_groups import ActionGroup
from osaccess.kinds.internal_users import InternalUser
from osaccess.kinds.mappings import FIELDS, RoleMapping
from osaccess.kinds.roles import RoleDefinition
from osaccess.plugin.matching import DIRECT, Match, pattern_kind, roles_of, why


@dataclass(frozen=True)
class Explanation:
    subject: ResolvedPrincipal
    matches: Mapping[str, list[Match]]
    permissions: Permissions | None = None  # None: the role definitions were not known
    source: str = ""
    domain: Verdict | None = None  # what the domain's access policy does (Amazon, live only)
    # what the node makes of the permissions (the bulk rule, filled-in patterns, combined DLS/FLS)
    findings: tuple[str, ...] = ()

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
                "internal_user": self.subject.caller.internal,
                "roles_held_directly": sorted(self.subject.caller.roles),
                "attributes": dict(self.subject.caller.attributes),
            },
            "source": self.source,
            "roles": self.roles,
            "matches": {
                role: [
                    {"field": m.field, "pattern": m.pattern, "matched": m.matched} for m in reasons
                ]
                for role, reasons in sorted(self.matches.items())
            },
            "permissions": self.permissions.data() if self.permissions else None,
            "notes": list(self.subject.notes),
            "findings": list(self.findings),
            "domain_access_policy": None
            if self.domain is None
            else {
                "status": self.domain.status,
                "refused": self.domain.refused,
                "detail": self.domain.detail,
                "text": self.domain.text("this principal"),
            },
        }


def explain(
    subject: ResolvedPrincipal,
    mappings: Mapping[str, RoleMapping],
    definitions: Mapping[str, RoleDefinition] | None = None,
    groups: Mapping[str, ActionGroup] | None = None,
    source: str = "",
) -> Explanation:
    """The roles a principal holds and why, and (when the definitions are known) what it may
    do through them, with the role and action groups behind each grant."""
    matched = roles_of(mappings, subject.caller)  # an internal user's direct roles included
    permissions = None
    findings: tuple[str, ...] = ()
    if definitions is not None:
        evaluator = Evaluator(mappings, definitions, groups if groups is not None else {})
        permissions = evaluator.for_roles(matched)
        findings = tuple(notes(permissions, subject.caller))
    return Explanation(subject, matched, permissions, source, findings=findings)


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
    lines += _domain_lines(explanation)
    if caller.attributes:
        shown = ", ".join(f"{k}={v}" for k, v in caller.attributes)
        lines.insert(4, f"  attributes: {shown}")
    if not explanation.matches:
        what = "role mappings or directly" if caller.internal else "role mappings"
        lines.append(f"\nNo mapping matches: this principal holds no role through {what}.")
        return "\n".join(lines) + "\n"
    lines.append(f"\nRoles: {', '.join(explanation.roles)}")
    for role in explanation.roles:
        lines.append(f"\n  {role}")
        for match in explanation.matches[role]:
            if match.field == DIRECT:
                lines.append(f"    held directly: the internal user's {DIRECT}")
                continue
            how = pattern_kind(match.pattern)
            lines.append(
                f"    via {match.field}: {match.pattern!r} ({how}) matches {match.matched!r}"
            )
    if explanation.permissions is not None:
        lines += ["", "What it may do:", *_permission_lines(explanation.permissions)]
    if explanation.findings:
        lines += ["", "As the node applies it:", *(f"  - {n}" for n in explanation.findings)]
    return "\n".join(lines) + "\n"


def _domain_lines(explanation: Explanation) -> list[str]:
    """What the domain's access policy does, first: it decides before any mapping counts."""
    verdict = explanation.domain
    if verdict is None:
        return []
    text = verdict.text("this principal")
    if verdict.status in ("denied", "not allowed") and explanation.matches:
        text = f"mapped to {', '.join(explanation.roles)}, but {text}"
    elif verdict.status not in ("allowed", "not checked"):
        text = f"warning: {text}"
    return ["", f"Domain access policy: {text}"]


def _permission_lines(permissions: Permissions) -> list[str]:
    lines = []
    if permissions.cluster:
        lines.append("  cluster")
        for action, sources in permissions.cluster.items():
            lines.append(f"    {action}   ({'; '.join(s.text() for s in sources)})")
    for grant in permissions.index:
        restrictions = [
            f"DLS {grant.dls}" if grant.dls else "",
            f"FLS {', '.join(grant.fls)}" if grant.fls else "",
            f"masked {', '.join(grant.masked_fields)}" if grant.masked_fields else "",
        ]
        limited = "; ".join(r for r in restrictions if r)
        lines.append(
            f"  indices {', '.join(grant.patterns)}" + (f"   [{limited}]" if limited else "")
        )
        for action, sources in grant.actions.items():
            lines.append(f"    {action}   ({'; '.join(s.text() for s in sources)})")
    for tenant, (access, sources) in permissions.tenants.items():
        lines.append(f"  tenant {tenant}: {access}   ({'; '.join(s.text() for s in sources)})")
    if not lines:
        lines.append("  nothing: its roles grant no permissions")
    if permissions.undefined:
        unknown = ", ".join(permissions.undefined)
        lines.append(f"  (not known here, so not counted: the definitions of {unknown})")
    return lines


def holders(
    role: str, mapping: RoleMapping | None, users: Mapping[str, InternalUser] | None = None
) -> dict[str, Any]:
    """Who holds a role: every entry of its mapping, with what kind of value it is, and the
    internal users that hold it directly or through the mapping (their name, their backend
    roles)."""
    entries = []
    reached = []
    for name, user in sorted((users or {}).items()):
        caller = internal_caller(name, user)
        if role in user.roles:
            reached.append({"user": name, "how": "directly"})
        elif mapping is not None and (reasons := why(role, mapping, caller)):
            how = "; ".join(f"{m.field} {m.pattern!r} matches {m.matched!r}" for m in reasons)
            reached.append({"user": name, "how": f"through the mapping: {how}"})
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
        "internal_users": reached,
    }


def render_holders(data: Mapping[str, Any]) -> str:
    users = data.get("internal_users") or []
    if not data["mapped"]:
        lines = [f"{data['role']}: no mapping, so nobody holds it through role mappings."]
    else:
        lines = [f"{data['role']}" + (f" — {data['description']}" if data["description"] else "")]
        if not data["entries"]:
            lines.append("  the mapping is empty: nobody holds it through it")
        for entry in data["entries"]:
            lines.append(f"  {entry['field']:<17} {entry['value']}   ({entry['kind']})")
    if users:
        lines.append("  internal users who hold it:")
        lines += [f"    {u['user']}   ({u['how']})" for u in users]
    return "\n".join(lines) + "\n"
