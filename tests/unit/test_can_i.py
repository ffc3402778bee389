"""can-i's logic: the request a REST form stands for, patterns with the principal's variables,
the reasons for a no, and "depends on" where only the node can know. That the table of REST
forms is what the node checks is tests/integration/test_can_i.py."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from osaccess import errors
from osaccess.access.cani import BULK, can_i, request_for, substitute
from osaccess.access.known import Known
from osaccess.access.permissions import Evaluator
from osaccess.kinds.mappings import RoleMapping
from osaccess.kinds.roles import IndexPermission, RoleDefinition
from osaccess.plugin.datemath import resolve
from osaccess.plugin.matching import Caller

WRITER = RoleDefinition(
    index_permissions=frozenset(
        {IndexPermission(frozenset({"logs-*"}), frozenset({"indices:data/write/*"}))}
    )
)
TEAM = RoleDefinition(
    index_permissions=frozenset(
        {
            IndexPermission(
                frozenset({"${attr.internal.team}-*"}),
                frozenset({"indices:data/read/*"}),
                dls='{"term":{"owner":"${user.name}"}}',
            )
        }
    )
)


def answer(caller: Caller, action: str, index: str | None = None, **roles: RoleDefinition):  # type: ignore[no-untyped-def]
    mappings = {name: RoleMapping(users=frozenset({caller.user_name})) for name in roles}
    evaluator = Evaluator(mappings, roles, {})
    return can_i(evaluator.of(caller), caller, request_for(action, index))


def test_a_document_write_needs_the_bulk_cluster_permission_and_says_so() -> None:
    found = answer(Caller("pipeline"), "PUT /logs-1/_doc/1", logs_writer=WRITER)
    assert not found.allowed
    (why,) = [r for r in found.reasons() if "also needs" in r]
    assert f"also needs the cluster permission {BULK}, which none of the roles grants" in why
    assert "indices:data/write/index (logs_writer)" in why
    cluster = RoleDefinition(cluster_permissions=frozenset({BULK}))
    assert answer(
        Caller("pipeline"), "PUT /logs-1/_doc/1", logs_writer=WRITER, bulk=cluster
    ).allowed


def test_attributes_and_user_names_fill_patterns_and_dls() -> None:
    blue = Caller("bob", attributes=(("team", "blue"),))
    found = answer(blue, "indices:data/read/search", "blue-x", team=TEAM)
    assert found.allowed
    (reason,) = found.reasons()
    assert "${attr.internal.team}-* = blue-*" in reason
    assert 'DLS {"term":{"owner":"bob"}}' in reason
    assert not answer(blue, "indices:data/read/search", "red-x", team=TEAM).allowed


def test_what_only_the_node_knows_is_depends_never_a_guess() -> None:
    unknown = answer(Caller("bob"), "indices:data/read/search", "blue-x", team=TEAM)
    assert not unknown.allowed and "${attr.internal.team}" in unknown.depends[0]
    # an internal user's attributes are all known: none means no match, not "depends"
    internal = Caller("bob", internal=True)
    assert answer(internal, "indices:data/read/search", "blue-x", team=TEAM).depends == ()
    unread = answer(Caller("p"), "indices:data/write/index", "<logs-{now/q}>", w=WRITER)
    assert unread.depends and "date math" in unread.depends[0]


def test_date_math_is_resolved_as_the_node_resolves_it_today() -> None:
    today = datetime.now(timezone.utc)
    dated = answer(Caller("p"), "indices:data/write/index", "<logs-{now/d}>", w=WRITER)
    assert dated.allowed
    assert f"logs-{today:%Y.%m.%d} today (UTC)" in " ".join(dated.notes)
    assert resolve("<logs-{now/M{yyyy-MM}}>", today) == f"logs-{today:%Y-%m}"
    first = datetime(2024, 3, 31, 15, tzinfo=timezone.utc)
    assert resolve("<x-{now-1M/d}>", first) == "x-2024.02.29"
    assert resolve("<x-{now+2d/d{yyyy.MM.dd.HH}}>", first) == "x-2024.04.02.00"
    # a role's date-math pattern matches the index it stands for today
    role = RoleDefinition(
        index_permissions=frozenset(
            {IndexPermission(frozenset({"<logs-{now/d}>"}), frozenset({"indices:data/read/*"}))}
        )
    )
    index = f"logs-{today:%Y.%m.%d}"
    offline = answer(Caller("p"), "indices:data/read/search", index, r=role)
    # before 2.19 a role's date math matches only an index that exists (seen on the node)
    assert not offline.allowed and "whether " + index + " exists" in offline.depends[0]
    assert not answer(Caller("p"), "indices:data/read/search", "logs-2001.01.01", r=role).depends

    def on(version: tuple[int, ...], indices: frozenset[str] | None) -> bool:
        evaluator = Evaluator({"r": RoleMapping(users=frozenset({"p"}))}, {"r": role}, {})
        request = request_for("indices:data/read/search", index)
        found = can_i(
            evaluator.of(Caller("p")), Caller("p"), request, None, Known(version, indices)
        )
        return found.allowed

    assert on((2, 19, 4), None) and on((3, 4, 0), frozenset())
    assert on((2, 11, 1), frozenset({index}))
    assert not on((2, 11, 1), frozenset())


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("GET /x/_stats", "is not a REST form osaccess knows"),
        ("indices:data/read/search", "is an index action: which index?"),
        ("read", "neither an action name"),
    ],
)
def test_unknown_or_incomplete_requests_are_refused_before_anything_is_read(
    given: str, problem: str
) -> None:
    with pytest.raises(errors.ConfigError, match=problem):
        request_for(given, None)


def test_rest_forms_name_cluster_and_index_checks() -> None:
    bulk = request_for("POST /logs-*/_bulk", None)
    assert bulk.cluster == (BULK,) and bulk.index == "logs-*"
    assert request_for("GET /_cluster/health", None).cluster == ("cluster:monitor/health",)
    assert request_for("indices:data/read/mget", None).cluster == ("indices:data/read/mget",)


def test_substitution_reports_the_first_missing_variable() -> None:
    assert substitute("${user.name}-${attr.internal.x}", Caller("a")) == (
        "a-${attr.internal.x}",
        "${attr.internal.x}, which this principal has no value for",
    )


def test_the_security_index_refuses_writes_and_system_indices_depend_on_settings() -> None:
    admin = Caller("root")
    everything = RoleDefinition(
        cluster_permissions=frozenset({"*"}),
        index_permissions=frozenset({IndexPermission(frozenset({"*"}), frozenset({"*"}))}),
    )
    write = answer(admin, "PUT /.opendistro_security/_doc/x", all=everything)
    assert not write.allowed and not write.depends
    assert any("the security index refuses indices:data/write" in r for r in write.reasons())
    system = answer(admin, "GET /.kibana/_search", all=everything)
    assert not system.allowed
    assert "system-index protection settings" in system.depends[0]
    assert answer(admin, "GET /logs-1/_search", all=everything).allowed


def test_a_role_mapped_by_hosts_makes_a_no_depend_on_the_host(tmp_path: Path) -> None:
    from osaccess import api
    from osaccess.access.state import offline_state
    from tests.unit.loading import loaded

    file = loaded(
        tmp_path,
        """\
