"""Rendering plans as text (for people), Markdown (for pull requests) and JSON (for programs).

Renderers take a computed plan and write it; they compute nothing. JSON is the plan document
itself (:mod:`osaccess.run.plandoc`). Removals are marked so that
they cannot be missed in any format.
"""

from __future__ import annotations

import textwrap
from typing import TextIO

from osaccess.access.impact import AccessChange
from osaccess.kinds.base import Action
from osaccess.kinds.mappings import FIELDS
from osaccess.run.plan import Plan
from osaccess.run.plandoc import PlanContext


def summary_line(plan: Plan) -> str:
    if plan.empty:
        return "No changes: the cluster matches the file."
    parts = [
        f"{plan.count(Action.CREATE)} to create",
        f"{plan.count(Action.UPDATE)} to update",
        f"{plan.count(Action.DELETE)} to delete",
    ]
    principals = f"{plan.added_count} principal(s) added"
    if plan.removed_count:
        principals += f", {plan.removed_count} REMOVED"
    definitions = ""
    if plan.definition_changes:
        counts = [
            f"{sum(1 for c in plan.definition_changes if c.action is action)} to {action.value}"
            for action in Action
        ]
        definitions = f"; definitions: {', '.join(counts)}"
    return f"Plan: {', '.join(parts)}; {principals}{definitions}."


# -- text -------------------------------------------------------------------------------------


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text


_SIGN = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}
_ROLE_COLOR = {Action.CREATE: "32", Action.UPDATE: "33", Action.DELETE: "1;31"}


def render_text(plan: Plan, context: PlanContext, out: TextIO, *, color: bool = False) -> None:
    style = _Style(color)
    out.write(style(f"{context.file} -> {context.endpoint}", "1") + f"  ({context.api_prefix})\n")
    for change in plan.changes:
        out.write("\n")
        label = change.action.value
        if change.action is Action.DELETE:
            label = f"DELETE the mapping: {change.removed_count} principal(s) lose this role"
        elif change.ownership.value == "shared":
            label += ", shared"
        out.write(
            style(f"  {_SIGN[change.action]} {change.role}", _ROLE_COLOR[change.action])
            + f"  ({label})\n"
        )
        for name in FIELDS:
            for value in sorted(change.added(name)):
                out.write(style(f"      + {name:<17} {plan.named(value)}", "32") + "\n")
            for value in sorted(change.removed(name)):
                out.write(style(f"      - {name:<17} {value}   <- REMOVED", "1;31") + "\n")
        description = change.description_change
        if description:
            out.write(f"      ~ {'description':<17} {description[0]!r} -> {description[1]!r}\n")
        for name, values in sorted(change.protected.items()):
            out.write(
                style(
                    f"      = {name:<17} {', '.join(sorted(values))}   (protected: "
                    "kept although not in the file)",
                    "36",
                )
                + "\n"
            )
        for name, values in sorted(change.left_alone.items()):
            out.write(
                style(
                    f"      = {name:<17} {', '.join(sorted(values))}   (left alone: "
                    "not in the file, shared mapping)",
                    "2",
                )
                + "\n"
            )
    for definition in plan.definition_changes:
        out.write("\n")
        sign = _SIGN[definition.action]
        label = (
            f"DELETE the {definition.label}"
            if definition.action is Action.DELETE
            else f"{definition.action.value} {definition.label}"
        )
        out.write(
            style(f"  {sign} {definition.label} {definition.name}", _ROLE_COLOR[definition.action])
            + f"  ({label})\n"
        )
        for mark, key, value in definition.differences():
            if mark == "+":
                out.write(style(f"      + {key:<19} {value}", "32") + "\n")
            else:
                out.write(style(f"      - {key:<19} {value}   <- REMOVED", "1;31") + "\n")
    for role, fields in sorted(plan.left_alone.items()):
        for name, values in sorted(fields.items()):
            out.write(
                style(
                    f"\n  = {role}: {name} {', '.join(sorted(values))} left alone (shared mapping)",
                    "2",
                )
            )
    if plan.left_alone:
        out.write("\n")
    if plan.access_changes:
        out.write("\n" + style("  Access changes (who gains, who LOSES):", "1") + "\n")
        shown = plan.access_changes[:MAX_PRINCIPALS_SHOWN]
        for access in shown:
            out.write(f"    {plan.named(access.principal)}\n")
            for sign, what in _access_lines(access):
                if sign == "!":
                    out.write(style(_wrapped(f"      note: {what}"), "33") + "\n")
                elif sign == "+":
                    out.write(style(_wrapped(f"      + {what}"), "32") + "\n")
                else:
                    out.write(style(_wrapped(f"      - {what}   <- LOSES"), "1;31") + "\n")
        hidden = len(plan.access_changes) - len(shown)
        if hidden:
            out.write(f"    ... and {hidden} more principal(s) (the JSON plan lists them all)\n")
    for warning in plan.warnings:
        out.write(style(f"\nwarning: {warning}", "33"))
    if plan.warnings:
        out.write("\n")
    out.write("\n" + style(summary_line(plan), "1;31" if plan.removed_count else "1") + "\n")
    if plan.unchanged:
        out.write(f"Unchanged: {_some(plan.unchanged)}.\n")
    if context.refusals:
        out.write(style("\nSafety: apply will refuse this plan:", "1;31") + "\n")
        for refusal in context.refusals:
            note = " (--force overrides)" if refusal.forcible else ""
            out.write(style(f"  - [{refusal.guard}] {refusal.message}{note}", "31") + "\n")
    if context.tests is not None:
        out.write("\n" + _tests_line(context) + "\n")


