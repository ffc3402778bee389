"""The resource kinds osaccess manages, one module each, and the registry of them.

Every kind, role mappings included, is a :class:`~osaccess.kinds.base.Kind` registered here.
The loader, the JSON Schema, the planner, the engine, the importer, the plan document, the
renderers and the audit trail iterate over :func:`registered` (the file's order) or
:func:`in_write_order`; none of them names a kind. Adding a kind: docs/architecture.md.
"""

from __future__ import annotations

from osaccess.kinds.action_groups import ACTION_GROUPS
from osaccess.kinds.audit import AUDIT
from osaccess.kinds.base import (
    Kind,
    by_name,
    in_write_order,
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
    "Kind",
    "by_name",
    "in_write_order",
    "register",
    "registered",
    "unregister",
]

for _kind in (
    MAPPINGS,
    ROLES,
    ACTION_GROUPS,
    TENANTS,
    INTERNAL_USERS,
    AUDIT,
):  # the order of the file's sections
    register(_kind)
