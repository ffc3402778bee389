"""How long a write to the security API takes, and how long osaccess waits for it. Pure.

The security plugin keeps each resource type in one document. For every role mapping that a
collection PATCH creates, changes or removes, it reads the whole roles document from the security
index again, twice for a new or changed mapping (does the role exist? may the caller change its
mapping? seen in thread dumps of a 2.19.4 node during a large PATCH, and in the plugin's source,
3.x included). So the time of one mappings PATCH grows with the number of operations times the
number of roles, plus a smaller part for the size of the mappings document, while roles and
tenants stay cheap (2,000 new roles: about 1 s). Action groups and internal users read the roles
again per operation too, and the node hashes every password it is sent. Measured on 2.19.4, 2
cores, mappings of 20 principals (docs/safety.md):

    new mappings   roles    mappings before   seconds
       1,000       1,000          0            12-22
       2,000       2,000          0            45-90
       5,000       5,000          0           310-490
         200       5,000         53              24
         200       4,000        653              15
          50       2,000      2,000               4

The model: each kind says what one operation costs (its ``write_cost``, a
:class:`~osaccess.kinds.base.WriteCost`). A mapping operation costs 1.8e-5 s per role on the
cluster plus 1e-5 s per mapping (the mappings document grows by half the write on average); a
removal costs half. When the number of roles is not known (small writes do not read it), it is
taken to be the number of mappings. From that model osaccess derives, per write:

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

from osaccess.kinds.base import WriteCost

MAX_WRITE_WAIT = 1800.0  # seconds: the documented bound of one write's deadline
NOTICE_AFTER = 10.0  # seconds: writes expected to take longer are announced
# Amazon OpenSearch Service's load balancer closes a request that outlives its idle timeout
# (undocumented; Elastic Load Balancing's default is 60 s) with a 504: osaccess takes it as a lost
# answer and re-reads (docs/safety.md).

# seconds: the node hashes each password it is sent (bcrypt, cost 12; 50 users: 15.8 s)
PASSWORD_HASH = 0.3
_BASE = 0.5
# a write of at least this many operations of a kind above reads the number of roles first (one
# GET): below it, even 20,000 roles keep the write well inside the read timeout
COUNT_ROLES_FROM = 20


def expected_seconds(
    cost: WriteCost,
    operations: int,
    existing: int,
    *,
    roles: int | None = None,
    removals: int = 0,
    passwords: int = 0,
) -> float:
    """The time the node is expected to need for one PATCH of ``operations`` entries of a kind
    that costs ``cost`` (of which ``removals`` remove one, and ``passwords`` send a password for
    the node to hash) against a document that holds ``existing`` entries before the write;
    ``roles`` is the number of roles on the cluster (None: unknown)."""
    if operations <= 0:
        return 0.0
    grown = existing + operations / 2
    if roles is None:
        roles = int(grown) if cost.roles_as_entries else 0
    per_operation = cost.per_operation + cost.per_role * roles + cost.per_entry * grown
    writes = operations - removals * (1 - cost.removal_share)
    return _BASE + per_operation * writes + PASSWORD_HASH * passwords


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


def pace(
    cost: WriteCost,
    operations: int,
    existing: int,
    read_timeout: float,
    *,
    roles: int | None = None,
    removals: int = 0,
    passwords: int = 0,
) -> WritePace:
    expected = expected_seconds(
        cost, operations, existing, roles=roles, removals=removals, passwords=passwords
    )
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
