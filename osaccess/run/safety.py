"""The guards that stand between a plan and the cluster (docs/safety.md).

- lockout: after the plan the caller must still hold one of the file's admin roles (the roles that
  grant the security REST API), if it holds one now;
- admin roles are never left without any principal;
- protected principals are never removed;
- mass removal: more than ``removal_percent`` of the managed principals (once there are at least
  ``removal_minimum``), or deleting a whole mapping, needs --force.

A pure function of the plan, the live state, the file's settings and who the caller is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from osaccess import kinds
from osaccess.kinds.base import Action
from osaccess.kinds.internal_users import INTERNAL_USERS
from osaccess.kinds.mappings import FIELDS, MAPPINGS, removed
from osaccess.kinds.planning import applied
from osaccess.kinds.roles import ROLES, RoleDefinition
from osaccess.model import LiveState, Safety
from osaccess.plugin.matching import Caller, Match, roles_of
from osaccess.run.plan import Plan


@dataclass(frozen=True)
class Identity:
    """Who the cluster says the caller is (GET _plugins/_security/authinfo)."""

    user_name: str
    backend_roles: frozenset[str]
    roles: frozenset[str]
    remote_address: str | None = None

    @classmethod
    def from_authinfo(cls, info: dict[str, Any]) -> Identity:
        address = info.get("remote_address")
        host = str(address).rsplit(":", 1)[0] if address else None
        return cls(
            user_name=str(info.get("user_name", "")),
            backend_roles=frozenset(str(r) for r in info.get("backend_roles") or []),
            roles=frozenset(str(r) for r in info.get("roles") or []),
            remote_address=host,
        )

    @property
    def caller(self) -> Caller:
        return Caller(self.user_name, self.backend_roles, self.remote_address)


@dataclass(frozen=True)
class Refusal:
    guard: str  # lockout | empty-admin-role | protected | removal-threshold | mapping-deletion
    # | definition-deletion | own-user
    message: str
    forcible: bool = False  # --force lets apply go ahead anyway


def evaluate(
    plan: Plan, live: LiveState, safety: Safety, identity: Identity | None
) -> list[Refusal]:
    refusals: list[Refusal] = []
    before = live.models(MAPPINGS.name)
    after = applied(live, plan.of(MAPPINGS.name)).models(MAPPINGS.name)
    if identity is not None:
        refusals += _lockout(plan, before, after, safety, identity)
    # all_access and security_manager always count, whatever admin_roles says
    for role in sorted(set(safety.admin_roles) | {"all_access", "security_manager"}):
        if (
            role in before
            and before[role].principal_count
            and (role not in after or not after[role].principal_count)
        ):
            refusals.append(
                Refusal(
                    "empty-admin-role",
                    f"the plan leaves {role!r} with no "
                    "principal at all: nobody could manage security through it",
                )
            )
    mappings = plan.of(MAPPINGS.name)
    for change in mappings:
        for name in FIELDS:
            for value in sorted(removed(change, name) & safety.protect):
                refusals.append(
                    Refusal(
                        "protected",
                        f"the plan removes protected principal "
                        f"{value!r} from {change.name!r} ({name})",
                    )
                )
    managed = sum(before[d].principal_count for d in _managed_roles(plan, live) if d in before)
    taken = plan.removed_count
    if (
        managed >= safety.removal_minimum
        and managed
        and (taken * 100 / managed > safety.removal_percent)
    ):
        gone = [
            f"{value} ({change.name})"
            for change in mappings
            for name in FIELDS
            for value in sorted(removed(change, name))
        ]
        listing = ", ".join(gone[:20]) + (f" and {len(gone) - 20} more" if len(gone) > 20 else "")
        refusals.append(
            Refusal(
                "removal-threshold",
                f"the plan removes {taken} of the {managed} principals in the mappings it "
                f"manages ({taken * 100 / managed:.0f}%, more than "
                f"{safety.removal_percent:g}%): {listing}",
                forcible=True,
            )
        )
    for change in plan.changes:
        if change.action is Action.DELETE:
            kind = kinds.by_name(change.kind)
            lose = change.principals[1]
            refusals.append(
                Refusal(
                    kind.deletion_guard,
                    f"the plan deletes {kind.called(change.name)}"
                    + (f" ({lose} principal(s))" if lose else ""),
                    forcible=True,
                )
            )
    if identity is not None:
        refusals += _definition_lockout(plan, before, after, safety, identity)
        refusals += _own_user(plan, after, safety, identity)
    return refusals


def _own_user(
    plan: Plan, after: dict[str, Any], safety: Safety, identity: Identity
) -> list[Refusal]:
    """The caller's own internal user: not deleted, its password not changed, and not stripped
    of the roles (direct, or mapped through its backend roles) that give it the security API."""
    change = next(
        (c for c in plan.of(INTERNAL_USERS.name) if c.name == identity.user_name),
        None,
    )
    if change is None or change.before is None:
        return []
    admin = set(safety.admin_roles)
    you = f"your own internal user {change.name!r}"
    if change.after is None:
        return [Refusal("own-user", f"the plan deletes {you}: you could not log in", True)]
    found = []
    if change.after.send is not None:
        found.append(
            Refusal(
                "own-user",
                f"the plan changes the password of {you} ({change.after.send}): this run and "
                "every other that logs in with the old one would be locked out",
                True,
            )
        )
    held = admin & identity.roles
    caller = Caller(change.name, change.after.backend_roles, identity.remote_address)
    held_after = admin & (set(roles_of(after, caller)) | change.after.roles)
    if held and not held_after:
        lost = sorted(admin & (change.before.roles - change.after.roles))
        how = f"takes {', '.join(lost)} from its roles" if lost else "changes its backend roles"
        found.append(
            Refusal(
                "own-user",
                f"the plan would lock you out: it {how}, and {you} would no longer hold any of "
                f"{', '.join(safety.admin_roles)} (the roles that grant the security REST API)",
                True,
            )
        )
    return found


# Cluster permissions through which a role may use the security REST API itself (beside
# plugins.security.restapi.roles_enabled, which names roles).
SECURITY_API_PERMISSIONS = ("*", "cluster:admin/opendistro_security/*", "restapi:admin/*")


def _definition_lockout(
    plan: Plan, before: dict[str, Any], after: dict[str, Any], safety: Safety, identity: Identity
) -> list[Refusal]:
    """The caller must not lose, through a definition change, the admin role it relies on."""
    caller = identity.caller
    held = (identity.roles | set(roles_of(before, caller))) & set(safety.admin_roles)
    held_after = set(identity.roles | set(roles_of(after, caller))) & set(safety.admin_roles)
    cut: list[str] = []
    for change in plan.of(ROLES.name):
        if change.name not in held:
            continue
        if change.action is Action.DELETE:
            cut.append(f"it deletes the definition of {change.name!r}")
            held_after.discard(change.name)
        elif isinstance(change.before, RoleDefinition) and isinstance(change.after, RoleDefinition):
            lost = {
                p for p in SECURITY_API_PERMISSIONS if p in change.before.cluster_permissions
            } - change.after.cluster_permissions
            if lost:
                cut.append(f"it removes {', '.join(sorted(lost))} from {change.name!r}")
                held_after.discard(change.name)
    if not cut or held_after:
        return []
    return [
        Refusal(
            "lockout",
            f"the plan would lock you out: {identity.user_name} would no longer hold a working "
            f"admin role ({', '.join(safety.admin_roles)}) — " + "; ".join(cut),
        )
    ]


def _managed_roles(plan: Plan, live: LiveState) -> list[str]:
    names = {c.name for c in plan.of(MAPPINGS.name)} | {
        u.name for u in plan.unchanged_of(MAPPINGS.name)
    }
    return sorted(n for n in names if n in live.defined(MAPPINGS.name))


def _lockout(
    plan: Plan, before: dict[str, Any], after: dict[str, Any], safety: Safety, identity: Identity
) -> list[Refusal]:
    caller = identity.caller
    via_before = roles_of(before, caller)
    # roles held by other means (e.g. an internal user's own roles) are not ours to lose
    other = identity.roles - set(via_before)
    holds_now = (identity.roles | set(via_before)) & set(safety.admin_roles)
    if not holds_now:
        return []
    holds_after = (set(roles_of(after, caller)) | other) & set(safety.admin_roles)
    if holds_after:
        return []
    cuts = []
    for role in sorted(holds_now):
        reasons: list[Match] = via_before.get(role, [])
        change = next((c for c in plan.of(MAPPINGS.name) if c.name == role), None)
        what = (
            "deletes the mapping"
            if change and change.action is Action.DELETE
            else ("removes " + ", ".join(f"{m.pattern!r} from {m.field}" for m in reasons))
        )
        cuts.append(f"{role!r}: the plan {what}")
    return [
        Refusal(
            "lockout",
            f"the plan would lock you out: {identity.user_name} would no longer hold any of "
            f"{', '.join(safety.admin_roles)} (the roles that grant the security REST API) — "
            + "; ".join(cuts),
        )
    ]
