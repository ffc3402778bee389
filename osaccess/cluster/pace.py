"""How long a write to the security API takes, and how long osaccess waits for it. Pure.

The security plugin keeps each resource type in one document and re-validates the whole
document for every entity a collection PATCH changes, so the time of one PATCH grows with the
number of operations times the size of the document (measured on 2.19.4, docs/safety.md):

    role mappings, 20 principals each     1,000 new  12-22 s     2,000 new  50-90 s
                                          5,000 new   ~330 s     50 changes on 2,000: ~3 s

From that model osaccess derives, per write:

- what it tells the user before a long write ("writing 2,000 changes in one request; the security
  plugin takes about a minute for this size");
- the write's deadline: how long it waits for the answer, and, when the answer is lost or late,
  how long it keeps re-reading the cluster for the planned state. Three times the expected time
  plus 10 s, never less than the read timeout (``--timeout``), never more than
  :data:`MAX_WRITE_WAIT` unless ``--timeout`` is larger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_WRITE_WAIT = 1800.0  # seconds: the documented bound of one write's deadline
NOTICE_AFTER = 10.0  # seconds: writes expected to take longer are announced
# Amazon OpenSearch Service's load balancer closes a request that outlives its idle timeout
# (undocumented; Elastic Load Balancing's default is 60 s) with a 504: osaccess takes it as a lost
# answer and re-reads (docs/safety.md).

# seconds per (operation x entity in the document), by endpoint; measured on 2.19.4, 2 cores
_COST = {"rolesmapping": 3.5e-5}
_COST_OTHER = 2e-6  # roles, action groups, tenants: a 1,000-entry PATCH stays under a second
_BASE = 0.5


def expected_seconds(endpoint: str, operations: int, existing: int) -> float:
    """The time the node is expected to need for one PATCH of ``operations`` entities against a
    document that holds ``existing`` entities before the write."""
    if operations <= 0:
        return 0.0
    per = _COST.get(endpoint, _COST_OTHER)
    return _BASE + per * operations * (existing + operations / 2)


@dataclass(frozen=True)
class WritePace:
    operations: int
    expected: float  # seconds the node is expected to need
    deadline: float  # seconds osaccess waits for the answer or the planned state

    @property
    def long(self) -> bool:
        return self.expected >= NOTICE_AFTER

    @property
    def beyond_bound(self) -> bool:
        """Expected to need longer than osaccess waits."""
        return self.expected > self.deadline


def pace(endpoint: str, operations: int, existing: int, read_timeout: float) -> WritePace:
    expected = expected_seconds(endpoint, operations, existing)
    bound = max(MAX_WRITE_WAIT, read_timeout)
    deadline = min(bound, max(read_timeout, 3 * expected + 10))
    return WritePace(operations, expected, deadline)


def about(seconds: float) -> str:
    """A duration as people say it: "a few seconds", "about 40 seconds", "about a minute"."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 50:
        return f"about {int(round(seconds, -1))} seconds"
    if seconds < 90:
        return "about a minute"
    if seconds < 3600:
        return f"about {math.ceil(seconds / 60)} minutes"
    return f"about {seconds / 3600:.1f} hours"


def poll_delay(attempt: int, longest: float = 10.0) -> float:
    """The pause before the ``attempt``-th re-read (from 0) while waiting for a late write:
    1, 2, 4, 8, then every 10 seconds."""
    return min(longest, 2.0 ** min(attempt, 16))
