"""A plan's reads: two round trips (the mappings, which find the API prefix; then every other
kind and the caller's authinfo at once), the same state and errors as reading one after
another, and OSACCESS_READ_CONCURRENCY=1 to read in turn."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
import requests

from osaccess import errors
from osaccess.kinds.mappings import RoleMapping
from osaccess.model import ClusterSpec, MappingFile
from osaccess.run.engine import make_plan
from tests.unit.fakecluster import FakeCluster, status
from tests.unit.states import mapping as mapping_entry

AFTER_PREFIX = 6  # roles, action groups, tenants, internal users, audit, authinfo


class InFlight(FakeCluster):
    """Counts the requests in flight at once; the reads after the first wait (up to a second)
    until all of them are in flight, so that reading them in turn shows as one at a time."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.all_in = threading.Barrier(AFTER_PREFIX)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            if not (request.path_url or "").endswith("rolesmapping"):
                with contextlib.suppress(threading.BrokenBarrierError):
                    self.all_in.wait(timeout=1)
            return super().send(request, **kwargs)
        finally:
            with self.lock:
                self.now -= 1


def a_file() -> MappingFile:
    return MappingFile(
        "f.yaml",
        ClusterSpec("https://fake.test", auth="basic"),
        (mapping_entry("readall", RoleMapping.of(users=["bob"])),),
    )


def cluster() -> InFlight:
    return InFlight(mappings={"all_access": {"users": ["admin"]}}, roles={"all_access", "readall"})


def test_a_plan_reads_every_kind_and_the_caller_at_once_after_the_mappings() -> None:
    fake = cluster()
    with fake.api() as api:
        planned = make_plan(api, a_file())
        assert api.requests == 1 + AFTER_PREFIX
    assert fake.sent[0].path.endswith("/api/rolesmapping")  # first: it finds the API prefix
    assert fake.most == AFTER_PREFIX
    assert planned.identity is not None and planned.identity.user_name == "admin"
    assert [c.name for c in planned.plan.changes] == ["readall"]


def test_one_read_at_a_time_when_asked_and_the_same_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    with cluster().api() as api:
        together = make_plan(api, a_file())
    monkeypatch.setenv("OSACCESS_READ_CONCURRENCY", "1")
    fake = cluster()
    with fake.api() as api:
        in_turn = make_plan(api, a_file())
    assert fake.most == 1
    assert in_turn.live == together.live and in_turn.plan == together.plan


def test_the_first_failure_in_read_order_is_the_error_whichever_answer_came_first() -> None:
    fake = cluster()
    # tenants fail fast; roles, read before them, fail after a while: roles is the error
    slow_refusal = status(403, "no permissions for [cluster:admin/opendistro_security]")

    def slow(cluster_: FakeCluster, request: requests.PreparedRequest) -> requests.Response:
        threading.Event().wait(0.2)
        return slow_refusal(cluster_, request)

    fake.fault("GET roles", slow)
    fake.fault("GET tenants", status(500, "boom"))
    with fake.api() as api, pytest.raises(errors.ClusterError) as caught:
        make_plan(api, a_file())
    assert "/api/roles" in str(caught.value.request)


def test_a_read_concurrency_that_is_not_a_number_is_refused_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OSACCESS_READ_CONCURRENCY", "many")
    fake = cluster()
    with pytest.raises(errors.ConfigError) as caught:
        fake.api()
    assert "OSACCESS_READ_CONCURRENCY" in caught.value.message
    assert fake.sent == []