def _tests_line(context: PlanContext) -> str:
    report = context.tests
    assert report is not None
    if report.ok:
        return f"Access tests: all {report.tests} hold on the cluster after this plan."
    return (
        f"Access tests: {len(report.failures)} of {report.tests} fail on the cluster after this "
        "plan (listed above as access-test): apply will refuse it."
    )


# -- Markdown ---------------------------------------------------------------------------------


MAX_PRINCIPALS_SHOWN = 50  # per plan, in text and Markdown; the JSON plan has them all


WIDTH = 100  # text lines wrap here, at ", ", continued under the first word


def _wrapped(line: str) -> str:
    if len(line) <= WIDTH:
        return line
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    return "\n".join(
        textwrap.wrap(
            line,
            WIDTH,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


def _access_lines(change: AccessChange) -> list[tuple[str, str]]:
    lines = []
    for sign, access in (("+", change.gains), ("-", change.loses)):
        if access.roles:
            lines.append((sign, f"roles: {', '.join(access.roles)}"))
        if access.shown_cluster:
            lines.append((sign, f"cluster: {', '.join(access.shown_cluster)}"))
        lines += [
            (sign, f"index {', '.join(patterns)}: {', '.join(actions)}")
            for patterns, actions in access.shown_index
        ]
        if access.tenants:
            tenants = ", ".join(f"{tenant} ({mode})" for tenant, mode in access.tenants)
            lines.append((sign, f"tenants: {tenants}"))
    return lines + [("!", note) for note in change.notes]


def render_markdown(plan: Plan, context: PlanContext, out: TextIO) -> None:
    out.write(f"### osaccess plan: `{context.file}` → `{context.endpoint}`\n\n")
    if plan.access_changes:
        out.write("#### Who gains / who loses access\n\n| principal | | what |\n|---|---|---|\n")
        shown = plan.access_changes[:MAX_PRINCIPALS_SHOWN]
        for access in shown:
            for sign, what in _access_lines(access):
                mark = {"+": "➕ gains", "!": "⚠️ note"}.get(sign, "❌ **LOSES**")
                out.write(f"| `{_md(access.principal)}` | {mark} | {_md(what)} |\n")
        hidden = len(plan.access_changes) - len(shown)
        if hidden:
            out.write(f"\n… and {hidden} more principal(s): the JSON plan lists them all.\n")
        out.write("\n")
    deleted = plan.count(Action.DELETE)
    if plan.removed_count or deleted:
        also = f" and {deleted} mapping(s) deleted" if deleted else ""
        out.write(
            f"> [!WARNING]\n> **{plan.removed_count} principal(s) will be REMOVED{also}.**\n\n"
        )
    if context.refusals:
        out.write("> [!CAUTION]\n> **apply will refuse this plan:**\n")
        for refusal in context.refusals:
            note = " (`--force` overrides)" if refusal.forcible else ""
            out.write(f"> - `{refusal.guard}`: {_md(refusal.message)}{note}\n")
        out.write("\n")
    if context.tests is not None:
        out.write(_tests_line(context) + "\n\n")
    if plan.warnings:
        out.write("> [!NOTE]\n" + "".join(f"> - {_md(w)}\n" for w in plan.warnings) + "\n")
    out.write(f"**{summary_line(plan)}**\n")
    if not plan.empty:
        out.write("\n| | role | field | principal |\n|---|---|---|---|\n")
        for change in plan.changes:
            if change.action is Action.DELETE:
                out.write(f"| 🗑️ **DELETE** | `{_md(change.role)}` | | whole mapping |\n")
            for name in FIELDS:
                for value in sorted(change.added(name)):
                    called = f" ({_md(plan.names[value])})" if value in plan.names else ""
                    out.write(
                        f"| ➕ add | `{_md(change.role)}` | {name} | `{_md(value)}`{called} |\n"
                    )
                for value in sorted(change.removed(name)):
                    out.write(
                        f"| ❌ **REMOVE** | `{_md(change.role)}` | {name} | `{_md(value)}` |\n"
                    )
            description = change.description_change
            if description:
                out.write(
                    f"| ✏️ change | `{_md(change.role)}` | description | "
                    f"{_md(str(description[0]))} → {_md(str(description[1]))} |\n"
                )
    if plan.definition_changes:
        out.write("\n| | definition | key | value |\n|---|---|---|---|\n")
        for definition in plan.definition_changes:
            what = f"{definition.label} `{_md(definition.name)}`"
            if definition.action is Action.DELETE:
                out.write(f"| 🗑️ **DELETE** | {what} | | whole {definition.label} |\n")
                continue
            for mark, key, value in definition.differences():
                sign = "➕ add" if mark == "+" else "❌ **REMOVE**"
                out.write(f"| {sign} | {what} | {key} | `{_md(value)}` |\n")
    left = {**{c.role: c.left_alone for c in plan.changes if c.left_alone}, **plan.left_alone}
    if left:
        out.write("\n<details><summary>Left alone (shared mappings, not in the file)</summary>\n\n")
        for role, fields in sorted(left.items()):
            for name, values in sorted(fields.items()):
                listed = ", ".join(f"`{_md(v)}`" for v in sorted(values))
                out.write(f"- `{_md(role)}` {name}: {listed}\n")
        out.write("\n</details>\n")
    if plan.unchanged:
        out.write(f"\nUnchanged: {_some([f'`{_md(r)}`' for r in plan.unchanged])}\n")


def _some(names: list[str] | tuple[str, ...], shown: int = 10) -> str:
    """A list that stays readable at 5,000 roles (the JSON plan has them all)."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")
