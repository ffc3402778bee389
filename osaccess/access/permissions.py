"""Who can do what: the effective permissions of a principal. A pure module, no I/O.

Given the role mappings, the role definitions and the action groups (the cluster's built-in ones
plus the file's), it says which roles a principal holds and, through them, which cluster actions,
which index patterns with which actions (and whether DLS, FLS or masking applies), and which
tenants it may read or write. Action groups are expanded to concrete action names or patterns,
nested groups included, and every grant remembers the role and the chain of groups behind it.
What changes between two states is :mod:`osaccess.access.impact`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from osaccess.kinds.action_groups import ActionGroup
from osaccess.kinds.internal_users import InternalUser
from osaccess.kinds.mappings import FIELDS, RoleMapping
from osaccess.kinds.roles import RoleDefinition
from osaccess.plugin.forms import grants_bulk, writes_documents
from osaccess.plugin.matching import Caller, MappingIndex, pattern_kind


@dataclass(frozen=True, order=True)
class Source:
    """Why a permission is granted: the role, and the action groups it came through."""

    role: str
    via: tuple[str, ...] = ()

    def text(self) -> str:
        return self.role + (f" via {' > '.join(self.via)}" if self.via else "")


@dataclass(frozen=True)
class IndexGrant:
    patterns: tuple[str, ...]
    actions: Mapping[str, tuple[Source, ...]]
    dls: str | None = None
    fls: tuple[str, ...] = ()
    masked_fields: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        return {
            "patterns": list(self.patterns),
            "actions": sorted(self.actions),
            "dls": self.dls,
            "fls": list(self.fls),
            "masked_fields": list(self.masked_fields),
            "granted_by": sorted({s.text() for sources in self.actions.values() for s in sources}),
        }


@dataclass(frozen=True)
class Permissions:
    roles: tuple[str, ...]
    cluster: Mapping[str, tuple[Source, ...]] = field(default_factory=dict)
    index: tuple[IndexGrant, ...] = ()
    tenants: Mapping[str, tuple[str, tuple[Source, ...]]] = field(default_factory=dict)
    undefined: tuple[str, ...] = ()  # roles held whose definitions are not known here

    @property
    def varies(self) -> bool:
        """Do its index patterns or DLS hold variables (${user.name}, ...)? Then what it allows
        depends on the principal, not only on its roles."""
        return any(
            "${" in text for grant in self.index for text in (*grant.patterns, grant.dls or "")
        )

    def data(self) -> dict[str, Any]:
        return {
            "roles": list(self.roles),
            "undefined_roles": list(self.undefined),
            "cluster": sorted(self.cluster),
            "index": [grant.data() for grant in self.index],
            "tenants": {name: access for name, (access, _) in sorted(self.tenants.items())},
        }


class Expander:
    """Expands action groups to concrete actions, remembering the chain of groups."""

    def __init__(self, groups: Mapping[str, ActionGroup]) -> None:
        self.groups = groups
        self._cache: dict[str, dict[str, tuple[str, ...]]] = {}

    def expand(self, action: str) -> dict[str, tuple[str, ...]]:
        """Concrete action or pattern -> the groups it came through (outermost first)."""
        if action in self._cache:
            return self._cache[action]
        result: dict[str, tuple[str, ...]] = {}
        stack: list[tuple[str, tuple[str, ...]]] = [(action, ())]
        while stack:
            name, chain = stack.pop()
            group = self.groups.get(name)
            if group is None:
                result.setdefault(name, chain)
                continue
            if name in chain:  # a cycle: the loader refuses them, the cluster may hold one
                continue
            for member in sorted(group.allowed_actions, reverse=True):
                stack.append((member, (*chain, name)))
        self._cache[action] = result
        return result


def _tenant_access(actions: Iterable[str]) -> str:
    return "write" if any(a == "*" or a.endswith(("write", "/*")) for a in actions) else "read"


class Evaluator:
    """Effective permissions over one state (mappings, role definitions, action groups), with
    caches, so that thousands of principals cost little more than their distinct role sets."""

    def __init__(
        self,
        mappings: Mapping[str, RoleMapping],
        definitions: Mapping[str, RoleDefinition],
        groups: Mapping[str, ActionGroup],
        users: Mapping[str, InternalUser] | None = None,
        reuse: Evaluator | None = None,
    ) -> None:
        """``reuse``: another state's evaluator whose role grants this one may share, for each
        role whose definition is the same object there, when both have the same action groups
        (the state after a plan shares the roles the plan does not touch)."""
        self.mappings = mappings
        self.definitions = definitions
        self.users: Mapping[str, InternalUser] = users or {}
        self.index = MappingIndex(mappings)
        self.expander = Expander(groups)
        self._roles: dict[str, RoleGrants] = {}
        self._reuse = reuse if reuse is not None and reuse.expander.groups == groups else None
        self._by_roles = functools.lru_cache(maxsize=65536)(self._for_roles)
        self._known: list[MappedPrincipal] | None = None
        self._held: dict[Caller, frozenset[str]] = {}  # roles per caller, once each
        self._tenants: dict[frozenset[str], frozenset[tuple[str, str]]] = {}

    def known(self) -> list[MappedPrincipal]:
        """Every principal this state knows (:func:`known_subjects`), worked out once."""
        if self._known is None:
            self._known = known_subjects(self.mappings, self.users)
        return self._known

    def resolve(self, caller: Caller) -> Caller | None:
        """An internal user as this state knows it (None: it does not exist here, so it cannot
        log in); any other caller as it is."""
        if not caller.internal:
            return caller
        user = self.users.get(caller.user_name)
        if user is None:
            return None
        return internal_caller(caller.user_name, user, caller.backend_roles, caller.host)

    def roles(self, caller: Caller) -> frozenset[str]:
        held = self._held.get(caller)
        if held is None:
            found = self.resolve(caller)
            held = self.index.roles_for(found) if found is not None else frozenset()
            if len(self._held) < 200_000:
                self._held[caller] = held
        return held

    def of(self, caller: Caller) -> Permissions:
        return self._by_roles(self.roles(caller))

    def for_roles(self, roles: Iterable[str]) -> Permissions:
        return self._by_roles(frozenset(roles))

    def tenant_access(self, roles: frozenset[str]) -> frozenset[tuple[str, str]]:
        """(tenant, read|write) for a set of roles: write where any of them writes (once per
        set: a plan's gains and losses both ask it)."""
        found = self._tenants.get(roles)
        if found is None:
            tenants: dict[str, str] = {}
            for role in roles:
                for name, (access, _) in self.grants(role).tenants.items():
                    if tenants.get(name) != "write":
                        tenants[name] = access
            found = self._tenants[roles] = frozenset(tenants.items())
        return found

    def unbulked_writes(self, caller: Caller) -> tuple[str, ...]:
        """The index patterns on which the caller's roles grant document writes, when none of
        them grants the cluster permission for bulk (empty otherwise): what the node refuses.
        The same answer as :func:`osaccess.access.caveats.bulk_note` over :meth:`of`, from what
        each role grants, without merging the roles' permissions."""
        grants = [self.grants(r) for r in self.roles(caller)]
        if any(g.bulk for g in grants):
            return ()
        return tuple(sorted(frozenset().union(*(g.write_patterns for g in grants))))

    def grants(self, role: str) -> RoleGrants:
        """What one role grants, expanded once and reused for every set it is part of (the
        same object each time)."""
        cached = self._roles.get(role)
        if cached is not None:
            return cached
        definition = self.definitions.get(role)
        other = self._reuse
        if (
            other is not None
            and definition is not None
            and other.definitions.get(role) is definition
        ):
            shared = self._roles[role] = other.grants(role)
            return shared
        cluster: dict[str, list[Source]] = {}
        index: dict[_IndexKey, dict[str, list[Source]]] = {}
        tenants: dict[str, tuple[str, list[Source]]] = {}
        if definition is not None:
            for action in sorted(definition.cluster_permissions):
                for concrete, chain in self.expander.expand(action).items():
                    cluster.setdefault(concrete, []).append(Source(role, chain))
            for permission in definition.index_permissions:
                key = (
                    tuple(sorted(permission.index_patterns)),
                    permission.dls or "",
                    tuple(sorted(permission.fls)),
                    tuple(sorted(permission.masked_fields)),
                )
                actions = index.setdefault(key, {})
                for action in sorted(permission.allowed_actions):
                    for concrete, chain in self.expander.expand(action).items():
                        actions.setdefault(concrete, []).append(Source(role, chain))
            for tenant_permission in definition.tenant_permissions:
                expanded: set[str] = set()
                for action in tenant_permission.allowed_actions:
                    expanded |= set(self.expander.expand(action))
                access = _tenant_access(expanded)
                for name in tenant_permission.tenant_patterns:
                    held, sources = tenants.get(name, ("read", []))
                    tenants[name] = ("write" if "write" in (held, access) else "read", sources)
                    sources.append(Source(role))
        grants = RoleGrants(
            {a: tuple(s) for a, s in cluster.items()},
            {k: {a: tuple(s) for a, s in v.items()} for k, v in index.items()},
            {n: (a, tuple(s)) for n, (a, s) in tenants.items()},
            frozenset((p, a) for k, v in index.items() for p in k[0] for a in v),
            frozenset(definition.cluster_permissions) if definition else frozenset(),
            frozenset(
                (pattern, action)
                for permission in definition.index_permissions
                for pattern in permission.index_patterns
                for action in permission.allowed_actions
            )
            if definition
            else frozenset(),
            grants_bulk(cluster),
            frozenset(p for k, v in index.items() if writes_documents(v) for p in k[0]),
        )
        self._roles[role] = grants
        return grants

    def _for_roles(self, roles: frozenset[str]) -> Permissions:
        cluster: dict[str, tuple[Source, ...]] = {}
        index: dict[_IndexKey, dict[str, tuple[Source, ...]]] = {}
        tenants: dict[str, tuple[str, tuple[Source, ...]]] = {}
        for role in sorted(roles):
            grants = self.grants(role)
            for action, sources in grants.cluster.items():
                cluster[action] = cluster.get(action, ()) + sources
            for key, actions in grants.index.items():
                merged = index.get(key)
                if merged is None:
                    index[key] = actions
                    continue
                merged = dict(merged)
                for action, sources in actions.items():
                    merged[action] = merged.get(action, ()) + sources
                index[key] = merged
            for name, (access, sources) in grants.tenants.items():
                held, before = tenants.get(name, ("read", ()))
                tenants[name] = ("write" if "write" in (held, access) else "read", before + sources)
        return Permissions(
            roles=tuple(sorted(roles)),
            cluster=dict(sorted(cluster.items())),
            index=tuple(
                IndexGrant(
                    patterns=key[0],
                    actions=dict(sorted(actions.items())),
                    dls=key[1] or None,
                    fls=key[2],
                    masked_fields=key[3],
                )
                for key, actions in sorted(index.items())
            ),
            tenants=dict(sorted(tenants.items())),
            undefined=tuple(sorted(r for r in roles if r not in self.definitions)),
        )


_IndexKey = tuple[tuple[str, ...], str, tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True)
class RoleGrants:
    """What one role grants, its action groups expanded, each grant with its sources."""

    cluster: dict[str, tuple[Source, ...]]
    index: dict[_IndexKey, dict[str, tuple[Source, ...]]]
    tenants: dict[str, tuple[str, tuple[Source, ...]]]
    pairs: frozenset[tuple[str, str]]
    # as the role names them (action groups unexpanded), for people
    named_cluster: frozenset[str] = frozenset()
    named_pairs: frozenset[tuple[str, str]] = frozenset()
    bulk: bool = False  # a cluster action covers indices:data/write/bulk
    write_patterns: frozenset[str] = frozenset()  # patterns of its grants with document writes


# -- who a mapping entry stands for ------------------------------------------------------------


@dataclass(frozen=True, order=True)
class MappedPrincipal:
    """A principal as a mapping entry names it: a value, or a pattern that stands for anyone
    matching it."""

    label: str
    caller: Caller = field(compare=False)
    value: str = field(default="", compare=False)  # as the mapping (or the user) names it


def internal_caller(
    name: str, user: InternalUser, extra: Iterable[str] = (), host: str | None = None
) -> Caller:
    """How the security plugin sees an internal user: its backend roles (and any given), the
    roles it holds directly, its attributes."""
    return Caller(
        name, user.backend_roles | frozenset(extra), host, True, user.roles, user.attributes
    )


def user_subjects(names: Iterable[str]) -> list[MappedPrincipal]:
    """One subject per internal user; each state fills in what the user is there."""
    return [MappedPrincipal(name, Caller(name, internal=True), name) for name in sorted(set(names))]


def known_subjects(
    mappings: Mapping[str, RoleMapping], users: Iterable[str] = ()
) -> list[MappedPrincipal]:
    """Every principal a state knows: each value of each mapping (patterns as "anyone matching
    ...", and_backend_roles together as one) and each internal user, once each."""
    found: dict[str, MappedPrincipal] = {}
    for mapping in mappings.values():
        found.update((s.label, s) for s in subjects_of(mapping))
    # an internal user named in a mapping's users is that user: one entry, as the user
    found.update((s.label, s) for s in user_subjects(users))
    return sorted(found.values())


def subjects_of(mapping: RoleMapping) -> list[MappedPrincipal]:
    """One subject per principal a mapping names (and_backend_roles together as one)."""
    found = []
    for name in FIELDS:
        if name == "and_backend_roles":
            continue
        for value in sorted(mapping.values(name)):
            found.append(subject(name, value))
    return found + _conjunction(mapping)


@functools.lru_cache(maxsize=65536)
def subject(field_name: str, value: str) -> MappedPrincipal:
    return _subject(field_name, value)


def _conjunction(mapping: RoleMapping) -> list[MappedPrincipal]:
    found = []
    if mapping.and_backend_roles:
        values = sorted(mapping.and_backend_roles)
        found.append(
            MappedPrincipal(
                "anyone with backend roles " + " AND ".join(values),
                Caller("", frozenset(values)),
                " AND ".join(values),
            )
        )
    return found


def _subject(field_name: str, value: str) -> MappedPrincipal:
    pattern = pattern_kind(value) != "exact"
    if field_name == "users":
        return MappedPrincipal(
            f"anyone matching {value}" if pattern else value, Caller(value), value
        )
    if field_name == "hosts":
        return MappedPrincipal(
            f"anyone connecting from {value}", Caller("", frozenset(), value), value
        )
    # backend_roles: an IAM role ARN is its own user name on Amazon OpenSearch Service
    if value.startswith("arn:"):
        label = f"anyone matching {value}" if pattern else value
        return MappedPrincipal(label, Caller(value, frozenset({value})), value)
    return MappedPrincipal(
        f"anyone with backend role {value}", Caller("", frozenset({value})), value
    )
