"""The plan document: the one place that dumps a plan to JSON and loads it back.

`plan --format json` prints it, `plan --out` writes it and `apply --plan` reads it; text and
Markdown are rendered from the same :class:`~osaccess.run.plan.Plan` and :class:`PlanContext`. The
document is lossless: ``load(dump(plans)) == plans`` (a property test holds it to that), so a
reviewed plan shows, when applied, exactly what the reviewer saw.

It carries a checksum over its whole content, each plan's connection settings (never a secret),
the file's safety settings, and a fingerprint of every entry the file names, of every kind, as
the cluster held it when read; `apply --plan` refuses the plan when that fingerprint no longer
matches the cluster.
Format: docs/plan-format.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from osaccess import __version__, errors, kinds
from osaccess.access.assertions import Report
from osaccess.access.impact import AccessChange
from osaccess.kinds.base import Action, Change, Unchanged
from osaccess.model import ClusterSpec, LiveState, Safety
from osaccess.run.plan import Plan
from osaccess.run.safety import Refusal

# 2: one list of changes of every kind (1 kept role mappings apart)
FORMAT_VERSION = 2


@dataclass(frozen=True)
class PlanContext:
    """Where a plan came from and where it goes."""

    file: str
    endpoint: str
    api_prefix: str
    cluster: ClusterSpec | None = None  # how to connect again (apply --plan); no secrets
    safety: Safety | None = None
    fingerprint: str | None = None  # of every entry the file names, of every kind, as read
    caller: str | None = None  # who made the plan, as the cluster sees it
    refusals: tuple[Refusal, ...] = ()
    tests: Report | None = None  # the file's access tests on the cluster after the plan


Planned = tuple[Plan, PlanContext]


def fingerprint(live: LiveState, plan: Plan) -> str:
    """A digest of everything the plan's file names, of every kind, as the cluster held it
    (absent ones as null)."""
    state: dict[str, Any] = {}
    for kind, name in managed(plan):
        entry = live.defined(kind).get(name)
        state[f"{kind}/{name}"] = entry.definition.to_wire() if entry is not None else None
    return _digest(state)


def by_kind(plan: Plan) -> dict[str, dict[str, int]]:
    """What the plan does to each kind it touches or names: creates, updates, deletes, and the
    entries left as they are."""
    found: dict[str, dict[str, int]] = {}

    def count(kind: str, what: str) -> None:
        entry = found.setdefault(kind, {"create": 0, "update": 0, "delete": 0, "unchanged": 0})
        entry[what] += 1

    for change in plan.changes:
        count(change.kind, change.action.value)
    for entry in plan.unchanged:
        count(entry.kind, "unchanged")
    return found


def managed(plan: Plan) -> list[tuple[str, str]]:
    """(kind, name) of every entry the plan's file names: the fingerprint covers exactly these."""
    return sorted(
        {(c.kind, c.name) for c in plan.changes} | {(u.kind, u.name) for u in plan.unchanged}
    )


# -- dump ---------------------------------------------------------------------------------------


def plan_data(plan: Plan, context: PlanContext) -> dict[str, Any]:
    """One plan's data form; the JSON document holds a list of these."""
    return {
        "format_version": FORMAT_VERSION,
        "osaccess_version": __version__,
        "file": context.file,
        "cluster": {"endpoint": context.endpoint, "api_prefix": context.api_prefix},
        "summary": {
            "create": plan.count(Action.CREATE),
            "update": plan.count(Action.UPDATE),
            "delete": plan.count(Action.DELETE),
            "unchanged": len(plan.unchanged),
            "principals_added": plan.added_count,
            "principals_removed": plan.removed_count,
            "by_kind": by_kind(plan),
        },
        "changes": [_change_data(change) for change in plan.changes],
        "unchanged": [_unchanged_data(entry) for entry in plan.unchanged],
        "access_changes": [change.data() for change in plan.access_changes],
        "warnings": list(plan.warnings),
        "names": dict(sorted(plan.names.items())),
        "caller": context.caller,
        "tests": None if context.tests is None else context.tests.data(),
        "fingerprint": context.fingerprint,
        "connection": None if context.cluster is None else dataclasses.asdict(context.cluster),
        "safety": None
        if context.safety is None
        else {
            "admin_roles": list(context.safety.admin_roles),
            "protect": sorted(context.safety.protect),
            "removal_percent": context.safety.removal_percent,
            "removal_minimum": context.safety.removal_minimum,
            "refusals": [dataclasses.asdict(r) for r in context.refusals],
        },
    }


def _change_data(change: Change) -> dict[str, Any]:
    kind = kinds.by_name(change.kind)
    return {
        "kind": change.kind,
        "name": change.name,
        "action": change.action.value,
        "before": change.before.to_wire() if change.before is not None else None,
        "after": change.after.to_wire() if change.after is not None else None,
        "detail": kind.detail_data(change.detail),
        **kind.change_data(change),
    }


