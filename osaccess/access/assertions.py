"""Access tests: what a file says must (and must not) be possible, checked against a state.

A file's ``tests:`` list holds three kinds of entry (docs/permissions.md):

- a principal's tests: ``principal`` (with optional ``backend_roles`` and ``attributes``) and
  ``can`` / ``cannot`` lists of ``{action, index}``, each answered as `can-i` answers it;
- ``only: ROLE`` with ``principals``: nobody else holds the role (patterns and backend roles
  count as what they are named by);
- ``nobody: {action, index}`` with optional ``except``: no principal of the state may do it
  (the action may be a pattern or an action group, the index a pattern), as `who-can` answers.

Each failure names the test, its line, and the reason as `can-i` or `who-can` gives it. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from osaccess import errors
from osaccess.access.state import DirectoryFor, principal_in
from osaccess.file.access_tests import AccessTest, Probe
from osaccess.plugin.forms import request_for

if TYPE_CHECKING:  # loading a file reads tests without the evaluator (validate stays quick)
    from osaccess.access.cani import Answer
    from osaccess.access.known import Known
    from osaccess.access.permissions import Evaluator


@dataclass(frozen=True)
class Failure:
    test: str
    line: int
    reason: str

    def data(self) -> dict[str, Any]:
        return {"test": self.test, "line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class Report:
    path: str
    tests: int
    failures: tuple[Failure, ...]
    source: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures

    def data(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "source": self.source,
            "tests": self.tests,
            "failed": len(self.failures),
            "failures": [f.data() for f in self.failures],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Report:
        failures = tuple(
            Failure(str(f["test"]), int(f["line"]), str(f["reason"])) for f in data["failures"]
        )
        return cls(str(data["file"]), int(data["tests"]), failures, str(data.get("source", "")))

    def lines(self) -> list[str]:
        where = f" ({self.source})" if self.source else ""
        if self.ok:
            return [f"{self.path}: all {self.tests} access test(s) hold{where}"]
        found = [f"{self.path}: {len(self.failures)} of {self.tests} access test(s) fail{where}"]
        found += [f"  {self.path}:{f.line}: {f.test}: {f.reason}" for f in self.failures]
        return found


def run(
    tests: Sequence[AccessTest],
    evaluator: Evaluator,
    path: str,
    source: str = "",
    facts: tuple[Mapping[str, frozenset[str]] | None, Known | None] = (None, None),
    directory_for: DirectoryFor | None = None,
) -> Report:
    """``facts``: the cluster's aliases and data streams, and its version and indices, when
    read (can-i checks what is behind an alias, and follows the version); ``directory_for``:
    IAM, when it may be asked (an STS session's role path), as can-i asks it."""
    failures: list[Failure] = []
    for test in tests:
        if test.kind == "only":
            failures += _only(test, evaluator)
        elif test.kind == "nobody":
            failures += _nobody(test, evaluator)
        else:
            failures += _principal(test, evaluator, facts, directory_for)
    return Report(path, len(tests), tuple(failures), source)


def ask(
    test: AccessTest,
    evaluator: Evaluator,
    probe: Probe,
    facts: tuple[Mapping[str, frozenset[str]] | None, Known | None] = (None, None),
    directory_for: DirectoryFor | None = None,
) -> Answer:
    """can-i's answer to one probe, for the test's principal as can-i resolves it."""
    from osaccess.access.cani import can_i

    who = principal_in(evaluator.users, test.principal, test.backend_roles, None, directory_for)
    caller = who.caller
    merged = {**dict(caller.attributes), **dict(test.attributes)}
    caller = replace(caller, attributes=tuple(sorted(merged.items())))
    request = request_for(probe.action, probe.index)
    return can_i(evaluator.of(caller), caller, request, facts[0], facts[1])


def _principal(
    test: AccessTest,
    evaluator: Evaluator,
    facts: tuple[Mapping[str, frozenset[str]] | None, Known | None],
    directory_for: DirectoryFor | None,
) -> list[Failure]:
    found = []
    for probe in test.can:
        answer = ask(test, evaluator, probe, facts, directory_for)
        if not answer.allowed:
            refused = zip(answer.checks, answer.reasons(), strict=True)
            why = "; ".join(reason for c, reason in refused if not c.allowed)
            what = f"{test.principal} cannot {probe.text}: {why}"
            found.append(Failure(test.label, probe.line, what))
    for probe in test.cannot:
        answer = ask(test, evaluator, probe, facts, directory_for)
        if answer.allowed or answer.depends:
            how = "may" if answer.allowed else "may, depending on what only the node knows,"
            why = "; ".join(answer.reasons())
            what = f"{test.principal} {how} {probe.text}: {why}"
            found.append(Failure(test.label, probe.line, what))
    return found


def _only(test: AccessTest, evaluator: Evaluator) -> list[Failure]:
    allowed = set(test.principals)
    found = []
    for subject in evaluator.known():
        if subject.value in allowed or subject.label in allowed:
            continue
        if test.role in evaluator.roles(subject.caller):
            found.append(
                Failure(test.label, test.line, f"{subject.label} holds {test.role}: not listed")
            )
    return found


def _nobody(test: AccessTest, evaluator: Evaluator) -> list[Failure]:
    from osaccess.access.whocan import who_can

    assert test.probe is not None
    try:
        result = who_can(evaluator, test.probe.action, test.probe.index)
    except errors.ConfigError as exc:
        return [Failure(test.label, test.line, exc.message)]
    allowed = set(test.principals)
    found = []
    for holder, how in [(h, "may") for h in result.principals] + [
        (h, "may, depending on what only the node knows,") for h in result.depending
    ]:
        if holder.value in allowed or holder.principal in allowed:
            continue
        why = "; ".join(r for a in holder.answers for r in a.reasons())
        found.append(
            Failure(test.label, test.line, f"{holder.principal} {how} {test.probe.text}: {why}")
        )
    return found
