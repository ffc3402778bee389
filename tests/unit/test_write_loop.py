"""The write loop's fault branches, fast, through a fake HTTP layer (tests/unit/fakecluster.py).
The same branches run against the real node in tests/integration/test_safety.py."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import requests

from osaccess import errors, kinds
from osaccess.cluster import pace
from osaccess.kinds.internal_users import INTERNAL_USERS
from osaccess.kinds.mappings import MAPPINGS, RoleMapping, removed
from osaccess.model import ClusterSpec, MappingFile
from osaccess.run.engine import execute, execute_reviewed, make_plan
from osaccess.run.plandoc import PlanContext, dump, fingerprint, load
from osaccess.run.writes import Target, WriteOptions, write_parts
from tests.unit.fakecluster import (
    FakeCluster,
    answer,
    meanwhile,
    no_connection,
    status,
    write_then,
    write_then_lose_answer,
)
from tests.unit.states import mapping as mapping_entry

ALICE = "arn:aws:iam::111111111111:user/alice"
BOB = "arn:aws:iam::111111111111:user/bob"


def empty(users: list[str]) -> dict[str, object]:
    return {"users": users, "backend_roles": [], "and_backend_roles": [], "hosts": []}


def setup(**faults: object) -> tuple[FakeCluster, MappingFile]:
    cluster = FakeCluster(
        mappings={"all_access": empty(["admin"]), "readall": empty([BOB]), "other": empty([])},
        roles={"all_access", "readall", "logs", "other"},
    )
    file = MappingFile(
        "f.yaml",
        ClusterSpec("https://fake.test", auth="basic", username="admin"),
        (
            mapping_entry("readall", RoleMapping.of(users=[ALICE])),
            mapping_entry("logs", RoleMapping.of(users=[ALICE])),
        ),
    )
    return cluster, file


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("osaccess.run.writes.time.sleep", slept.append)
    return slept


def test_a_409_is_re_read_and_re_planned() -> None:
    cluster, file = setup()

    def someone_adds_carol(c: FakeCluster) -> None:
        c.mappings["readall"] = empty([BOB, "carol"])

    cluster.fault("PATCH rolesmapping", meanwhile(someone_adds_carol, status(409, "conflict")))
    with cluster.api() as api:
        result = execute(api, file, make_plan(api, file))
    assert result.attempts == 2
    # the second plan was made from what the other writer left: carol is removed too
    (readall,) = [c for c in result.plan.changes if c.name == "readall"]
    assert removed(readall, "users") == {BOB, "carol"}
    assert cluster.mappings["readall"]["users"] == [ALICE]
    methods = [(s.method, s.path.rsplit("/", 1)[-1]) for s in cluster.sent]
    first_patch = methods.index(("PATCH", "rolesmapping"))
    assert ("GET", "rolesmapping") in methods[first_patch + 1 :]
    assert len(cluster.requests_of("PATCH")) == 2


def test_conflicts_that_never_end_give_up() -> None:
    cluster, file = setup()
    cluster.fault("PATCH rolesmapping", *[status(409, "conflict")] * 10)
    with cluster.api() as api, pytest.raises(errors.Conflict, match="gave up after 4 attempts"):
        execute(api, file, make_plan(api, file))
    assert len(cluster.requests_of("PATCH")) == 4


def test_a_500_after_the_write_is_checked_by_reading_not_writing_again() -> None:
    cluster, file = setup()
    cluster.fault("PATCH rolesmapping", write_then(500))
    with cluster.api() as api:
        result = execute(api, file, make_plan(api, file))
    assert result.message == "applied (the cluster reported an error after writing)"
    assert len(cluster.requests_of("PATCH")) == 1


def test_a_500_without_the_write_says_nothing_was_changed() -> None:
    cluster, file = setup()
    cluster.fault("PATCH rolesmapping", status(500, "boom"))
    with cluster.api() as api, pytest.raises(errors.ServerError, match="nothing was changed"):
        execute(api, file, make_plan(api, file))
    assert cluster.mappings["readall"]["users"] == [BOB]


def test_a_lost_answer_is_checked_not_repeated() -> None:
    cluster, file = setup()
    cluster.fault("PATCH rolesmapping", write_then_lose_answer)
    with cluster.api() as api:
        result = execute(api, file, make_plan(api, file))
    assert result.verified
    assert len(cluster.requests_of("PATCH")) == 1
    assert cluster.mappings["logs"]["users"] == [ALICE]


def test_a_429_waits_for_retry_after_then_re_reads_and_writes(_no_sleep: list[float]) -> None:
    cluster, file = setup()
    cluster.fault("PATCH rolesmapping", status(429, "slow down", {"Retry-After": "7"}))
    with cluster.api() as api:
        execute(api, file, make_plan(api, file))
    assert _no_sleep == [7.0]
    methods = [(s.method, s.path.rsplit("/", 1)[-1]) for s in cluster.sent]
    first_patch = methods.index(("PATCH", "rolesmapping"))
    assert methods[first_patch + 1] == ("GET", "rolesmapping")
    assert cluster.mappings["readall"]["users"] == [ALICE]


def test_retry_after_is_capped(_no_sleep: list[float]) -> None:
    cluster, file = setup()
    cluster.fault("PATCH rolesmapping", status(503, "busy", {"Retry-After": "86400"}))
    with cluster.api() as api:
        execute(api, file, make_plan(api, file))
    assert _no_sleep == [60.0]


def test_a_write_that_never_connects_changed_nothing() -> None:
    cluster, file = setup()
    cluster.fault("PATCH rolesmapping", no_connection)
    with cluster.api() as api, pytest.raises(errors.ConnectionFailed, match="nothing was changed"):
        execute(api, file, make_plan(api, file))
    assert cluster.mappings["readall"]["users"] == [BOB]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A fake clock for the engine: sleeping advances it; the pauses are recorded."""
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr("osaccess.run.writes.time.sleep", sleep)
    monkeypatch.setattr("osaccess.run.writes.time.monotonic", lambda: now[0])
    return slept


