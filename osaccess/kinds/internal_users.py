"""Internal users: the security plugin's own user database (endpoint ``internalusers``).

A user holds roles in two ways: through role mappings (its name, its backend roles) and directly
(``opendistro_security_roles``, the file's ``roles``). Its password never lives in the file: the
file names where it comes from (:class:`PasswordSource`), and :mod:`osaccess.run.secrets` reads
it at plan and apply time. The API never returns a password or a hash, so what was last sent is
known by a non-secret attribute on the user (:data:`PASSWORD_VERSION`): the source and its
version (Secrets Manager's ``VersionId``, SSM's ``Version``, or the file's ``password_version``).
A password is sent when the user is created, when that attribute changes, or when asked
(``--rotate-passwords``); otherwise never.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from yaml.nodes import MappingNode, Node, ScalarNode

from osaccess.file.format import Field, Section
from osaccess.file.source import describe
from osaccess.kinds.base import Action, Change, Kind, WriteCost, pointer, strings, text

if TYPE_CHECKING:
    from osaccess.file.reader import Reader
    from osaccess.kinds.live import LiveState

PASSWORD_VERSION = "osaccess_password_version"
SOURCES = ("env", "file", "secretsmanager", "ssm")
SECRET_FIELDS = ("password", "hash")
_VERSIONED = ("secretsmanager", "ssm")  # sources that say which version they hold
_MEMBERS = ("backend_roles", "opendistro_security_roles", "attributes", "description")


@dataclass(frozen=True)
class PasswordSource:
    """Where a password (or a bcrypt hash) comes from: never the secret itself."""

    kind: str  # env | file | secretsmanager | ssm
    ref: str  # the variable, the path, the secret's id, the parameter's name
    key: str | None = None  # secretsmanager: the member of the secret's JSON that holds it
    hash: bool = False  # the source holds a bcrypt hash, not a password
    version: str | None = None  # the file's password_version (for sources without versions)

    @property
    def what(self) -> str:
        return "hash" if self.hash else "password"

    def text(self) -> str:
        key = f" (key {self.key})" if self.key else ""
        return f"{self.what} from {self.kind} {self.ref}{key}"

    def tag(self, version: str | None) -> str:
        """The value of :data:`PASSWORD_VERSION` once this source's secret was sent."""
        key = f"#{self.key}" if self.key else ""
        found = version if self.kind in _VERSIONED else self.version
        return f"{self.kind}:{self.ref}{key}" + (f"@{found}" if found else "")

    def data(self) -> dict[str, Any]:
        body: dict[str, Any] = {self.kind: self.ref}
        if self.key:
            body["key"] = self.key
        if self.hash:
            body["hash"] = True
        if self.version:
            body["password_version"] = self.version
        return body

    @classmethod
    def from_data(cls, body: Mapping[str, Any]) -> PasswordSource:
        (kind,) = [k for k in SOURCES if k in body]
        return cls(
            kind,
            str(body[kind]),
            text(body.get("key")),
            body.get("hash") is True,
            text(body.get("password_version")),
        )


