"""The ``tests:`` section of a mapping file: access tests (:mod:`osaccess.access.assertions`),
read with file:line errors. Each probe's action is checked here, so a test that cannot be asked
is refused before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass

from yaml.nodes import MappingNode, Node

from osaccess import errors
from osaccess.file.format import Field, Section, text_field
from osaccess.file.reader import Reader
from osaccess.file.source import describe
from osaccess.kinds.internal_users import read_attributes
from osaccess.plugin.forms import request_for


@dataclass(frozen=True)
class Probe:
    action: str
    index: str | None = None
    line: int = 0

    @property
    def text(self) -> str:
        return self.action + (f" on {self.index}" if self.index else "")


@dataclass(frozen=True)
class AccessTest:
    kind: str  # principal | only | nobody
    line: int = 0
    name: str | None = None
    principal: str = ""
    backend_roles: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    can: tuple[Probe, ...] = ()
    cannot: tuple[Probe, ...] = ()
    role: str = ""  # only
    principals: tuple[str, ...] = ()  # only: who may hold the role; nobody: the exceptions
    probe: Probe | None = None  # nobody

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind == "only":
            return f"only {', '.join(self.principals) or 'nobody'} hold {self.role}"
        if self.kind == "nobody" and self.probe is not None:
            return f"nobody may {self.probe.text}"
        return f"tests of {self.principal}"


def check(request_text: str, index: str | None, *, loose: bool = False) -> str | None:
    """Why a probe cannot be asked (None: it can), for the loader's file:line errors."""
    try:
        request_for(request_text, index, loose=loose)
    except errors.ConfigError as exc:
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    return None


PROBE = Section(
    "in an access test's probe",
    (
        text_field(
            "action",
            'An action name (indices:data/read/search), or a REST form ("PUT /logs-1/_doc/1").',
            required=True,
        ),
        text_field("index", "The index (omit it for cluster actions, and in REST forms)."),
    ),
)

TEST = Section(
    "in an access test",
    (
        text_field("name", "What the test checks, for people."),
        text_field("principal", "An IAM ARN, an internal user or a user name."),
        Field("backend_roles", "strings", "Backend roles of the principal."),
        Field("attributes", "attributes", "Attributes of the principal (name -> string)."),
        Field("can", "items", "What the principal may do.", section=PROBE),
        Field("cannot", "items", "What the principal may not do.", section=PROBE),
        text_field("only", "Invariant: only the principals listed hold this role."),
        Field(
            "principals",
            "strings",
            "With only: the principals that may hold the role (values as the mappings name them).",
        ),
        Field(
            "nobody",
            "section",
            "Invariant: no principal may do this (the action may be a pattern or an action "
            "group, the index a pattern).",
            section=PROBE,
        ),
        Field("except", "strings", "With nobody: the principals that may."),
    ),
)

FIELD = Field(
    "tests",
    "items",
    "Access tests: what principals can and cannot do, and invariants (only, nobody); run by "
    "osaccess test, plan, apply and validate.",
    section=TEST,
)

_SHAPES = {
    "principal": ("principal", "backend_roles", "attributes", "can", "cannot"),
    "only": ("only", "principals"),
    "nobody": ("nobody", "except"),
}


def read_tests(reader: Reader, node: Node | None) -> tuple[AccessTest, ...]:
    found = []
    for item in reader.sections(node, "tests"):
        keys = reader.keys(item, TEST)
        test = _test(reader, item, keys)
        if test is not None:
            found.append(test)
    return tuple(found)


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _test(reader: Reader, item: MappingNode, keys: dict[str, Node]) -> AccessTest | None:
    kinds = [kind for kind in _SHAPES if kind in keys]
    if len(kinds) != 1:
        reader.error(
            item,
            "an access test has one of principal, only or nobody"
            + (f" (this one has {', '.join(kinds)})" if kinds else ""),
            "write principal: ... with can/cannot, only: ROLE with principals, or nobody: "
            "{action: ..., index: ...}",
        )
        return None
    kind = kinds[0]
    stray = [k for k in keys if k != "name" and k not in _SHAPES[kind]]
    for key in stray:
        reader.error(keys[key], f"{key} does not go with {kind} in an access test")
    name = reader.string(keys["name"], "name") if "name" in keys else None
    line = _line(item)
    if stray:
        return None
    if kind == "only":
        role = reader.string(keys["only"], "only")
        principals = tuple(v for v, _ in reader.values(keys, "principals"))
        if role is None:
            return None
        return AccessTest("only", line, name, role=role, principals=principals)
    if kind == "nobody":
        probe = _probe(reader, keys["nobody"], loose=True)
        exceptions = tuple(v for v, _ in reader.values(keys, "except"))
        if probe is None:
            return None
        return AccessTest("nobody", line, name, principals=exceptions, probe=probe)
    principal = reader.string(keys["principal"], "principal")
    attributes, ok = (
        read_attributes(reader, keys["attributes"]) if "attributes" in keys else ({}, True)
    )
    can = _probes(reader, keys.get("can"), "can")
    cannot = _probes(reader, keys.get("cannot"), "cannot")
    if not can and not cannot and ok:
        reader.error(item, "an access test of a principal needs can or cannot", "add can: [...]")
        return None
    if principal is None or not ok or None in can or None in cannot:
        return None
    return AccessTest(
        "principal",
        line,
        name,
        principal=principal,
        backend_roles=tuple(v for v, _ in reader.values(keys, "backend_roles")),
        attributes=tuple(sorted(attributes.items())),
        can=tuple(p for p in can if p is not None),
        cannot=tuple(p for p in cannot if p is not None),
    )


def _probes(reader: Reader, node: Node | None, what: str) -> list[Probe | None]:
    return [_probe(reader, item) for item in reader.sections(node, what)]


def _probe(reader: Reader, node: Node, loose: bool = False) -> Probe | None:
    if not isinstance(node, MappingNode):
        reader.error(
            node,
            f"a probe is a mapping {{action: ..., index: ...}}, not {describe(node)}",
            'write {action: "GET /logs-1/_search"}',
        )
        return None
    keys = reader.keys(node, PROBE)
    if not reader.required(keys, node, PROBE):
        return None
    action = reader.string(keys["action"], "action")
    index = reader.string(keys["index"], "index") if "index" in keys else None
    if action is None or ("index" in keys and index is None):
        return None
    is_group = loose and ":" not in action and " " not in action  # an action group
    problem = None if is_group else check(action, index, loose=loose)
    if problem is not None:
        reader.error(keys["action"], problem)
        return None
    return Probe(action.strip(), index.strip() if index else None, _line(node))
