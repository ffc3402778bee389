"""The audit trail of applies: one JSON object per line (JSON Lines), appended to a file.

A record says when, which file and cluster, who (the user name the cluster gave the caller),
each change, and the result. It never holds a secret.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from osaccess import __version__, kinds
from osaccess.run.plan import Plan


class Result(str, Enum):
    """How one file's run against its cluster ended: an Outcome's result, and an audit record's
    (an audit record is written for each apply, so never ``planned``)."""

    PLANNED = "planned"  # plan only
    APPLIED = "applied"
    NOTHING_TO_DO = "nothing to do"
    REFUSED = "refused"
    DECLINED = "declined"
    FAILED = "failed"
    PARTIALLY_APPLIED = "partially applied"

    def __str__(self) -> str:
        return self.value


@dataclass
class AuditRecord:
    file: str
    cluster: str
    caller: str | None = None
    plan: Plan | None = None
    result: Result = Result.FAILED
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        changes = [
            {
                "kind": change.kind,
                "name": change.name,
                "action": change.action.value,
                "before": change.before.to_wire() if change.before is not None else None,
                "after": change.after.to_wire() if change.after is not None else None,
                **kinds.by_name(change.kind).change_data(change),
            }
            for change in (self.plan.changes if self.plan else ())
        ]
        return {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "osaccess_version": __version__,
            "file": self.file,
            "cluster": self.cluster,
            "caller": self.caller,
            "changes": changes,
            "result": self.result.value,
            "error": self.error,
            **self.extra,
        }

    def summary(self) -> str:
        count = len(self.plan.changes) if self.plan else 0
        who = self.caller or "unknown caller"
        return f"audit: {self.result.value}: {count} change(s) to {self.cluster} by {who}"


def append(path: Path, record: AuditRecord) -> None:
    line = json.dumps(record.data(), sort_keys=True, ensure_ascii=False) + "\n"
    # One write of one line in append mode: records of concurrent applies do not interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