cluster:
  endpoint: https://search-x-abc.eu-west-1.es.amazonaws.com
role_definitions:
  office:
    index_permissions:
      - index_patterns: [logs-*]
        allowed_actions: [read]
roles:
  office: {hosts: ["10.0.*"]}
""",
    )
    state = offline_state(file)
    request = request_for("GET /logs-1/_search", None)
    unknown = api.can_i_in(state, Caller("bob"), request)
    assert not unknown.allowed
    assert "the host the request comes from: office map hosts" in unknown.depends[0]
    assert api.can_i_in(state, Caller("bob", host="10.0.0.7"), request).allowed
    assert not api.can_i_in(state, Caller("bob", host="192.168.1.1"), request).depends


def test_pattern_against_pattern_is_exact_on_every_small_case() -> None:
    """covers and overlaps (who-can's "any index matching audit-*") against brute force: every
    pattern of up to 3 characters over a, b, * and ?, every name of up to 5 over a and b."""
    import itertools

    from osaccess.plugin.matching import covers, matches, overlaps

    patterns = ["".join(p) for n in range(1, 4) for p in itertools.product("ab*?", repeat=n)]
    names = ["".join(p) for n in range(6) for p in itertools.product("ab", repeat=n)]
    matched = {p: {n for n in names if matches(p, n)} for p in patterns}
    for first in patterns:
        for second in patterns:
            assert overlaps(first, second) == bool(matched[first] & matched[second]), (
                first,
                second,
            )
            if "*" not in second:  # a finite set: covered exactly when every name is matched
                assert covers(first, second) == (matched[second] <= matched[first]), (first, second)
            elif covers(first, second):
                assert matched[second] <= matched[first], (first, second)


def test_an_alias_is_checked_on_every_index_behind_it() -> None:
    def role(*patterns: str) -> RoleDefinition:
        permission = IndexPermission(frozenset(patterns), frozenset({"indices:data/read/*"}))
        return RoleDefinition(index_permissions=frozenset({permission}))

    aliases = {"al-all": frozenset({"al-1", "al-2"})}
    caller = Caller("p")
    request = request_for("GET /al-all/_search", None)

    def asked(definition: RoleDefinition):  # type: ignore[no-untyped-def]
        evaluator = Evaluator({"r": RoleMapping(users=frozenset({"p"}))}, {"r": definition}, {})
        return can_i(evaluator.of(caller), caller, request, aliases)

    one = asked(role("al-1"))
    assert not one.allowed
    assert "al-all is an alias or a data stream of al-1, al-2" in one.reasons()[0]
    assert "on al-2 is granted by none of the roles" in one.reasons()[0]
    assert asked(role("al-*")).allowed
    by_name = asked(role("al-all"))  # a pattern on the alias grants the indices behind it
    assert by_name.allowed and "al-1 through al-all; al-2 through al-all" in by_name.reasons()[0]
    assert by_name.notes == (
        "al-all is an alias or a data stream of al-1, al-2: the node checks each",
    )
    # known not to be an alias: no note
    plain = can_i(
        Evaluator({}, {}, {}).of(caller), caller, request_for("GET /x/_search", None), aliases
    )
    assert plain.notes == ()


def test_a_comma_list_is_each_of_its_names_and_all_must_be_granted() -> None:
    from osaccess.plugin.matching import Caller

    reader = RoleDefinition(
        index_permissions=frozenset(
            {IndexPermission(frozenset({"logs-*"}), frozenset({"indices:data/read/search"}))}
        )
    )
    evaluator = Evaluator({"r": RoleMapping.of(users=["ana"])}, {"r": reader}, {})
    ana = Caller("ana")
    both = can_i(evaluator.of(ana), ana, request_for("GET /logs-1,logs-2/_search", None))
    assert both.allowed
    assert [c.index for c in both.checks] == ["logs-1", "logs-2"]
    one = can_i(evaluator.of(ana), ana, request_for("GET /logs-1,metrics-1/_search", None))
    assert not one.allowed
    assert "indices:data/read/search on metrics-1 is granted by none of the roles" in one.reasons()
    assert any("on logs-1 is granted by r" in reason for reason in one.reasons())


def test_a_document_write_to_an_index_that_does_not_exist_also_needs_create() -> None:
    from osaccess.plugin.matching import Caller

    writer = RoleDefinition(
        cluster_permissions=frozenset({BULK}),
        index_permissions=frozenset(
            {
                IndexPermission(
                    frozenset({"logs-*"}),
                    frozenset({"indices:data/write/index", "indices:data/write/bulk[s]"}),
                )
            }
        ),
    )
    evaluator = Evaluator({"w": RoleMapping.of(users=["ana"])}, {"w": writer}, {})
    ana = Caller("ana")
    live = Known((2, 19, 4), frozenset({"logs-1"}))
    put = request_for("PUT /logs-2/_doc/1", None)
    missing = can_i(evaluator.of(ana), ana, put, {}, live)
    assert not missing.allowed
    assert "indices:admin/create on logs-2 is granted by none of the roles" in missing.reasons()
    assert any("logs-2 does not exist: the write creates it" in n for n in missing.notes)
    there = can_i(evaluator.of(ana), ana, request_for("PUT /logs-1/_doc/1", None), {}, live)
    assert there.allowed and not any("admin/create" in c.action for c in there.checks)
    offline = can_i(evaluator.of(ana), ana, put)  # the indices not known: no create check
    assert offline.allowed
