"""Dashboards tenants: a name and a description. The file's and the API's ``tenants``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from yaml.nodes import MappingNode, Node

from osaccess.file.format import Field, Section
from osaccess.kinds.base import Kind, text
from osaccess.plugin import builtin

if TYPE_CHECKING:
    from osaccess.file.reader import Reader


@dataclass(frozen=True)
class Tenant:
    description: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {} if self.description is None else {"description": self.description}

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> Tenant:
        return cls(text(body.get("description")))


class Tenants(Kind):
    name = "tenants"
    section = "tenants"
    endpoint = "tenants"
    label = "tenant"
    include = "tenants"
    order = 30  # nothing depends on tenants (roles name them as patterns)
    model = Tenant
    entry = Section("in tenant", (Field("description", "string", "What the tenant is for."),))
    summary = "Dashboards tenants: name -> description."

    def reserved_problem(self, name: str) -> tuple[str, str] | None:
        return builtin.reserved_problem(self.name, name)

    def read(
        self, reader: Reader, name: str, keys: dict[str, Node], node: MappingNode, key: Node
    ) -> Tenant:
        return Tenant(reader.description(keys))


TENANTS = Tenants()
