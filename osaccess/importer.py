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
import json
import re

from osaccess import __version__
from osaccess.arn import ArnKind, classify
from osaccess.config import MAX_VALUE_LENGTH, role_name_problem
from osaccess.model import FIELDS, ClusterSpec, LiveState, RoleMapping

_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_:/.@+=,*?-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


def scalar(value: str) -> str:
    """A YAML scalar: plain when unambiguous, else a JSON string (valid YAML)."""
    if _PLAIN.match(value) and value.lower() not in _YAML_WORDS and not _is_number(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _unusable(field: str, value: str) -> str | None:
    """Why the mapping file could not hold this live value in this field (None: it can)."""
    if value != value.strip() or not value or re.search(r"[\x00-\x1f\x7f]", value):
        return "white space or control characters"
    if len(value) > MAX_VALUE_LENGTH:
        return "longer than 256 characters"
    if field == "hosts":
        return None
    kind = classify(value).kind
    if kind is ArnKind.NOT_AN_ARN:
        return None
    if kind is ArnKind.IAM_USER:
        return None if field == "users" else "an IAM user ARN as a backend role never matches"
    if kind is ArnKind.IAM_ROLE:
        return None if field != "users" else "an IAM role ARN as a user name never matches"
    return f"an {kind.value}, which OpenSearch never sees"


def render_import(live: LiveState, cluster: ClusterSpec, *, source: str) -> str:
    """The mapping file's text."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Imported by osaccess {__version__} from {source} on {now}.",
        "# Review it, commit it, then `osaccess plan` shows no changes.",
    ]
    skipped = sorted(name for name, m in live.mappings.items() if m.reserved or m.hidden)
    if skipped:
        lines.append(
            "# Left out, reserved or hidden (osaccess cannot manage them): " + ", ".join(skipped)
        )
    lines += ["cluster:", f"  endpoint: {scalar(cluster.endpoint)}", f"  auth: {cluster.auth}"]
    for key in (
        "region",
        "assume_role",
        "external_id",
        "username",
        "ca_certs",
        "client_cert",
        "client_key",
    ):
        value = getattr(cluster, key)
        if value:
            lines.append(f"  {key}: {scalar(value)}")
    if cluster.session_name != "osaccess":
        lines.append(f"  session_name: {scalar(cluster.session_name)}")
    lines.append("roles:")
    names = sorted(
        n
        for n, m in live.mappings.items()
        if not (m.reserved or m.hidden) and role_name_problem(n) is None
    )
    unnameable = sorted(n for n in live.mappings if n not in names and n not in skipped)
    for name in names:
        lines += _role(name, live.mappings[name].mapping)
    if not names:
        lines.append("  # the cluster has no mappings osaccess can manage")
    if unnameable:
        lines.insert(3, "# Left out, names the role API cannot address: " + ", ".join(unnameable))
    return "\n".join(lines) + "\n"


def _role(name: str, mapping: RoleMapping) -> list[str]:
    principals: list[str] = []
    explicit: dict[str, list[str]] = {f: [] for f in FIELDS}
    dropped: list[str] = []
    for field in FIELDS:
        for value in sorted(mapping.values(field)):
            problem = _unusable(field, value)
            if problem:
                dropped.append(f"{field}: {value!r} ({problem})")
                continue
            kind = classify(value).kind
            placed = (kind is ArnKind.IAM_USER and field == "users") or (
                kind is ArnKind.IAM_ROLE and field == "backend_roles"
            )
            (principals if placed else explicit[field]).append(value)
    lines = []
    for reason in dropped:
        lines.append(f"  # left on the cluster, not in this file: {reason}")
    shorthand = not dropped and not mapping.description and not any(explicit.values())
    key = f"  {scalar(name)}:"
    if shorthand and principals:
        return [*lines, key, *(f"    - {scalar(v)}" for v in principals)]
    lines.append(key)
    if dropped:
        lines.append("    ownership: shared   # keeps the values left out above")
    if principals:
        lines.append("    principals:")
        lines += [f"      - {scalar(v)}" for v in principals]
    for field in FIELDS:
        if explicit[field]:
            lines.append(f"    {field}:")
            lines += [f"      - {scalar(v)}" for v in explicit[field]]
    if not principals and not any(explicit.values()):
        lines.append("    users: []   # an empty mapping: it matches nobody")
    if mapping.description is not None:
        lines.append(f"    description: {scalar(mapping.description)}")
    return lines
