"""Building the live side and the file's entries in unit tests, as the cluster read and the
loader would."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from osaccess.file.principals import SsoRef
from osaccess.kinds.base import Desired
from osaccess.kinds.live import LiveDefinition, LiveState
from osaccess.kinds.mappings import MAPPINGS, Ownership, RoleMapping, WantedMapping
from osaccess.kinds.roles import ROLES, RoleDefinition, builtin_roles
from osaccess.model import MappingFile


def state(
    mappings: Mapping[str, RoleMapping | LiveDefinition] | None = None,
    roles: Iterable[str] = (),
    definitions: Mapping[str, Mapping[str, LiveDefinition]] | None = None,
    **settings: Any,
) -> LiveState:
    """A cluster read: ``mappings`` (models or entries), the names of ``roles`` that exist (the
    plugin's built-in definition where it has one, else an empty one), and other kinds' entries.
    ``roles`` empty and no role definitions given: the read has no roles document (offline)."""
    kinds: dict[str, Mapping[str, LiveDefinition]] = dict(definitions or {})
    kinds[MAPPINGS.name] = {
        name: entry if isinstance(entry, LiveDefinition) else LiveDefinition(entry)
        for name, entry in (mappings or {}).items()
    }
    names = set(roles)
    if names:
        builtin = builtin_roles()
        given = dict(kinds.get(ROLES.name, {}))
        for name in names - set(given):
            given[name] = LiveDefinition(builtin.get(name, RoleDefinition()))
        kinds[ROLES.name] = given
    return LiveState(definitions=kinds, **settings)


EMPTY = RoleMapping()


def mapping(
    name: str,
    value: RoleMapping = EMPTY,
    ownership: Ownership = Ownership.EXCLUSIVE,
    absent: bool = False,
    location: str = "",
    sso: tuple[SsoRef, ...] = (),
) -> Desired:
    """One role mapping of the file."""
    if absent:
        return Desired(MAPPINGS.name, name, None, location)
    return Desired(MAPPINGS.name, name, WantedMapping(value, ownership, sso), location)


@dataclass(frozen=True)
class Role:
    """A mapping entry of a loaded file, flattened for assertions."""

    name: str
    mapping: RoleMapping
    ownership: Ownership
    absent: bool
    sso: tuple[SsoRef, ...]
    location: str


def roles(file: MappingFile) -> list[Role]:
    """The file's role mappings, in the file's order."""
    found = []
    for entry in file.of(MAPPINGS.name):
        wanted = entry.definition
        if wanted is None:
            found.append(
                Role(entry.name, RoleMapping(), Ownership.EXCLUSIVE, True, (), entry.location)
            )
        else:
            found.append(
                Role(
                    entry.name, wanted.mapping, wanted.ownership, False, wanted.sso, entry.location
                )
            )
    return found
