"""Internal users as code: the file's form, where passwords come from, when they are sent, the
guards, and the users in every access answer. Pure logic and a fake cluster; the real node's
behaviour is tests/integration/test_internal_users.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from osaccess import errors
from osaccess.access.impact import access_impact
from osaccess.access.review import review
from osaccess.file.loader import load
from osaccess.kinds.action_groups import builtin_groups
from osaccess.kinds.base import Action
from osaccess.kinds.internal_users import PASSWORD_VERSION, InternalUser, PasswordSource
from osaccess.kinds.live import LiveDefinition
from osaccess.kinds.roles import builtin_roles
from osaccess.model import LiveState, MappingFile
from osaccess.run import plandoc, secrets
from osaccess.run.engine import execute, make_plan, plan
from osaccess.run.safety import Identity, evaluate
from tests.unit import loading
from tests.unit.fakecluster import FakeCluster
from tests.unit.states import state

SECRET = "Blue-Heron-Lantern-42"
HEAD = "cluster: {endpoint: https://fake.test, auth: basic, username: admin}\ninternal_users:\n"


def loaded(tmp_path: Path, body: str) -> MappingFile:
    return loading.loaded(tmp_path, HEAD + body)


def problems(tmp_path: Path, body: str) -> list[str]:
    return loading.problems(tmp_path, HEAD + body)


def resolved(file: MappingFile, rotate: bool = False, **environ: str) -> MappingFile:
    sources = secrets.Sources(lambda: pytest.fail("no AWS here"), Path(file.path).parent, environ)
    return secrets.resolve_file(file, sources, rotate=rotate)


# -- the file ----------------------------------------------------------------------------------


def test_a_user_reads_into_the_model(tmp_path: Path) -> None:
    file = loaded(
        tmp_path,
        "  shipper:\n"
        "    description: Ships logs\n"
        "    backend_roles: [log-shippers]\n"
        "    roles: [logs_writer]\n"
        "    attributes: {team: blue}\n"
        "    password: {secretsmanager: osaccess/shipper, key: password}\n",
    )
    ((wanted),) = file.entries
    assert (wanted.kind, wanted.name) == ("internal_users", "shipper")
    user = wanted.definition
    assert user == InternalUser(
        frozenset({"log-shippers"}), frozenset({"logs_writer"}), (("team", "blue"),), "Ships logs"
    )
    assert user.password == PasswordSource("secretsmanager", "osaccess/shipper", "password")


@pytest.mark.parametrize(
    ("body", "line", "expected"),
    [
        ("  u:\n    password: hunter2-Is-Long\n", 4, "a 'password' key: secrets never belong"),
        ("  u:\n    hash: '$2y$12$abc'\n", 4, "a literal hash in the file"),
        ("  u:\n    password: {env: A}\n    hash: {env: B}\n", 4, "both a password and a hash"),
        ("  u:\n    password: {vault: x}\n", 4, "unknown key 'vault' in password"),
        ("  u:\n    password: {env: A, file: b}\n", 4, "password names several sources"),
        ("  u:\n    password: {env: A, key: k}\n", 4, "key is for secretsmanager sources"),
        (
            "  u:\n    password: {ssm: /p}\n    password_version: 2\n",
            5,
            "password_version is for env and file sources",
        ),
        ("  u:\n    password_version: 2\n", 4, "password_version without a password"),
        (
            f"  u:\n    attributes: {{{PASSWORD_VERSION}: x}}\n",
            4,
            "osaccess's own record of what password it sent",
        ),
        ("  u:\n    attributes: [a]\n", 4, "attributes must be a mapping"),
    ],
)
def test_mistakes_are_refused_at_their_line(
    tmp_path: Path, body: str, line: int, expected: str
) -> None:
    found = problems(tmp_path, body)
    assert any(f"f.yaml:{line}:" in p and expected in p for p in found), found


def test_a_literal_password_elsewhere_is_still_refused_and_a_source_there_is_unknown(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(
        "cluster: {endpoint: https://fake.test, auth: basic, username: a, password: {env: X}}\n"
        "tenants: {}\n"
    )
    (problem,) = [p.render() for p in load(str(path)).errors]
    assert "f.yaml:1:" in problem and "unknown key 'password'" in problem


# -- sources -----------------------------------------------------------------------------------


def test_sources_that_cannot_be_read_are_all_reported_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    (tmp_path / "empty").write_text("\n")
    file = loaded(
        tmp_path,
        "  a:\n    password: {env: NOT_SET}\n"
        "  b:\n    password: {file: empty}\n"
        "  c:\n    password: {file: missing}\n"
        "  d:\n    hash: {env: NOT_A_HASH}\n",
    )
    with pytest.raises(errors.PlanError) as caught:
        resolved(file, NOT_A_HASH=SECRET)
    found = "\n".join(caught.value.problems)
    assert "f.yaml:3: internal user 'a': the environment variable NOT_SET is not set" in found
    assert "f.yaml:5: internal user 'b': the password from file empty is empty" in found
    assert "f.yaml:7: internal user 'c': cannot read" in found
    assert "f.yaml:9: internal user 'd': the hash from env NOT_A_HASH is not a bcrypt hash" in found
    assert SECRET not in str(caught.value) + found


def test_a_file_source_is_read_beside_the_mapping_file_without_its_newline(tmp_path: Path) -> None:
    (tmp_path / "shipper.pw").write_text(SECRET + "\n")
    file = loaded(tmp_path, "  s:\n    password: {file: shipper.pw}\n")
    sources = secrets.sources_for(file.path, lambda: pytest.fail("no AWS"))
    user = secrets.resolve_file(file, sources).entries[0].definition
    assert user.secret.reveal() == SECRET
    assert SECRET not in repr(user) + str(user.secret) + json.dumps(user.to_wire())


# -- when a password is sent -------------------------------------------------------------------


def sent_bodies(cluster: FakeCluster) -> list[Any]:
    return [json.loads(s.body or b"[]") for s in cluster.requests_of("PATCH")]


def test_created_with_its_password_then_not_sent_again_until_its_version_changes(
    tmp_path: Path,
) -> None:
    cluster = FakeCluster()
    file = loaded(tmp_path, "  s:\n    roles: [r]\n    password: {env: PW}\n")
    with cluster.api() as api:
        planned = make_plan(api, resolved(file, PW=SECRET))
        (change,) = planned.plan.changes
        assert (change.action, change.after.send) == (Action.CREATE, "new user")
        execute(api, resolved(file, PW=SECRET), planned)
    (patch,) = sent_bodies(cluster)
    assert patch[0]["value"]["password"] == SECRET
    assert patch[0]["value"]["attributes"] == {PASSWORD_VERSION: "env:PW"}
    stored = cluster.documents["internalusers"]["s"]
    assert stored["opendistro_security_roles"] == ["r"]
    with cluster.api() as api:  # the same source again: nothing to send
        assert make_plan(api, resolved(file, PW="Another-Value-77")).plan.empty
        # asked to: sent again, and said so
        again = make_plan(api, resolved(file, rotate=True, PW="Another-Value-77")).plan
        (change,) = again.changes
        assert change.after.send == secrets.ROTATE
    bumped = loaded(
        tmp_path, "  s:\n    roles: [r]\n    password: {env: PW}\n    password_version: 2\n"
    )
    with cluster.api() as api:
        (change,) = make_plan(api, resolved(bumped, PW=SECRET)).plan.changes
    assert change.after.send == "its source or the source's version changed"
    assert change.after.attribute_map[PASSWORD_VERSION] == "env:PW@2"


def test_without_a_source_an_existing_user_keeps_its_password_and_a_new_one_is_refused(
    tmp_path: Path,
) -> None:
    cluster = FakeCluster()
    cluster.documents["internalusers"]["old"] = {
        "hash": "$2y$12$stored",  # what the node keeps (its GET shows "")
        "backend_roles": [],
        "opendistro_security_roles": [],
        "attributes": {PASSWORD_VERSION: "env:PW"},
    }
    file = loaded(tmp_path, "  old:\n    backend_roles: [b]\n")
    with cluster.api() as api:
        planned = make_plan(api, resolved(file))
        (change,) = planned.plan.changes
        assert change.after.send is None
        # member by member: a whole-user add without a password blanks it on 2.11
        assert change.operations() == [{"op": "add", "path": "/old/backend_roles", "value": ["b"]}]
        execute(api, resolved(file), planned)
    assert cluster.documents["internalusers"]["old"]["hash"] == "$2y$12$stored"
    assert cluster.documents["internalusers"]["old"]["attributes"] == {PASSWORD_VERSION: "env:PW"}
    new = loaded(tmp_path, "  newcomer:\n    backend_roles: [b]\n")
    with cluster.api() as api, pytest.raises(errors.PlanError) as caught:
        make_plan(api, resolved(new))
    assert (
        "the internal user 'newcomer' does not exist on this cluster and the file gives no "
        "password" in "\n".join(caught.value.problems)
    )


def test_a_reviewed_plan_holds_where_the_password_comes_from_never_the_password(
    tmp_path: Path,
) -> None:
    cluster = FakeCluster()
    file = loaded(tmp_path, "  s:\n    password: {env: PW}\n")
    with cluster.api() as api:
        planned = make_plan(api, resolved(file, PW=SECRET))
    context = plandoc.PlanContext(
        file="f.yaml",
        endpoint="https://fake.test",
        api_prefix="_plugins/_security",
        cluster=file.cluster,
        safety=file.safety,
        fingerprint=plandoc.fingerprint(planned.live, planned.plan),
    )
    text = plandoc.dump([(planned.plan, context)])
    assert SECRET not in text
    path = tmp_path / "plan.json"
    path.write_text(text)
    ((reviewed, _),) = plandoc.read(path)
    (change,) = reviewed.changes
    assert change.after.secret is None and change.after.send == "new user"
    sources = secrets.Sources(lambda: pytest.fail("no AWS"), tmp_path, {"PW": SECRET})
    (attached,) = secrets.attach(reviewed, sources).changes
    assert attached.operation()["value"]["password"] == SECRET


def test_a_reviewed_plan_is_refused_when_its_source_moved_on(tmp_path: Path) -> None:
    user = InternalUser(
        attributes=((PASSWORD_VERSION, "ssm:/p@3"),),
        password=PasswordSource("ssm", "/p"),
        send="its source or the source's version changed",
    )
    from osaccess.kinds.base import Change
    from osaccess.run.plan import Plan

    reviewed = Plan((Change("internal_users", "s", Action.UPDATE, user, user),))

    class Ssm(secrets.Sources):
        def _ssm(self, source: PasswordSource) -> tuple[str, str | None]:
            return SECRET, "4"  # rotated after the review

    with pytest.raises(errors.Refused) as caught:
        secrets.attach(reviewed, Ssm(lambda: pytest.fail("no AWS"), tmp_path))
    assert "changed since the plan was reviewed" in str(caught.value)
    assert SECRET not in str(caught.value)


# -- guards ------------------------------------------------------------------------------------


def live_users(**users: InternalUser) -> LiveState:
    return state(
        {},
        {"all_access", "r"},
        {"internal_users": {n: LiveDefinition(u) for n, u in users.items()}},
    )


ME = Identity("ops", frozenset(), frozenset({"all_access"}))
ADMIN = InternalUser(roles=frozenset({"all_access"}), attributes=((PASSWORD_VERSION, "env:PW"),))


def guards(live: LiveState, file: MappingFile) -> list[str]:
    from osaccess.model import Safety

    planned = plan(file.entries, live)
    return [r.guard for r in evaluate(planned, live, Safety(), ME)]


def test_the_callers_own_user_is_guarded(tmp_path: Path) -> None:
    state = live_users(ops=ADMIN)
    demoted = resolved(loaded(tmp_path, "  ops:\n    roles: [r]\n"))
    assert guards(state, demoted) == ["own-user"]
    repassworded = resolved(
        loaded(
            tmp_path,
            "  ops:\n    roles: [all_access]\n    password: {env: PW}\n    password_version: '2'\n",
        ),
        PW=SECRET,
    )
    assert guards(state, repassworded) == ["own-user"]
    deleted = loaded(tmp_path, "  ops: {state: absent}\n")
    assert sorted(guards(state, deleted)) == ["definition-deletion", "own-user"]
    someone_else = loaded(tmp_path, "  other: {state: absent}\n")
    assert guards(live_users(ops=ADMIN, other=InternalUser()), someone_else) == [
        "definition-deletion"
    ]


# -- in every answer ---------------------------------------------------------------------------


def test_a_super_user_by_direct_role_is_in_the_review_and_the_impact(tmp_path: Path) -> None:

    sneaky = InternalUser(frozenset({"ldap-analysts"}), frozenset({"all_access"}))
    entries = review({}, dict(builtin_roles()), dict(builtin_groups()), {"sneaky": sneaky})
    (entry,) = entries
    assert entry.principal == "sneaky" and entry.permissions.roles == ("all_access",)
    live = live_users(sneaky=sneaky).replaced(
        "roles", {n: LiveDefinition(d) for n, d in builtin_roles().items()}
    )
    demote = resolved(loaded(tmp_path, "  sneaky:\n    backend_roles: [ldap-analysts]\n"))
    planned = plan(demote.entries, live)
    (change,) = access_impact(live, planned.changes)
    assert change.principal == "sneaky"
    assert change.loses.roles == ("all_access",) and not change.gains


def test_a_users_new_backend_role_shows_as_what_it_gains_through_the_mappings(
    tmp_path: Path,
) -> None:
    from osaccess.kinds.live import LiveDefinition
    from osaccess.kinds.mappings import RoleMapping

    live = state(
        {"readall": RoleMapping(backend_roles=frozenset({"ldap-analysts"}))},
        definitions={
            "internal_users": {"ana": LiveDefinition(InternalUser())},
            "roles": {n: LiveDefinition(d) for n, d in builtin_roles().items()},
        },
    )
    file = resolved(loaded(tmp_path, "  ana:\n    backend_roles: [ldap-analysts]\n"))
    planned = plan(file.entries, live)
    (change,) = access_impact(live, planned.changes)
    assert (change.principal, change.gains.roles, change.loses.roles) == ("ana", ("readall",), ())
