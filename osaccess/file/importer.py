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

from osaccess import __version__
from osaccess.access import builtin
from osaccess.file.principals import field_for, role_name_problem, value_problem
from osaccess.model import FIELDS, ClusterSpec, Definition, LiveState, RoleMapping


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


def _unusable(field: str, value: str) -> str | None:
    """Why the mapping file could not hold this live value in this field (None: it can)."""
    return value_problem(value) or (None if field == "hosts" else _misplaced(field, value))


def _misplaced(field: str, value: str) -> str | None:
    placed = field_for(value)
    if placed.field is None and placed.kind is None:
        return None  # not an ARN: any field may hold it
    if placed.field is None:
        return f"an {placed.kind}, which OpenSearch never sees"
    if placed.field == "users" and field != "users":
        return "an IAM user ARN as a backend role never matches"
    if placed.field == "backend_roles" and field == "users":
        return "an IAM role ARN as a user name never matches"
    return None


INCLUDES = ("mappings", "roles", "action-groups", "tenants")


def render_import(
    live: LiveState,
    cluster: ClusterSpec,
    *,
    source: str,
    include: tuple[str, ...] = ("mappings",),
    sso_entries: Mapping[str, dict[str, str]] | None = None,
) -> str:
    """The mapping file's text: PyYAML emits every value; osaccess adds only comments.
    ``include`` says what to write: mappings, roles, action-groups, tenants. ``sso_entries``
    gives the ``sso:`` entry to write instead of an IAM Identity Center role ARN."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        f"# Imported by osaccess {__version__} from {source} on {now}.",
        "# Review it, commit it, then `osaccess plan` shows no changes.",
    ]
    skipped = sorted(name for name, m in live.mappings.items() if m.reserved or m.hidden)
    if skipped:
        header.append(
            "# Left out, reserved or hidden (osaccess cannot manage them): " + ", ".join(skipped)
        )
    names = sorted(
        n
        for n, m in live.mappings.items()
        if not (m.reserved or m.hidden) and role_name_problem(n) is None
    )
    unnameable = sorted(n for n in live.mappings if n not in names and n not in skipped)
    if unnameable:
        header.append("# Left out, names the role API cannot address: " + ", ".join(unnameable))
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
    if "mappings" in include:
        lines.append("roles:")
        for name in names:
            lines += _role(name, live.mappings[name].mapping, sso_entries or {})
        if not names:
            lines.append("  # the cluster has no mappings osaccess can manage")
    for option, kind, section in (
        ("roles", "roles", "role_definitions"),
        ("action-groups", "action_groups", "action_groups"),
        ("tenants", "tenants", "tenants"),
    ):
        if option in include:
            lines += _definitions(live, kind, section)
    return "\n".join(lines) + "\n"


def _definitions(live: LiveState, kind: str, section: str) -> list[str]:
    """One definitions section; what the plugin keeps to itself is listed in a comment."""
    entries = live.defined(kind)
    kept = sorted(
        name
        for name, entry in entries.items()
        if entry.protected_by_plugin is None
        and role_name_problem(name) is None
        and builtin.reserved_problem(kind, name) is None
    )
    left_out = sorted(set(entries) - set(kept))
    lines = []
    if left_out:
        lines.append(f"# Left out of {section}, built in or reserved: {', '.join(left_out)}")
    if not kept:
        return [*lines, f"# {section}: the cluster has none that osaccess can manage"]
    body = {name: _definition_body(entries[name].definition) for name in kept}
    return [*lines, emit({section: body}).rstrip("\n")]


def _definition_body(definition: Definition) -> dict[str, Any]:
    """The file's form of a definition: the wire form without empty lists."""

    def tidy(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: tidy(v) for k, v in value.items() if v != []}
        if isinstance(value, list):
            return [tidy(v) for v in value]
        return value

    body: dict[str, Any] = tidy(definition.to_wire())
    return body


def _role(name: str, mapping: RoleMapping, sso_entries: Mapping[str, dict[str, str]]) -> list[str]:
    principals: list[Any] = []
    explicit: dict[str, list[str]] = {f: [] for f in FIELDS}
    dropped: list[str] = []
    for field in FIELDS:
        for value in sorted(mapping.values(field)):
            problem = _unusable(field, value)
            if problem:
                dropped.append(f"{field}: {value!r} ({problem})")
                continue
            placed = field_for(value).field == field and field in ("users", "backend_roles")
            if placed and value in sso_entries:
                principals.append(dict(sso_entries[value]))
            else:
                (principals if placed else explicit[field]).append(value)
    comments = [f"  # left on the cluster, not in this file: {reason}" for reason in dropped]
    shorthand = not dropped and mapping.description is None and not any(explicit.values())
    body: Any
    if shorthand and principals:
        body = principals
    else:
        body = {}
        if dropped:
            body["ownership"] = "shared"
        if principals:
            body["principals"] = principals
        for field in FIELDS:
            if explicit[field]:
                body[field] = explicit[field]
        if not principals and not any(explicit.values()):
            body["users"] = []
        if mapping.description is not None:
            body["description"] = mapping.description
    emitted = ["  " + line for line in emit({name: body}).rstrip("\n").split("\n")]
    notes = {
        "    ownership: shared": "   # keeps the values left out above",
        "    users: []": "   # an empty mapping: it matches nobody",
    }
    return comments + [line + notes.get(line, "") for line in emitted]
