"""`osaccess who-can ACTION [INDEX]`: every principal a state knows that may do it, and through
which roles. Each principal is asked as `can-i` asks it (:mod:`osaccess.access.cani`), over one
:class:`~osaccess.access.permissions.Evaluator`.

"Every principal a state knows" is each value of each mapping (a pattern stands for anyone
matching it, and is reported as the pattern), each internal user (with its backend roles,
attributes and roles held directly) and each backend role. A caller that gets roles from several
mappings at once (a user with two backend roles) is not a principal of the state unless it is
an internal user; its access is the union of what each of them is listed with.

ACTION may also be a pattern (``indices:data/write/*``) or an action group (``write``), and
INDEX a pattern (``audit-*``): then a principal is listed when it may do any of those actions
on any index the pattern stands for, with the part it may do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from osaccess import errors
from osaccess.access.cani import Answer, Request, can_i, request_for
from osaccess.access.permissions import Evaluator, MappedPrincipal, known_subjects


@dataclass(frozen=True)
class Holder:
    principal: str  # as reported: a value, "anyone matching PATTERN", ...
    value: str  # as the mapping or the user names it
    kind: str  # internal user, user, backend role, host, backend roles (AND)
    answers: tuple[Answer, ...]  # the allowed (or depending) answers, one per action asked

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles that grant it (depending: the roles the principal holds)."""
        found = {
            source.split(" via ", 1)[0]
            for answer in self.answers
            for check in answer.checks
            for source in check.granted_by
        }
        return tuple(sorted(found)) or tuple(sorted({r for a in self.answers for r in a.roles}))

    def data(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "value": self.value,
            "kind": self.kind,
            "roles": list(self.roles),
            "reasons": [reason for a in self.answers for reason in a.reasons()],
            "depends_on": [d for a in self.answers for d in a.depends],
        }


@dataclass(frozen=True)
class WhoCan:
    action: str
    index: str | None
    requests: tuple[Request, ...]
    principals: tuple[Holder, ...]  # may do it
    depending: tuple[Holder, ...]  # may, depending on what only the node knows
    source: str = ""

    def data(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "index": self.index,
            "checks": [
                {"cluster": list(r.cluster), "index": list(r.index_actions)} for r in self.requests
            ],
            "principals": [h.data() for h in self.principals],
            "depends": [h.data() for h in self.depending],
            "source": self.source,
        }


def requests(action: str, index: str | None, evaluator: Evaluator) -> tuple[Request, ...]:
    """What is asked: an action group stands for each action it holds (any of them)."""
    name = action.strip()
    if ":" not in name and " " not in name and name not in evaluator.expander.groups:
        raise errors.ConfigError(
            f"{name!r} is not an action name, a REST form or an action group of this state",
            hint='give an action (indices:data/write/index), a REST form ("DELETE /logs-1") or '
            "an action group the cluster or the file defines (write, read, ...)",
        )
    if name in evaluator.expander.groups:
        found = []
        for concrete in sorted(evaluator.expander.expand(name)):
            if concrete.startswith("cluster:") or index is None:
                found.append(Request((concrete,), (), index, concrete, loose=True))
            else:
                found.append(Request((), (concrete,), index, concrete, loose=True))
        return tuple(found)
    return (request_for(name, index, loose=True),)


def _kind(subject: MappedPrincipal) -> str:
    caller = subject.caller
    if caller.internal:
        return "internal user"
    if caller.host:
        return "host"
    if len(caller.backend_roles) > 1:
        return "backend roles (AND)"
    if caller.backend_roles:
        return "IAM role" if subject.value.startswith("arn:") else "backend role"
    return "user"


def who_can(
    evaluator: Evaluator,
    action: str,
    index: str | None,
    mappings: Mapping[str, Any] | None = None,
    source: str = "",
) -> WhoCan:
    """Every principal of the evaluator's state that may do ``action`` (on ``index``)."""
    asked = requests(action, index, evaluator)
    allowed, depending = [], []
    subjects = (
        known_subjects(mappings, evaluator.users) if mappings is not None else evaluator.known()
    )
    for subject in subjects:
        caller = evaluator.resolve(subject.caller)
        if caller is None:
            continue
        permissions = evaluator.of(caller)
        if not permissions.roles:
            continue
        answers = [can_i(permissions, caller, request) for request in asked]
        yes = tuple(a for a in answers if a.allowed)
        maybe = tuple(a for a in answers if not a.allowed and a.depends)
        holder = Holder(subject.label, subject.value, _kind(subject), yes or maybe)
        if yes:
            allowed.append(holder)
        elif maybe:
            depending.append(holder)
    return WhoCan(action, index, asked, tuple(allowed), tuple(depending), source)


def render(result: WhoCan) -> str:
    what = result.action + (f" on {result.index}" if result.index else "")
    if not result.principals and not result.depending:
        return f"nobody known to {result.source or 'this state'} may {what}\n"
    lines = [f"who may {what} ({result.source}):" if result.source else f"who may {what}:"]
    for holder in result.principals:
        lines.append(f"  {holder.principal}   ({holder.kind}; roles: {', '.join(holder.roles)})")
        lines += [f"    {reason}" for a in holder.answers for reason in a.reasons()]
    if result.depending:
        lines.append("depending on what only the node knows:")
        for holder in result.depending:
            lines.append(f"  {holder.principal}   ({holder.kind})")
            lines += [f"    depends on {d}" for a in holder.answers for d in a.depends]
    return "\n".join(lines) + "\n"