class Secret:
    """A secret read from its source: shown as ``<secret>`` everywhere, sent only in a write."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


@dataclass(frozen=True)
class InternalUser:
    backend_roles: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()  # opendistro_security_roles: held directly
    attributes: tuple[tuple[str, str], ...] = ()  # sorted (name, value)
    description: str | None = None
    # where the password comes from (None: leave it alone); not compared with the cluster's
    password: PasswordSource | None = field(default=None, compare=False)
    # why this change sends the password (None: it does not); see InternalUsers.unchanged
    send: str | None = field(default=None, compare=False)
    secret: Secret | None = field(default=None, compare=False, repr=False)

    @property
    def attribute_map(self) -> dict[str, str]:
        return dict(self.attributes)

    def to_wire(self) -> dict[str, Any]:
        """The user as the API shows it, and (when this change sends one) where its password
        comes from and why; never the password."""
        body: dict[str, Any] = {
            "backend_roles": sorted(self.backend_roles),
            "opendistro_security_roles": sorted(self.roles),
            "attributes": dict(self.attributes),
        }
        if self.description is not None:
            body["description"] = self.description
        if self.send is not None and self.password is not None:
            body["password"] = {"sent": self.send, "source": self.password.data()}
        return body

    def to_request(self) -> dict[str, Any]:
        """What a write sends: the user, and its password or hash when this change sends it."""
        body = self.to_wire()
        body.pop("password", None)
        if self.send is not None:
            if self.secret is None or self.password is None:
                raise ValueError("a password to send was not read from its source")
            body["hash" if self.password.hash else "password"] = self.secret.reveal()
        return body

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> InternalUser:
        raw = body.get("attributes")
        attributes = tuple(
            sorted((str(k), str(v)) for k, v in (raw.items() if isinstance(raw, dict) else ()))
        )
        password = body.get("password")
        source, send = None, None
        if isinstance(password, dict) and isinstance(password.get("source"), dict):
            source, send = PasswordSource.from_data(password["source"]), text(password.get("sent"))
        return cls(
            backend_roles=strings(body.get("backend_roles")),
            roles=strings(body.get("opendistro_security_roles")),
            attributes=attributes,
            description=text(body.get("description")),
            password=source,
            send=send,
        )


def _source_field(name: str, what: str) -> Field:
    return Field(name, "string", what, non_empty=True)


_SOURCE = Section(
    "in a password source",
    (
        _source_field("env", "An environment variable that holds it."),
        _source_field("file", "A file that holds it (a trailing newline is dropped)."),
        _source_field("secretsmanager", "An AWS Secrets Manager secret (name or ARN)."),
        _source_field("key", "secretsmanager: the member of the secret's JSON."),
        _source_field("ssm", "An SSM Parameter Store parameter (a SecureString)."),
    ),
)

INTERNAL_USER = Section(
    "in internal user",
    (
        Field("backend_roles", "strings", "Backend roles: what role mappings see."),
        Field("roles", "strings", "Roles held directly (opendistro_security_roles)."),
        Field("attributes", "attributes", "Attributes (name -> string), for ${attr.internal.*}."),
        Field("description", "string", "Who or what the user is."),
        Field(
            "password",
            "section",
            "Where its password comes from (never the password).",
            section=_SOURCE,
        ),
        Field(
            "hash", "section", "Where its bcrypt hash comes from (never the hash).", section=_SOURCE
        ),
        Field(
            "password_version",
            "string",
            "env and file sources: change it to send the password again.",
            non_empty=True,
        ),
    ),
)


class InternalUsers(Kind):
    name = "internal_users"
    section = "internal_users"
    endpoint = "internalusers"
    label = "internal user"
    include = "internal-users"
    order = 40  # after roles: a user's direct roles must exist
    # the plugin checks each user's roles (and the mappings) exist: 50 users with 5,000 roles
    # took 3.3 s on 2.19.4
    write_cost = WriteCost(per_role=1.3e-5)
    model = InternalUser
    entry = INTERNAL_USER
    summary = "Internal users: name -> backend roles, direct roles, attributes, password source."
    spread = ("attributes", "password")

    def read(
        self, reader: Reader, name: str, keys: dict[str, Node], node: MappingNode, key: Node
    ) -> InternalUser | None:
        ok = True
        attributes: dict[str, str] = {}
        if "attributes" in keys:
            attributes, ok = read_attributes(reader, keys["attributes"])
        if PASSWORD_VERSION in attributes:
            reader.error(
                keys["attributes"],
                f"the attribute {PASSWORD_VERSION!r} is osaccess's own record of what password "
                "it sent",
                "remove it; use password_version to send the password again",
            )
            ok = False
        sources = [k for k in SECRET_FIELDS if k in keys]
        if len(sources) > 1:
            reader.error(
                node, f"internal user {name!r} has both a password and a hash", "keep one of them"
            )
            return None
        source = _source(reader, keys[sources[0]], sources[0]) if sources else None
        if sources and source is None:
            ok = False
        version = None
        if "password_version" in keys:
            version = _version(reader, keys["password_version"])
            if source is not None and source.kind in _VERSIONED:
                reader.error(
                    keys["password_version"],
                    f"password_version is for env and file sources; {source.kind} says which "
                    "version it holds, and osaccess sends the password when that changes",
                    "remove password_version",
                )
                ok = False
            elif source is None:
                reader.error(
                    keys["password_version"],
                    "password_version without a password",
                    "add password: {env: NAME} (or another source)",
                )
                ok = False
        if not ok:
            return None
        return InternalUser(
            backend_roles=frozenset(v for v, _ in reader.values(keys, "backend_roles")),
            roles=frozenset(v for v, _ in reader.values(keys, "roles")),
            attributes=tuple(sorted(attributes.items())),
            description=reader.description(keys),
            password=replace(source, version=version) if source is not None else None,
        )

    # -- values -------------------------------------------------------------------------------

    def settle(self, desired: Any, live: Any | None) -> Any:
        """After apply: an unset description keeps the live one; the password is sent to a new
        user, when its source's version differs from the one last sent, or when asked; without
        a source, the password and the record of it stay as they are."""
        user: InternalUser = super().settle(desired, live)
        recorded = live.attribute_map.get(PASSWORD_VERSION) if live is not None else None
        attributes = dict(user.attributes)
        if user.password is None:
            if recorded is not None:
                attributes[PASSWORD_VERSION] = recorded
            return replace(user, attributes=tuple(sorted(attributes.items())), send=None)
        tag = attributes.get(PASSWORD_VERSION)
        if live is None:
            send: str | None = "new user"
        elif tag != recorded:
            send = "its source or the source's version changed"
        else:
            send = user.send  # "--rotate-passwords", when asked
        return replace(user, send=send)

    def unchanged(self, before: Any | None, after: Any | None) -> bool:
        return before == after and (after is None or after.send is None)

    def request(self, value: Any) -> dict[str, Any]:
        body: dict[str, Any] = value.to_request()
        return body

    def operations(self, change: Change) -> list[dict[str, Any]]:
        """An update that sends no password changes the user's members one by one: an ``add``
        of the whole user without a password would blank it on older versions (2.11.1, seen
        on the node), while the members' ``add`` keeps it on every version."""
        old, new = change.before, change.after
        if change.action is not Action.UPDATE or old is None or new is None or new.send:
            return [change.operation()]
        before, after = old.to_wire(), new.to_request()
        return [
            {"op": "add", "path": f"{pointer(change.name)}/{member}", "value": after[member]}
            for member in _MEMBERS
            if member in after and after[member] != before.get(member)
        ]

    def import_body(self, value: Any) -> dict[str, Any]:
        """Users without passwords (the API has none to give): an existing user's password is
        left alone; attributes without osaccess's record of the last password sent."""
        body = super().import_body(replace(value, password=None, send=None))
        attributes = {k: v for k, v in body.pop("attributes", {}).items() if k != PASSWORD_VERSION}
        roles = body.pop("opendistro_security_roles", None)
        if roles:
            body["roles"] = roles
        if attributes:
            body["attributes"] = attributes
        return body

    def plan_problem(self, name: str, desired: Any, live: Any | None) -> str | None:
        if desired is not None and live is None and desired.password is None:
            return (
                f"the internal user {name!r} does not exist on this cluster and the file gives "
                "no password for it: add password: {env: NAME} (or file, secretsmanager, ssm), "
                "or a hash"
            )
        return None


