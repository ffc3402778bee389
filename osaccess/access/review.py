"""Access review: every principal a cluster (or a file) knows, with its roles and effective
permissions, as CSV, JSON or Markdown: the export SOC 2 and ISO 27001 access reviews ask for.
Pure: it works on a state that the caller read."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from osaccess.access.caveats import notes
from osaccess.access.permissions import (
    Evaluator,
    Permissions,
)
from osaccess.kinds.action_groups import ActionGroup
from osaccess.kinds.internal_users import InternalUser
from osaccess.kinds.mappings import RoleMapping
from osaccess.kinds.roles import RoleDefinition

CSV_COLUMNS = (
    "principal",
    "roles",
    "grant",
    "target",
    "actions",
    "dls",
    "fls",
    "masked_fields",
    "granted_by",
)


@dataclass(frozen=True)
class Entry:
    principal: str
    permissions: Permissions
    # as the node applies them: the bulk rule, filled-in patterns, combined restrictions
    findings: tuple[str, ...] = ()


def review(
    mappings: Mapping[str, RoleMapping],
    definitions: Mapping[str, RoleDefinition],
    groups: Mapping[str, ActionGroup],
    users: Mapping[str, InternalUser] | None = None,
) -> list[Entry]:
    """One entry per principal named in any mapping (patterns as "anyone matching ...") and per
    internal user (with its backend roles and the roles it holds directly)."""
    evaluator = Evaluator(mappings, definitions, groups, users)
    found = []
    shared: dict[int, tuple[str, ...]] = {}  # the findings of a set of roles without variables
    for subject in evaluator.known():
        caller = evaluator.resolve(subject.caller) or subject.caller
        permissions = evaluator.of(caller)
        findings = None if permissions.varies else shared.get(id(permissions))
        if findings is None:
            findings = tuple(notes(permissions, caller))
            if not permissions.varies:
                shared[id(permissions)] = findings
        found.append(Entry(subject.label, permissions, findings))
    return found


def to_json(entries: list[Entry], source: str) -> str:
    document = {
        "source": source,
        "principals": [
            {"principal": e.principal, **e.permissions.data(), "findings": list(e.findings)}
            for e in entries
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rows(entries: list[Entry]) -> list[dict[str, str]]:
    """The CSV rows: one per principal and grant (role, cluster, index pattern, tenant)."""
    found = []
    for entry in entries:
        p = entry.permissions
        base = {"principal": entry.principal, "roles": " ".join(p.roles)}

        def row(
            grant: str, target: str, actions: str = "", base: dict[str, str] = base, **more: str
        ) -> dict[str, str]:
            return {
                **dict.fromkeys(CSV_COLUMNS, ""),
                **base,
                "grant": grant,
                "target": target,
                "actions": actions,
                **more,
            }

        found += [row("role", role) for role in p.roles]
        if p.cluster:
            by = sorted({s.text() for sources in p.cluster.values() for s in sources})
            found.append(row("cluster", "", " ".join(p.cluster), granted_by="; ".join(by)))
        for grant in p.index:
            by = sorted({s.text() for sources in grant.actions.values() for s in sources})
            found.append(
                row(
                    "index",
                    " ".join(grant.patterns),
                    " ".join(grant.actions),
                    dls=grant.dls or "",
                    fls=" ".join(grant.fls),
                    masked_fields=" ".join(grant.masked_fields),
                    granted_by="; ".join(by),
                )
            )
        for tenant, (access, sources) in p.tenants.items():
            found.append(
                row(
                    "tenant",
                    tenant,
                    access,
                    granted_by="; ".join(sorted(s.text() for s in sources)),
                )
            )
        found += [row("note", finding) for finding in entry.findings]
        if not p.roles:
            found.append(row("none", ""))
    return found


def to_csv(entries: list[Entry]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(entries))
    return out.getvalue()


def to_markdown(entries: list[Entry], source: str) -> str:
    lines = [
        "# Access review",
        "",
        f"Source: {source}. {len(entries)} principal(s).",
        "",
        "| principal | roles | cluster | indices | tenants | as the node applies it |",
        "|---|---|---|---|---|---|",
    ]
    for entry in entries:
        p = entry.permissions
        indices = "<br>".join(
            f"`{', '.join(g.patterns)}`: {', '.join(g.actions)}"
            + (" (DLS)" if g.dls else "")
            + (" (FLS)" if g.fls else "")
            + (" (masked)" if g.masked_fields else "")
            for g in p.index
        )
        tenants = ", ".join(f"{t} ({a})" for t, (a, _) in p.tenants.items())
        lines.append(
            f"| `{_md(entry.principal)}` | {', '.join(p.roles) or '—'} | "
            f"{_md(', '.join(p.cluster)) or '—'} | {_md(indices) or '—'} | {_md(tenants) or '—'} | "
            f"{_md('<br>'.join(entry.findings)) or '—'} |"
        )
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render(entries: list[Entry], fmt: str, source: str) -> str:
    if fmt == "csv":
        return to_csv(entries)
    if fmt == "json":
        return to_json(entries, source)
    return to_markdown(entries, source)


def data(entries: list[Entry]) -> list[dict[str, Any]]:
    return [{"principal": e.principal, **e.permissions.data()} for e in entries]