def test_a_write_whose_answer_never_comes_is_awaited_until_its_deadline_then_reported(
    clock: list[float],
) -> None:
    cluster, file = setup()

    def lost_before_write(_: FakeCluster, request: object) -> None:
        import requests

        raise requests.exceptions.ReadTimeout("read timed out")

    cluster.fault("PATCH rolesmapping", lost_before_write)
    heard: list[str] = []
    with (
        cluster.api() as api,
        pytest.raises(errors.AnswerTimeout, match="shows 0 of the 2 planned") as caught,
    ):
        execute(api, file, make_plan(api, file), progress=heard.append)
    assert "may still write" in caught.value.message
    assert len(cluster.requests_of("PATCH")) == 1  # never written twice
    # re-read with growing pauses (1, 2, 4, 8, then every 10 s) until the write's deadline
    assert clock[:5] == [1.0, 2.0, 4.0, 8.0, 10.0]
    deadline = pace.pace(MAPPINGS.write_cost, 2, 3, api.transport.timeout).deadline
    assert sum(clock) == pytest.approx(deadline)
    assert any("re-reading the role mappings until the change shows" in h for h in heard)


def late_write() -> tuple[
    Callable[[FakeCluster, object], None], Callable[[FakeCluster, object], None]
]:
    """Two faults: a PATCH whose answer is lost before the node writes it, and a read at which
    the node has finished the write."""
    pending: list[bytes] = []

    def lose_answer_write_later(_: FakeCluster, request: object) -> None:
        assert isinstance(request, requests.PreparedRequest)
        assert isinstance(request.body, bytes)
        pending.append(request.body)
        raise requests.exceptions.ReadTimeout("read timed out")

    def lands_now(cluster: FakeCluster, request: object) -> None:
        cluster.patch(json.loads(pending.pop()))  # the node finishes the write

    return lose_answer_write_later, lands_now


def test_a_write_whose_answer_is_lost_but_lands_later_is_applied_with_a_note(
    clock: list[float],
) -> None:
    cluster, file = setup()
    lose_answer_write_later, lands_now = late_write()
    cluster.fault("PATCH rolesmapping", lose_answer_write_later)
    cluster.fault("GET rolesmapping", *([lambda *_: None] * 4), lands_now)
    with cluster.api() as api:
        result = execute(api, file, make_plan(api, file))
    assert result.verified
    assert result.message == "applied (the answer was late or lost)"
    assert any("the answer was lost or late" in note for note in result.notes)
    assert len(cluster.requests_of("PATCH")) == 1
    assert cluster.mappings["logs"]["users"] == [ALICE]
    assert clock == [1.0, 2.0]  # plan, re-read before writing, then three re-reads


