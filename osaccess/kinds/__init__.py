"""The resource kinds osaccess manages, one module each, and the registry of them.

``mappings`` (who holds which role) has rules of its own; every other kind is a
:class:`~osaccess.kinds.base.DefinitionKind` registered here. The loader, the JSON Schema, the
planner, the engine, the importer, the plan document and the renderers iterate over
:func:`definition_kinds`; none of them names a kind. Adding a kind: docs/architecture.md.
"""

from __future__ import annotations

from osaccess.kinds.action_groups import ACTION_GROUPS
from osaccess.kinds.audit import AUDIT
from osaccess.kinds.base import (
    DefinitionKind,
    Kind,
    by_name,
    definition_kinds,
    register,
    registered,
    unregister,
)
from osaccess.kinds.internal_users import INTERNAL_USERS
from osaccess.kinds.mappings import MAPPINGS
from osaccess.kinds.roles import ROLES
from osaccess.kinds.tenants import TENANTS

__all__ = [
    "MAPPINGS",
    "DefinitionKind",
    "Kind",
    "by_name",
    "definition_kinds",
    "in_file_order",
    "in_write_order",
    "register",
    "registered",
    "unregister",
]

for _kind in (
    ROLES,
    ACTION_GROUPS,
    TENANTS,
    INTERNAL_USERS,
    AUDIT,
):  # the order of the file's sections
    register(_kind)


def in_file_order() -> tuple[Kind, ...]:
    """Mappings, then every definition kind in the order it was registered."""
    return (MAPPINGS, *registered())


def in_write_order() -> tuple[Kind, ...]:
    """Every kind in the order its entries are created (what others use first; mappings last)."""
    return tuple(sorted(in_file_order(), key=lambda kind: kind.order))