def _unchanged_data(entry: Unchanged) -> dict[str, Any]:
    detail = kinds.by_name(entry.kind).detail_data(entry.detail)
    return {"kind": entry.kind, "name": entry.name, "detail": detail}


def dump(plans: list[Planned]) -> str:
    """The JSON document, with a checksum over all of it."""
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "osaccess_version": __version__,
        "plans": [plan_data(plan, context) for plan, context in plans],
    }
    document["checksum"] = checksum(document)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def checksum(document: dict[str, Any]) -> str:
    return _digest({key: value for key, value in document.items() if key != "checksum"})


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- load ---------------------------------------------------------------------------------------


def read(path: Path) -> list[Planned]:
    """Load a plan file; refuse (exit 3) anything osaccess did not write or that was altered."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.ConfigError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        _refuse(path, f"not a plan written by osaccess (not UTF-8: {exc.reason})")
    return load(text, str(path))


def load(text: str, name: str = "the plan") -> list[Planned]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        _refuse(name, f"not a plan written by osaccess (invalid JSON: {exc})")
    if not isinstance(document, dict) or "plans" not in document:
        _refuse(name, "not a plan written by osaccess plan --out")
    if document.get("format_version") != FORMAT_VERSION:
        _refuse(
            name,
            f"plan format {document.get('format_version')!r}; this osaccess reads {FORMAT_VERSION}",
        )
    if document.get("checksum") != checksum(document):
        _refuse(
            name,
            "the plan was altered after it was made (its checksum does not match)",
            "apply only the plan that was reviewed; make a new one with "
            "`osaccess plan --out` if it must change",
        )
    try:
        return [_entry(entry) for entry in document["plans"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        _refuse(name, f"the plan is incomplete ({type(exc).__name__}: {exc})")


def _refuse(
    name: object, message: str, hint: str = "make a new plan with `osaccess plan --out`"
) -> NoReturn:
    raise errors.Refused(f"{name}: {message}", hint=hint)


def _strings(values: Iterable[Any]) -> frozenset[str]:
    result = frozenset(values)
    if not all(isinstance(v, str) for v in result):
        raise ValueError("a value that is not a string")
    return result


def _value(kind: str, body: Mapping[str, Any] | None) -> Any | None:
    return None if body is None else kinds.by_name(kind).from_plan(body)


def _known(kind: Any) -> str:
    name = str(kind)
    if name not in {k.name for k in kinds.registered()}:
        raise ValueError(f"a change of kind {name!r}, which this osaccess does not know")
    return name


def _entry(entry: dict[str, Any]) -> Planned:
    connection = entry["connection"]
    if connection is None:
        raise ValueError("no connection settings")
    known = {f.name for f in dataclasses.fields(ClusterSpec)}
    settings: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in connection.items() if k in known
    }
    cluster = ClusterSpec(**settings)
    raw_safety = entry["safety"]
    if raw_safety is None:
        raise ValueError("no safety settings")
    safety = Safety(
        admin_roles=tuple(raw_safety["admin_roles"]),
        protect=_strings(raw_safety["protect"]),
        removal_percent=float(raw_safety["removal_percent"]),
        removal_minimum=int(raw_safety["removal_minimum"]),
    )
    refusals = tuple(
        Refusal(str(r["guard"]), str(r["message"]), bool(r["forcible"]))
        for r in raw_safety["refusals"]
    )
    changes = tuple(
        Change(
            kind=(kind := _known(raw["kind"])),
            name=str(raw["name"]),
            action=Action(raw["action"]),
            before=_value(kind, raw["before"]),
            after=_value(kind, raw["after"]),
            detail=kinds.by_name(kind).detail_from_data(raw["detail"]),
        )
        for raw in entry["changes"]
    )
    unchanged = tuple(
        Unchanged(
            kind=(kind := _known(raw["kind"])),
            name=str(raw["name"]),
            detail=kinds.by_name(kind).detail_from_data(raw["detail"]),
        )
        for raw in entry["unchanged"]
    )
    plan = Plan(
        changes,
        unchanged,
        tuple(AccessChange.from_data(c) for c in entry.get("access_changes", [])),
        tuple(str(w) for w in entry.get("warnings", [])),
        {str(k): str(v) for k, v in entry.get("names", {}).items()},
    )
    context = PlanContext(
        file=entry["file"],
        endpoint=entry["cluster"]["endpoint"],
        api_prefix=entry["cluster"]["api_prefix"],
        cluster=cluster,
        safety=safety,
        fingerprint=entry["fingerprint"],
        caller=entry["caller"],
        refusals=refusals,
        tests=Report.from_data(entry["tests"]) if entry.get("tests") else None,
    )
    return plan, context