def test_a_504_from_a_proxy_to_a_write_is_a_lost_answer_not_a_reason_to_write_again(
    clock: list[float],
) -> None:
    cluster, file = setup()

    def gateway_timeout(cluster: FakeCluster, request: requests.PreparedRequest) -> object:
        body = request.body if isinstance(request.body, bytes) else b"[]"
        cluster.patch(json.loads(body))  # the node goes on and writes
        response = answer(request, 504, {})
        response._content = b"<html><body>504 Gateway Time-out</body></html>"
        response.headers["content-type"] = "text/html"
        return response

    cluster.fault("PATCH rolesmapping", gateway_timeout)
    with cluster.api() as api:
        result = execute(api, file, make_plan(api, file))
    assert result.verified and len(cluster.requests_of("PATCH")) == 1
    assert "HTTP 504" in result.notes[0]


def test_bodies_are_sent_as_utf8_bytes_not_escapes() -> None:
    cluster, file = setup()
    name = "Zürich-東京"
    file = MappingFile(
        file.path, file.cluster, (mapping_entry("readall", RoleMapping.of(users=[name])),)
    )
    with cluster.api() as api:
        execute(api, file, make_plan(api, file))
    (patch,) = cluster.requests_of("PATCH")
    assert patch.body is not None
    assert name.encode("utf-8") in patch.body
    assert b"\\u" not in patch.body


def reviewed(cluster: FakeCluster, file: MappingFile) -> tuple[object, PlanContext]:
    with cluster.api() as api:
        planned = make_plan(api, file)
    context = PlanContext(
        file.path,
        "https://fake.test",
        "_plugins/_security",
        cluster=file.cluster,
        safety=file.safety,
        fingerprint=fingerprint(planned.live, planned.plan),
    )
    ((plan, loaded),) = load(dump([(planned.plan, context)]))
    return plan, loaded


def test_a_reviewed_plan_is_refused_when_a_mapping_it_leaves_unchanged_moved() -> None:
    cluster, _ = setup()
    file = MappingFile(
        "f.yaml",
        ClusterSpec("https://fake.test"),
        (
            mapping_entry("logs", RoleMapping.of(users=[ALICE])),
            mapping_entry("other", RoleMapping.of()),  # unchanged in the plan
        ),
    )
    plan, context = reviewed(cluster, file)
    assert [c.name for c in plan.changes] == ["logs"]  # type: ignore[attr-defined]
    cluster.mappings["other"] = empty(["mallory"])  # someone maps mallory after the review
    assert context.safety is not None
    with cluster.api() as api, pytest.raises(errors.Refused, match="fingerprint no longer matches"):
        execute_reviewed(api, plan, context.safety, context.fingerprint)  # type: ignore[arg-type]
    assert "logs" not in cluster.mappings
    assert not cluster.requests_of("PATCH")


def test_a_reviewed_plan_applies_when_nothing_moved() -> None:
    cluster, file = setup()
    plan, context = reviewed(cluster, file)
    assert context.safety is not None
    with cluster.api() as api:
        execute_reviewed(api, plan, context.safety, context.fingerprint)  # type: ignore[arg-type]
    assert cluster.mappings["logs"]["users"] == [ALICE]
    assert json.loads(cluster.requests_of("PATCH")[0].body or b"")[0]["op"] == "add"


def _five_roles() -> tuple[FakeCluster, MappingFile]:
    names = [f"team{i}" for i in range(5)]
    cluster = FakeCluster(mappings={"all_access": empty(["admin"])}, roles={"all_access", *names})
    file = MappingFile(
        "f.yaml",
        ClusterSpec("https://fake.test", auth="basic", username="admin"),
        tuple(mapping_entry(n, RoleMapping.of(users=[ALICE])) for n in names),
    )
    return cluster, file


def test_max_operations_per_write_splits_into_atomic_parts_and_says_so() -> None:
    cluster, file = _five_roles()
    heard: list[str] = []
    with cluster.api() as api:
        result = execute(api, file, make_plan(api, file), max_operations=2, progress=heard.append)
    patches = [json.loads(s.body or b"[]") for s in cluster.requests_of("PATCH")]
    assert [len(p) for p in patches] == [2, 2, 1]
    assert result.writes == (
        "mappings part 1 of 3 (2 changes)",
        "mappings part 2 of 3 (2 changes)",
        "mappings part 3 of 3 (1 changes)",
    )
    assert result.verified
    assert heard[0].startswith(
        "splitting 5 changes to the role mappings into 3 writes of at most 2"
    )


def test_without_the_option_a_large_plan_is_one_write() -> None:
    cluster, file = _five_roles()
    with cluster.api() as api:
        result = execute(api, file, make_plan(api, file))
    assert len(cluster.requests_of("PATCH")) == 1
    assert result.writes == ("mappings",)


