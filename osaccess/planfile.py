"""Reviewed plans: the JSON written by `plan --out`, read back by `apply --plan`.

The document carries a checksum over its whole content, each plan the connection settings
(never a secret), the file's safety settings, and a fingerprint of the live mappings it was made
from. `apply --plan` applies exactly the recorded operations — it never re-plans.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from osaccess import errors
from osaccess.model import ClusterSpec, LiveMapping, Ownership, RoleMapping, Safety
from osaccess.plan import Action, Change, Plan
from osaccess.render import PLAN_FORMAT_VERSION, checksum


def fingerprint(mappings: Mapping[str, LiveMapping], roles: Iterable[str]) -> str:
    """A digest of the live mappings of ``roles`` (absent ones included as null)."""
    state = {
        name: mappings[name].mapping.to_wire() if name in mappings else None
        for name in sorted(set(roles))
    }
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Reviewed:
    file: str
    cluster: ClusterSpec
    api_prefix: str
    safety: Safety
    plan: Plan
    fingerprint: str | None


def load_reviewed(path: Path) -> list[Reviewed]:
    def refuse(message: str, hint: str = "make a new plan with `osaccess plan --out`") -> NoReturn:
        raise errors.Refused(f"{path}: {message}", hint=hint)

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise errors.ConfigError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        refuse(f"not a plan written by osaccess (invalid JSON: {exc})")
    if not isinstance(document, dict) or "plans" not in document:
        refuse("not a plan written by osaccess plan --out")
    if document.get("format_version") != PLAN_FORMAT_VERSION:
        refuse(
            f"plan format {document.get('format_version')!r}; this osaccess reads "
            f"{PLAN_FORMAT_VERSION}"
        )
    if document.get("checksum") != checksum(document):
        refuse(
            "the plan was altered after it was made (its checksum does not match)",
            hint="apply only the plan that was reviewed; make a new one with "
            "`osaccess plan --out` if it must change",
        )
    try:
        return [_entry(entry) for entry in document["plans"]]
    except (KeyError, TypeError, ValueError) as exc:
        refuse(f"the plan is incomplete ({exc})")


def _entry(entry: dict[str, Any]) -> Reviewed:
    connection = entry["connection"]
    if connection is None:
        raise ValueError("no connection settings")
    known = {f.name for f in dataclasses.fields(ClusterSpec)}
    cluster = ClusterSpec(**{k: v for k, v in connection.items() if k in known})
    raw_safety = entry["safety"]
    safety = Safety(
        admin_roles=tuple(raw_safety["admin_roles"]),
        protect=frozenset(raw_safety["protect"]),
        removal_percent=float(raw_safety["removal_percent"]),
        removal_minimum=int(raw_safety["removal_minimum"]),
    )
    changes = []
    for raw in entry["changes"]:
        changes.append(
            Change(
                role=raw["role"],
                action=Action(raw["action"]),
                before=RoleMapping.from_wire(raw["before"]) if raw["before"] is not None else None,
                after=RoleMapping.from_wire(raw["after"]) if raw["after"] is not None else None,
                ownership=Ownership(raw["ownership"]),
            )
        )
    plan = Plan(tuple(changes), tuple(entry.get("unchanged", ())))
    return Reviewed(
        entry["file"],
        cluster,
        entry["cluster"]["api_prefix"],
        safety,
        plan,
        entry.get("fingerprint"),
    )