def users_of(live: LiveState) -> dict[str, InternalUser]:
    """The cluster's internal users, when they were read."""
    return {n: e.definition for n, e in live.defined(INTERNAL_USERS.name).items()}


def read_attributes(reader: Reader, node: Node) -> tuple[dict[str, str], bool]:
    if isinstance(node, ScalarNode) and node.tag.endswith(":null"):
        return {}, True
    if not isinstance(node, MappingNode):
        reader.error(
            node,
            f"attributes must be a mapping of names to strings, not {describe(node)}",
            "write attributes: {team: blue}",
        )
        return {}, False
    found: dict[str, str] = {}
    ok = True
    for key, value in node.value:
        name = reader.string(key, "an attribute's name")
        found_value = reader.string(value, f"the attribute {key.value!r}", allow_empty=True)
        if name is None or found_value is None:
            ok = False
            continue
        found[name] = found_value
    return found, ok


def _source(reader: Reader, node: Node, what: str) -> PasswordSource | None:
    if not isinstance(node, MappingNode):
        if what == "password":
            return None  # the reader refuses every literal secret, wherever it is
        reader.error(
            node,
            f"a literal {what} in the file: secrets never belong in mapping files",
            f"name where it comes from instead: {what}: {{env: NAME}}, {{file: PATH}}, "
            "{secretsmanager: ID, key: KEY} or {ssm: NAME}",
        )
        return None
    keys = reader.keys(node, _SOURCE, f"in {what}")
    kinds = [k for k in SOURCES if k in keys]
    if len(kinds) != 1:
        reader.error(
            node,
            f"{what} names {'no source' if not kinds else 'several sources'}",
            f"give exactly one of {', '.join(SOURCES)}",
        )
        return None
    kind = kinds[0]
    ref = reader.string(keys[kind], kind)
    if ref is None:
        return None
    key = None
    if "key" in keys:
        if kind != "secretsmanager":
            reader.error(
                keys["key"], "key is for secretsmanager sources (a JSON secret)", "remove key"
            )
            return None
        key = reader.string(keys["key"], "key")
        if key is None:
            return None
    return PasswordSource(kind, ref.strip(), key, what == "hash")


def _version(reader: Reader, node: Node) -> str | None:
    if isinstance(node, ScalarNode) and node.tag.endswith((":int", ":str")) and node.value:
        return str(node.value)
    reader.error(
        node,
        f"password_version must be a string or a number, not {describe(node)}",
        "write password_version: 2",
    )
    return None


INTERNAL_USERS = InternalUsers()