def test_a_failed_part_names_the_parts_that_landed_and_the_next_plan_holds_the_rest() -> None:
    cluster, file = _five_roles()
    cluster.fault("PATCH rolesmapping", lambda *_: None, status(400, "Invalid configuration"))
    with cluster.api() as api, pytest.raises(errors.PartiallyApplied) as caught:
        execute(api, file, make_plan(api, file), max_operations=2)
    assert caught.value.applied == ("mappings part 1 of 3 (2 changes)",)
    assert caught.value.failed == "mappings part 2 of 3"
    with cluster.api() as api:
        assert [c.name for c in make_plan(api, file).plan.changes] == ["team2", "team3", "team4"]


def test_a_reviewed_plan_splits_too_and_a_conflict_between_parts_does_not_rewrite_a_part() -> None:
    cluster, file = _five_roles()
    with cluster.api() as api:
        planned = make_plan(api, file)
        seen = fingerprint(planned.live, planned.plan)
    cluster.fault("PATCH rolesmapping", lambda *_: None, status(409, "version conflict"))
    with cluster.api() as api:
        result = execute_reviewed(
            api, planned.plan, file.safety, seen, max_operations=2, sleep=False
        )
    patched = [
        op["path"] for s in cluster.requests_of("PATCH") for op in json.loads(s.body or b"[]")
    ]
    # the part that met the conflict is sent again, the part that landed is not
    assert patched == ["/team0", "/team1", "/team2", "/team3", "/team2", "/team3", "/team4"]
    assert result.verified and len(result.writes) == 3


def _many_roles(changes: int, roles: int) -> tuple[FakeCluster, MappingFile]:
    """``changes`` new mappings on a cluster that holds ``roles`` roles."""
    names = [f"team{i:05d}" for i in range(roles)]
    cluster = FakeCluster(mappings={"all_access": empty(["admin"])}, roles={"all_access", *names})
    file = MappingFile(
        "f.yaml",
        ClusterSpec("https://fake.test", auth="basic", username="admin"),
        tuple(mapping_entry(n, RoleMapping.of(users=[ALICE])) for n in names[:changes]),
    )
    return cluster, file


def test_a_mappings_write_on_a_cluster_with_many_roles_is_announced_and_awaited_longer(
    clock: list[float],
) -> None:
    """The plugin reads every role again for each mapping it writes: 200 new mappings take some
    20 s on a node with 5,000 roles (measured on 2.19.4). A lost answer is awaited as long as
    that needs, past the 30 s read timeout, and the write lands once."""
    cluster, file = _many_roles(200, 5000)
    lose_answer_write_later, lands_now = late_write()
    heard: list[str] = []
    with cluster.api() as api:
        planned = make_plan(api, file)
        cluster.fault("PATCH rolesmapping", lose_answer_write_later)
        # the read before the write and seven re-reads (1+2+4+8+10+10+10 s) see the old state
        cluster.fault("GET rolesmapping", *([lambda *_: None] * 8), lands_now)
        result = execute(api, file, planned, progress=heard.append)
    assert result.verified
    assert len(cluster.requests_of("PATCH")) == 1
    assert sum(clock) == 45.0
    assert [h for h in heard if h.startswith("writing")] == [
        "writing 200 changes to the role mappings in one request; the security plugin takes "
        "about 20 seconds for this size (5,001 roles on the cluster)"
    ]


def _roles_reads(changes: int) -> int:
    cluster, file = _many_roles(changes, 100)
    with cluster.api() as api:
        execute(api, file, make_plan(api, file))
    return sum(s.path.endswith("/api/roles") for s in cluster.requests_of("GET"))


def test_only_a_large_mappings_write_counts_the_roles_first() -> None:
    small = pace.COUNT_ROLES_FROM - 1
    assert _roles_reads(pace.COUNT_ROLES_FROM) == _roles_reads(small) + 1


