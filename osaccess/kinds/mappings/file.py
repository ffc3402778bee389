"""The role mapping in the file: its keys, reading one mapping, and what `import` writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from osaccess.file.format import SSO, Field, Section, text_field
from osaccess.file.principals import (
    Collected,
    SsoRef,
    field_for,
    read_explicit,
    read_principals,
    repeated,
    unusable,
)
from osaccess.file.source import describe
from osaccess.kinds.base import Desired
from osaccess.kinds.mappings.model import FIELDS, Ownership, RoleMapping, WantedMapping

if TYPE_CHECKING:
    from osaccess.file.reader import Reader

KIND = "mappings"  # the kind's name (its module registers it)


ROLE = Section(
    "in role",
    (
        Field(
            "principals",
            "principals",
            "IAM user and role ARNs, placed automatically: users -> users, roles -> "
            "backend_roles; or {sso: PermissionSet, account: ...} for an IAM Identity Center "
            "role (a backend role)",
            section=SSO,
        ),
        *(Field(name, "strings", f"explicit {name} values") for name in FIELDS),
        Field("description", "string", "The mapping's description."),
        text_field(
            "ownership",
            "exclusive: the file is the whole truth for the role; shared: only add, never "
            "remove others' principals",
            choices=("exclusive", "shared"),
            default="exclusive",
        ),
        text_field(
            "state",
            "absent: the mapping must not exist",
            choices=("present", "absent"),
            default="present",
        ),
    ),
)


def read_role(reader: Reader, name: str | None, key: Node, node: Node) -> Desired | None:
    location = f"{reader.path}:{key.start_mark.line + 1}"
    collected: Collected = {f: [] for f in FIELDS}
    sso: list[SsoRef] = []
    ownership = Ownership.EXCLUSIVE
    description = None
    absent = False
    if isinstance(node, SequenceNode):
        read_principals(reader, node, collected, sso)
    elif isinstance(node, MappingNode):
        keys = reader.keys(node, ROLE, f"in role {name!r}")
        if "principals" in keys:
            read_principals(reader, keys["principals"], collected, sso)
        for field_name in FIELDS:
            if field_name in keys:
                read_explicit(reader, field_name, keys[field_name], collected)
        if "description" in keys:
            description = reader.choice(keys["description"], ROLE.field("description"))
        if "ownership" in keys:
            raw = reader.choice(keys["ownership"], ROLE.field("ownership"))
            if raw is not None:
                ownership = Ownership(raw)
        if "state" in keys:
            absent = reader.choice(keys["state"], ROLE.field("state")) == "absent"
            for wrong, message, fix in (
                (
                    ownership is Ownership.SHARED,
                    "a shared mapping cannot be 'absent': osaccess does not own the whole mapping",
                    "drop 'state: absent' or make the role's ownership exclusive",
                ),
                (
                    any(collected.values()) or sso,
                    f"role {name!r} is 'absent' but lists principals",
                    "remove the principals or the state",
                ),
            ):
                if absent and wrong:
                    reader.error(keys["state"], message, fix)
    elif isinstance(node, ScalarNode) and node.tag.endswith(":null"):
        reader.error(
            node,
            f"role {name!r} has no principals",
            "list principals, or write `state: absent` to delete the mapping",
        )
        return None
    else:
        reader.error(
            node, f"role {name!r} must be a list of principals or a mapping, not {describe(node)}"
        )
        return None
    if name is None:
        return None
    repeated(reader, name, collected)
    mapping = RoleMapping(
        description=description, **{f: frozenset(v for v, _ in collected[f]) for f in FIELDS}
    )
    if absent:
        return Desired(KIND, name, None, location)
    return Desired(KIND, name, WantedMapping(mapping, ownership, tuple(sso)), location)


def import_body(
    mapping: RoleMapping, sso_entries: Mapping[str, dict[str, str]]
) -> tuple[Any, list[str]]:
    """What `import` writes for a mapping, and the values it leaves out (each with why): the
    `principals` shorthand for IAM ARNs where Amazon presents them, explicit fields otherwise;
    ``ownership: shared`` when a value is left out, so that applying never removes it."""
    principals: list[Any] = []
    explicit: dict[str, list[str]] = {f: [] for f in FIELDS}
    dropped: list[str] = []
    for name in FIELDS:
        for value in sorted(mapping.values(name)):
            problem = unusable(name, value)
            if problem:
                dropped.append(f"{name}: {value!r} ({problem})")
                continue
            placed = field_for(value).field == name and name in ("users", "backend_roles")
            if placed and value in sso_entries:
                principals.append(dict(sso_entries[value]))
            else:
                (principals if placed else explicit[name]).append(value)
    if not dropped and mapping.description is None and not any(explicit.values()) and principals:
        return principals, dropped
    body: dict[str, Any] = {"ownership": "shared"} if dropped else {}
    if principals:
        body["principals"] = principals
    body.update({name: values for name, values in explicit.items() if values})
    if not principals and not any(explicit.values()):
        body["users"] = []
    if mapping.description is not None:
        body["description"] = mapping.description
    return body, dropped
