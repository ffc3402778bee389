"""The role mapping's values: the mapping itself, the file's wish for it, and what a change
of it carries beside before and after."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from osaccess.file.principals import SsoRef
from osaccess.kinds.base import strings, text

FIELDS = ("users", "backend_roles", "and_backend_roles", "hosts")


@dataclass(frozen=True)
class RoleMapping:
    """A role mapping with set semantics: order and duplicates never matter."""

    users: frozenset[str] = frozenset()
    backend_roles: frozenset[str] = frozenset()
    and_backend_roles: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()
    description: str | None = None

    def values(self, name: str) -> frozenset[str]:
        value: frozenset[str] = getattr(self, name)
        return value

    @property
    def principal_count(self) -> int:
        return sum(len(self.values(name)) for name in FIELDS)

    def to_wire(self) -> dict[str, Any]:
        """The body the security API takes: all four arrays (sorted), description when set."""
        body: dict[str, Any] = {name: sorted(self.values(name)) for name in FIELDS}
        if self.description is not None:
            body["description"] = self.description
        return body

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> RoleMapping:
        """From the API's JSON; ``reserved``/``hidden`` and unknown keys are ignored here."""
        fields = {name: strings(body.get(name)) for name in FIELDS}
        return cls(description=text(body.get("description")), **fields)

    @classmethod
    def of(cls, description: str | None = None, **fields: Iterable[str]) -> RoleMapping:
        return cls(
            description=description, **{name: frozenset(values) for name, values in fields.items()}
        )


class Ownership(Enum):
    EXCLUSIVE = "exclusive"  # the file is the whole truth for the role's mapping
    SHARED = "shared"  # the file adds its principals and never removes anyone else's


@dataclass(frozen=True)
class WantedMapping:
    """A mapping as the file wants it (the entry's definition; ``state: absent`` has none)."""

    mapping: RoleMapping
    ownership: Ownership = Ownership.EXCLUSIVE
    sso: tuple[SsoRef, ...] = ()  # permission sets still to resolve into backend roles


@dataclass(frozen=True)
class MappingDetail:
    """What a mapping's change or unchanged entry carries beside before and after."""

    ownership: Ownership = Ownership.EXCLUSIVE
    # shared mappings: principals already there that the file does not mention, kept as they are
    left_alone: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # protected principals that the file would have removed, kept
    protected: Mapping[str, frozenset[str]] = field(default_factory=dict)


NO_DETAIL = MappingDetail()