# (kind, changes, of which removals, of which send a password, roles, entries before, seconds
# the node took: docs/safety.md)
MEASURED = [
    ("rolesmapping", 1000, 0, 0, 1011, 3, 22.0),
    ("rolesmapping", 2000, 0, 0, 2011, 3, 81.8),
    ("rolesmapping", 5000, 0, 0, 5011, 3, 490.0),
    ("rolesmapping", 200, 0, 0, 5011, 53, 23.6),
    ("rolesmapping", 200, 0, 0, 2011, 253, 9.3),
    ("rolesmapping", 200, 0, 0, 4011, 653, 14.6),
    ("rolesmapping", 50, 0, 0, 2011, 2003, 3.75),
    ("rolesmapping", 50, 0, 0, 5011, 1003, 9.4),
    ("rolesmapping", 1000, 1000, 0, 2011, 2003, 20.4),
    ("rolesmapping", 1000, 1000, 0, 5011, 1003, 56.6),
    ("actiongroups", 200, 0, 0, 11, 0, 0.78),
    ("actiongroups", 200, 0, 0, 5011, 200, 12.1),
    ("internalusers", 50, 0, 0, 5011, 50, 3.34),
    ("internalusers", 50, 0, 50, 11, 50, 15.8),
    ("internalusers", 50, 0, 50, 5011, 150, 18.7),
    ("rolesmapping", 200, 0, 0, 1011, 3, 5.56),  # 3.4.0 (2.11.1: 5.55)
    ("rolesmapping", 200, 0, 0, 5011, 203, 23.3),  # 3.4.0 (2.11.1: 23.0)
    ("actiongroups", 200, 0, 0, 5011, 0, 11.8),  # 3.4.0 (2.11.1: 12.0)
    ("internalusers", 50, 0, 0, 5011, 0, 3.82),  # 3.4.0 (2.11.1: 0.16, no check of the roles)
    ("roles", 2000, 0, 0, None, 11, 1.37),
    ("roles", 5000, 0, 0, None, 11, 3.42),
    ("roles", 4000, 0, 0, None, 5011, 2.71),
]


@pytest.mark.parametrize(
    ("kind", "changes", "removals", "passwords", "roles", "before", "took"), MEASURED
)
def test_the_estimate_is_within_a_factor_of_two_of_what_the_node_took_and_the_deadline_covers_it(
    kind: str,
    changes: int,
    removals: int,
    passwords: int,
    roles: int | None,
    before: int,
    took: float,
) -> None:
    size = {"roles": roles, "removals": removals, "passwords": passwords}
    cost = {k.endpoint: k for k in kinds.registered()}[kind].write_cost
    expected = pace.expected_seconds(cost, changes, before, **size)  # type: ignore[arg-type]
    assert took / 2 <= expected <= took * 2
    assert pace.pace(cost, changes, before, 30.0, **size).deadline > took * 1.5  # type: ignore[arg-type]


def _users_target(roles: int, deadlines: list[float]) -> Target[list[str]]:
    """Internal users as the write loop sees them: every user is new and sent with a password."""

    def patch(operations: list[dict[str, object]], deadline: float) -> str:
        deadlines.append(deadline)
        return "written"

    return Target(
        "internal users",
        INTERNAL_USERS.write_cost,
        lambda: {},
        lambda users: [
            {"op": "add", "path": f"/{u}", "value": {"password": "example-only"}} for u in users
        ],
        lambda users, fresh: [],
        lambda users, fresh: len(users),
        patch,
        lambda users: list(users),
        lambda users, test: [u for u in users if test(u)],
        roles=lambda: roles,
    )


def test_a_write_of_many_passwords_waits_for_the_node_to_hash_them() -> None:
    """The node hashes every password it is sent (bcrypt, cost 12, about 0.3 s each here):
    100 new users are announced and awaited far past the 30 s read timeout."""
    deadlines: list[float] = []
    heard: list[str] = []
    users = [f"svc{i}" for i in range(100)]
    write_parts(
        _users_target(10, deadlines),
        users,
        on_conflict=lambda: users,
        guard=lambda *_: None,
        options=WriteOptions(progress=heard.append),
        name="internalusers",
    )
    assert heard == [
        "writing 100 changes to the internal users in one request; the security plugin takes "
        "about 30 seconds for this size (10 roles on the cluster)"
    ]
    assert deadlines[0] >= 90
    few: list[float] = []
    write_parts(
        _users_target(10, few),
        users[:3],
        on_conflict=lambda: users[:3],
        guard=lambda *_: None,
        options=WriteOptions(),
        name="internalusers",
    )
    assert few == [30.0]


def test_a_write_goes_ahead_when_the_roles_cannot_be_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cluster, file = _many_roles(pace.COUNT_ROLES_FROM, 100)
    with cluster.api() as api:
        planned = make_plan(api, file)
        cluster.fault("GET roles", status(403, "no permissions for [] and User [name=admin]"))
        result = execute(api, file, planned)
    assert result.verified
    assert len(cluster.requests_of("PATCH")) == 1
    assert "could not count the roles on the cluster before writing the role mappings" in (
        caplog.text
    )
