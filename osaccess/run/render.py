"""Rendering plans as text (for people), Markdown (for pull requests) and JSON (for programs).

Renderers take a computed plan and write it; they compute nothing. JSON is the plan document
itself (:mod:`osaccess.run.plandoc`). Removals are marked so that
they cannot be missed in any format.
"""

from __future__ import annotations

import textwrap
from typing import TextIO

from osaccess import kinds
from osaccess.access.impact import AccessChange
from osaccess.kinds.base import Action, Change
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
    touched = [kind for kind in kinds.registered() if plan.of(kind.name)]
    each = ""
    if len(touched) > 1:
        counts = []
        for kind in touched:
            changes = plan.of(kind.name)
            done = [
                f"{sum(1 for c in changes if c.action is action)} {action.value}"
                for action in Action
                if any(c.action is action for c in changes)
            ]
            counts.append(f"{kind.name} {', '.join(done)}")
        each = f" ({'; '.join(counts)})"
    return f"Plan: {', '.join(parts)}; {principals}{each}."


def in_file_order(plan: Plan) -> list[Change]:
    """The plan's changes as the file orders its kinds (mappings first), each kind by name."""
    return [c for kind in kinds.registered() for c in plan.of(kind.name)]


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
    for change in in_file_order(plan):
        kind = kinds.by_name(change.kind)
        title, label = kind.heading(change)
        out.write("\n")
        out.write(
            style(f"  {_SIGN[change.action]} {title}", _ROLE_COLOR[change.action])
            + f"  ({label})\n"
        )
        width = kind.key_width
        for line in change.lines():
            if line.sign == "+":
                out.write(
                    style(f"      + {line.key:<{width}} {plan.named(line.value)}", "32") + "\n"
                )
            elif line.sign == "-":
                out.write(
                    style(f"      - {line.key:<{width}} {line.value}   <- REMOVED", "1;31") + "\n"
                )
            elif line.sign == "=":
                color_of = "36" if line.note.startswith("protected") else "2"
                out.write(
                    style(f"      = {line.key:<{width}} {line.value}   ({line.note})", color_of)
                    + "\n"
                )
            else:
                out.write(f"      {line.sign} {line.key:<{width}} {line.value}\n")
    kept = False
    for entry in plan.unchanged:
        for line in entry.lines():
            title = kinds.by_name(entry.kind).title(entry.name)
            out.write(style(f"\n  = {title}: {line.key} {line.value} {line.note}", "2"))
            kept = True
    if kept:
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
        out.write(f"Unchanged: {_some(_unchanged(plan))}.\n")
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
    deleted = sum(1 for c in plan.changes if c.action is Action.DELETE and c.principals[1])
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
    kept: list[str] = []
    for kind in kinds.registered():
        changes = plan.of(kind.name)
        if changes:
            out.write(f"\n| | {' | '.join(kind.columns)} |\n|---|---|---|---|\n")
        for change in changes:
            what = (
                f"`{_md(change.name)}`"
                if kind.title(change.name) == change.name
                else (f"{kind.label} `{_md(change.name)}`")
            )
            if change.action is Action.DELETE:
                out.write(f"| 🗑️ **DELETE** | {what} | | whole {kind.label} |\n")
            for line in change.lines():
                if line.sign == "=":
                    listed = ", ".join(f"`{_md(v)}`" for v in line.values or (line.value,))
                    kept.append(f"- {what} {line.key}: {listed} ({line.note})")
                    continue
                value = f"`{_md(line.value)}`"
                if line.sign == "+" and line.value in plan.names:
                    value += f" ({_md(plan.names[line.value])})"
                sign = _MD_SIGN[line.sign]
                if line.sign == "~":
                    value = " → ".join(_md(v) for v in line.values) or _md(line.value)
                out.write(f"| {sign} | {what} | {line.key} | {value} |\n")
    for entry in plan.unchanged:
        for line in entry.lines():
            listed = ", ".join(f"`{_md(v)}`" for v in line.values or (line.value,))
            kept.append(f"- `{_md(entry.name)}` {line.key}: {listed} ({line.note})")
    if kept:
        out.write("\n<details><summary>Kept as they are (not in the file)</summary>\n\n")
        out.write("".join(f"{line}\n" for line in kept))
        out.write("\n</details>\n")
    if plan.unchanged:
        out.write(f"\nUnchanged: {_some([f'`{_md(r)}`' for r in _unchanged(plan)])}\n")


_MD_SIGN = {"+": "➕ add", "-": "❌ **REMOVE**", "~": "✏️ change"}


def _unchanged(plan: Plan) -> list[str]:
    return [kinds.by_name(u.kind).title(u.name) for u in plan.unchanged]


def _some(names: list[str] | tuple[str, ...], shown: int = 10) -> str:
    """A list that stays readable at 5,000 roles (the JSON plan has them all)."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")
