"""`osaccess import`: write a mapping file from what a cluster holds, ready to commit.

IAM user and role ARNs that sit where Amazon presents them go into the `principals` shorthand;
every other value into its explicit field. Reserved and hidden mappings are left out (osaccess
cannot manage them) and listed in a comment. A value the file could not hold (an IAM user ARN
under backend_roles, an STS session ARN, ...) is left out too; its role then becomes
`ownership: shared`, so that applying the file never removes it. Importing and then planning
gives no changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import yaml

from osaccess import __version__, kinds
from osaccess.file.principals import role_name_problem
from osaccess.kinds.base import Kind
from osaccess.model import ClusterSpec, LiveState


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe emitter, with lists indented under their key (as people write them)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def emit(data: Any) -> str:
    """YAML text for ``data``, through PyYAML's emitter: every string reads back as a string."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=10_000,
    )


def includes() -> tuple[str, ...]:
    """What `import --include` may name: every kind, as the file orders them."""
    return tuple(kind.include for kind in kinds.registered())


def render_import(
    live: LiveState,
    cluster: ClusterSpec,
    *,
    source: str,
    include: tuple[str, ...] = ("mappings",),
    sso_entries: Mapping[str, dict[str, str]] | None = None,
) -> str:
    """The mapping file's text: PyYAML emits every value; osaccess adds only comments.
    ``include`` says which kinds to write (:func:`includes`). ``sso_entries``
    gives the ``sso:`` entry to write instead of an IAM Identity Center role ARN."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        f"# Imported by osaccess {__version__} from {source} on {now}.",
        "# Review it, commit it, then `osaccess plan` shows no changes.",
    ]
    block: dict[str, Any] = {"endpoint": cluster.endpoint, "auth": cluster.auth}
    for key in (
        "region",
        "assume_role",
        "external_id",
        "username",
        "ca_certs",
        "client_cert",
        "client_key",
        "account",
        "domain",
        "iam_lookup_roles",
    ):
        value = getattr(cluster, key)
        if value:
            block[key] = list(value) if isinstance(value, tuple) else value
    if cluster.session_name != "osaccess":
        block["session_name"] = cluster.session_name
    lines = [*header, emit({"cluster": block}).rstrip("\n")]
    for kind in kinds.registered():
        if kind.include in include:
            lines += _section(live, kind, sso_entries or {})
    return "\n".join(lines) + "\n"


def _section(live: LiveState, kind: Kind, sso_entries: Mapping[str, dict[str, str]]) -> list[str]:
    """One kind's section; what the plugin keeps to itself, and names the security API cannot
    address, are listed in a comment."""
    entries, section = live.defined(kind.name), kind.section
    if kind.name in live.unavailable:
        return [f"# {section}: not imported: {live.unavailable[kind.name]}"]
    reserved = sorted(
        name
        for name, entry in entries.items()
        if entry.protected_by_plugin is not None or kind.reserved_problem(name) is not None
    )
    unnameable = sorted(
        name for name in entries if name not in reserved and role_name_problem(name) is not None
    )
    kept = sorted(set(entries) - set(reserved) - set(unnameable))
    lines = []
    if reserved:
        lines.append(f"# Left out of {section}, built in or reserved: {', '.join(reserved)}")
    if unnameable:
        lines.append(
            f"# Left out of {section}, names the security API cannot address: "
            + ", ".join(unnameable)
        )
    if not kept:
        return [*lines, f"# {section}: the cluster has none that osaccess can manage"]
    imported = {name: kind.import_entry(entries[name].definition, sso_entries) for name in kept}
    if kind.single_document:
        body = kind.import_section({name: body for name, (body, _) in imported.items()})
        return [*lines, emit({section: body}).rstrip("\n")]
    lines.append(f"{section}:")
    for name, (body, comments) in imported.items():
        lines += [f"  # {comment}" for comment in comments]
        for line in emit({name: body}).rstrip("\n").split("\n"):
            note = kind.import_notes.get(line.strip())
            lines.append(f"  {line}" + (f"   # {note}" if note and line.startswith("  ") else ""))
    return lines
