"""Mapping files: placement of ARNs, and a clear, located message for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from osaccess.file.endpoint import region_from_endpoint
from osaccess.file.loader import find_files, load
from osaccess.file.principals import role_name_problem
from osaccess.kinds.mappings import Ownership
from tests.golden import assert_golden
from tests.unit.states import roles as roles_of

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "cluster.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


HEADER = "cluster:\n  endpoint: https://search-x.eu-west-1.es.amazonaws.com\nroles:\n"


def messages(tmp_path: Path, body: str) -> list[str]:
    result = load(write(tmp_path, HEADER + body))
    return [f"{p.line}:{p.severity}:{p.message}" for p in result.problems]


def test_the_shipped_sandbox_file_is_valid() -> None:
    result = load(str(ROOT / "mappings" / "sandbox.yaml"))
    assert result.problems == []
    assert result.file is not None
    roles = {r.name: r for r in roles_of(result.file)}
    assert roles["logs_reader"].mapping.users == {"arn:aws:iam::111111111111:user/alice"}
    assert roles["logs_reader"].mapping.backend_roles == {
        "arn:aws:iam::222222222222:role/analytics"
    }
    assert roles["all_access"].ownership is Ownership.SHARED


def test_principals_are_placed_by_kind_and_role_paths_are_kept(tmp_path: Path) -> None:
    sso = (
        "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
        "AWSReservedSSO_Admin_0123456789abcdef"
    )
    result = load(
        write(
            tmp_path,
            HEADER
            + f"""  all_access:
    - arn:aws:iam::111111111111:user/alice
    - arn:aws:iam::111111111111:role/platform-admin
    - {sso}
  readall:
    principals: [arn:aws:iam::222222222222:role/analytics]
    backend_roles: [ldap-analysts]
    users: [kibanaro]
    description: Read-only for analytics
""",
        )
    )
    assert result.problems == []
    assert result.file is not None
    all_access, readall = roles_of(result.file)
    assert all_access.mapping.users == {"arn:aws:iam::111111111111:user/alice"}
    assert all_access.mapping.backend_roles == {
        "arn:aws:iam::111111111111:role/platform-admin",
        sso,
    }
    assert readall.mapping.backend_roles == {
        "arn:aws:iam::222222222222:role/analytics",
        "ldap-analysts",
    }
    assert readall.mapping.users == {"kibanaro"}
    assert readall.mapping.description == "Read-only for analytics"
    assert result.file.cluster.region is None  # from the endpoint when connecting (aws.py)


def test_every_mistake_is_reported_at_once_with_its_location(tmp_path: Path) -> None:
    result = load(str(DATA / "mistakes.yaml"))
    assert result.file is None
    rendered = "\n".join(p.render() for p in result.problems).replace(str(DATA), "data")
    assert_golden("mistakes.txt", rendered + "\n")
    assert len(result.errors) == 12
    assert "hunter2" not in rendered  # the value of a password key is never echoed


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("  r: [arn:aws:iam::111111111111:role/x]\n  r: []\n", "5:error:duplicate key 'r'"),
        (
            "  r:\n    backend_roles: [arn:aws:iam::111111111111:user/bob]\n",
            "5:error:'arn:aws:iam::111111111111:user/bob' is an IAM user ARN under backend_roles",
        ),
        (
            "  r:\n    users: [arn:aws:iam::111111111111:role/x]\n",
            "5:error:'arn:aws:iam::111111111111:role/x' is an IAM role ARN under users",
        ),
        (
            "  r: [arn:aws:sts::111111111111:assumed-role/deployer/ci]\n",
            "4:error:'arn:aws:sts::111111111111:assumed-role/deployer/ci' is an STS session",
        ),
        (
            "  r: [arn:aws:iam::111111111111:group/admins]\n",
            "4:error:'arn:aws:iam::111111111111:group/admins' is an IAM group",
        ),
        (
            "  r: [arn:aws:iam::111111111111:root]\n",
            "4:error:'arn:aws:iam::111111111111:root' is an account root",
        ),
        ("  r: [arn:aws:iam::1111:user/x]\n", "4:error:'arn:aws:iam::1111:user/x' is a malformed"),
        ("  r: [arn:aws:iam::111111111111:policy/x]\n", "unknown IAM resource type 'policy'"),
        ("  r: [arn:aws:iam:eu-west-1:111111111111:role/x]\n", "iam ARNs have no region"),
        ("  r: [arn:azure:iam::111111111111:role/x]\n", "unknown partition 'azure'"),
        ("  r:\n    userz: [x]\n", "5:error:unknown key 'userz' in role 'r'"),
        ("  r:\n    users: x\n", "5:error:users must be a list, not a string"),
        ("  r:\n    users: [1]\n", "5:error:an entry of users must be a string, not a number"),
        ("  r:\n    users: ['']\n", "5:error:an empty entry in users"),
        ('  r:\n    users: ["a\\u0007b"]\n', "contains control characters"),
        ("  r:\n    users: [x]\n    password: y\n", "6:error:a 'password' key"),
        ("  _meta: [x]\n", "4:error:role name '_meta'"),
        ("  a/b: [x]\n", "contains '/'"),
        ("  r:\n    ownership: mine\n    users: [x]\n", "ownership 'mine' is not"),
        ("  r:\n", "4:error:role 'r' has no principals"),
        ("  r: [plain-name]\n", "4:error:'plain-name' is not an IAM ARN"),
    ],
)
def test_each_mistake_has_a_located_message(tmp_path: Path, body: str, expected: str) -> None:
    found = messages(tmp_path, body)
    assert any(expected in line for line in found), found


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("  r:\n    users: [' alice ']\n", "5:warning:' alice ' has leading or trailing white"),
        ("  r:\n    hosts: ['*']\n", "5:warning:'*' in hosts grants the role to everyone"),
        ("  r:\n    users: ['*']\n", "5:warning:'*' in users grants the role to everyone"),
        (
            "  r: [arn:aws:iam::111111111111:role/AWSReservedSSO_Admin_abc]\n",
            "is an IAM Identity Center role without its path",
        ),
        (
            "  r: [arn:aws:iam::111111111111:user/a, arn:aws:iam::111111111111:user/a]\n",
            "is listed twice in role 'r'",
        ),
    ],
)
def test_warnings_do_not_stop_the_file(tmp_path: Path, body: str, expected: str) -> None:
    result = load(write(tmp_path, HEADER + body))
    assert result.file is not None
    assert any(expected in f"{p.line}:{p.severity}:{p.message}" for p in result.problems), [
        p.message for p in result.problems
    ]


def test_whitespace_is_stripped_from_values(tmp_path: Path) -> None:
    result = load(write(tmp_path, HEADER + "  r: ['arn:aws:iam::111111111111:user/a  ']\n"))
    assert result.file is not None
    assert roles_of(result.file)[0].mapping.users == {"arn:aws:iam::111111111111:user/a"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("cluster:\n  endpoint: https://x\nroles: {}\n", "the 'roles' section is empty"),
        ("cluster:\n  endpoint: https://x\n", "no roles"),
        ("roles:\n  r: [x]\n", "no 'cluster' section"),
        ("cluster:\n\tendpoint: x\n", "invalid YAML"),
        ("cluster: [\n", "invalid YAML"),
        ("cluster:\n  endpoint: ftp://x\nroles:\n  r:\n    users: [x]\n", "is not an http(s) URL"),
        (
            "cluster:\n  endpoint: https://x\n  auth: ldap\nroles:\n  r:\n    users: [x]\n",
            "cluster.auth 'ldap' is not one of",
        ),
        (
            "cluster:\n  endpoint: https://x\n  auth: basic\nroles:\n  r:\n    users: [x]\n",
            "auth: basic needs cluster.username",
        ),
        (
            "cluster:\n  endpoint: https://x\n  assume_role: arn:aws:iam::111111111111:user/a\n"
            "roles:\n  r:\n    users: [x]\n",
            "cluster.assume_role must be an IAM role ARN",
        ),
        ("- a\n- b\n", "a mapping file is a YAML mapping"),
        (
            "cluster:\n  endpoint: https://admin:pw@x\nroles:\n  r:\n    users: [x]\n",
            "carries credentials",
        ),
        (
            "cluster:\n  endpoint: https://x\n  <<: {auth: aws}\nroles:\n  r: {users: [x]}\n",
            "merge keys",
        ),
    ],
)
def test_broken_files_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    result = load(write(tmp_path, text))
    assert result.file is None
    assert any(expected in p.message for p in result.errors), [p.message for p in result.errors]


def test_tabs_get_a_hint(tmp_path: Path) -> None:
    result = load(write(tmp_path, "cluster:\n\tendpoint: x\n"))
    assert result.errors[0].line == 2
    assert result.errors[0].fix == "indent with spaces, not tabs"


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(HEADER.encode() + b"  r: [caf\xe9]\n")
    result = load(str(path))
    assert result.errors[0].line == 4
    assert "not UTF-8" in result.errors[0].message


def test_an_alias_bomb_is_stopped_before_it_expands(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines.append("cluster: *a9")
    result = load(write(tmp_path, "\n".join(lines) + "\n"))
    assert result.file is None
    assert "expands to more than" in result.errors[0].message


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    result = load(str(path))
    assert "limited to 5 MiB" in result.errors[0].message


def test_directories_without_mapping_files_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    files, problems = find_files([str(tmp_path)])
    assert files == []
    assert "no mapping files" in problems[0].message
    assert find_files([str(tmp_path / "missing.yaml")])[1][0].message == "no such file or directory"


def test_role_names_the_api_would_reject() -> None:
    assert role_name_problem("logs_reader") is None
    assert role_name_problem("x" * 257) is not None
    assert role_name_problem(" padded") is not None


def test_regions_come_from_amazon_endpoints() -> None:
    assert region_from_endpoint("https://search-a-b.eu-west-1.es.amazonaws.com") == "eu-west-1"
    assert region_from_endpoint("https://vpc-a.us-gov-west-1.es.amazonaws.com") == "us-gov-west-1"
    assert region_from_endpoint("https://localhost:9200") is None


def test_safety_settings_are_read(tmp_path: Path) -> None:
    text = HEADER.replace("roles:\n", "") + (
        "protect: [arn:aws:iam::111111111111:role/break-glass, admin]\n"
        "admin_roles: [all_access]\n"
        "thresholds: {removal_percent: 10, removal_minimum: 3}\n"
        "roles:\n  r: [arn:aws:iam::111111111111:user/a]\n"
    )
    result = load(write(tmp_path, text))
    assert result.file is not None, result.problems
    safety = result.file.safety
    assert safety.protect == {"arn:aws:iam::111111111111:role/break-glass", "admin"}
    assert safety.admin_roles == ("all_access",)
    assert (safety.removal_percent, safety.removal_minimum) == (10, 3)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("protect: [arn:aws:sts::111111111111:assumed-role/x/y]\n", "is an STS session"),
        ("protect: admin\n", "protect must be a list"),
        ("thresholds: {removal_percent: 150}\n", "must be between 0 and 100"),
        ("thresholds: {removal_minimum: many}\n", "removal_minimum must be a"),
        ("thresholds: {removal_percnt: 5}\n", "did you mean 'removal_percent'"),
        ("admin_roles: []\n", "admin_roles is empty"),
    ],
)
def test_bad_safety_settings_are_refused(tmp_path: Path, extra: str, expected: str) -> None:
    result = load(write(tmp_path, extra + HEADER + "  r: [arn:aws:iam::111111111111:user/a]\n"))
    assert result.file is None
    assert any(expected in p.message or expected in (p.fix or "") for p in result.errors), [
        p.message for p in result.errors
    ]


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (f"arn:aws:iam::111111111111:role/{'r' * 65}", "IAM role names are at most 64 characters"),
        (f"arn:aws:iam::111111111111:user/{'u' * 65}", "IAM user names are at most 64 characters"),
    ],
)
def test_iam_names_longer_than_iam_allows_are_refused(
    tmp_path: Path, arn: str, expected: str
) -> None:
    result = load(write(tmp_path, HEADER + f"  r: ['{arn}']\n"))
    (error,) = result.errors
    assert expected in error.message
    assert error.line == 4
    assert error.fix and "arn:aws:iam::123456789012:role/name" in error.fix


def test_the_longest_iam_names_are_fine(tmp_path: Path) -> None:
    arn = f"arn:aws:iam::111111111111:role/{'r' * 64}"
    assert load(write(tmp_path, HEADER + f"  r: ['{arn}']\n")).errors == []


def test_iam_paths_longer_than_iam_allows_are_malformed() -> None:
    from osaccess.file.arn import ArnKind, classify

    long_path = "/".join(["p" * 50] * 11)  # 561 characters with its slashes
    info = classify(f"arn:aws:iam::111111111111:role/{long_path}/name")
    assert info.kind is ArnKind.MALFORMED
    assert info.problem and "IAM paths are at most 512 characters" in info.problem


USERS_X = "roles:\n  readall: {users: [x]}\n"


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://search-x.eu-west-1.es.amazonaws.com ]", "contains a space"),
        ("https://search-x.eu-west-1.es.amazonaws.com]", "is not a URL (Invalid IPv6 URL)"),
        ("https://search-x.eu-west-1.es.amazonaws.com:99999", "Port out of range"),
        ("https://search-x.eu-west-1.es.amazonaws.com:port", "is not a URL"),
        ("https://search_x.example.com", "has no valid host name"),
        ("https://h.example.com/?pretty", "has a query or fragment"),
        ("ftp://h.example.com", "is not an http(s) URL"),
        ("https://", "has no valid host name"),
    ],
)
def test_every_malformed_endpoint_is_refused_at_its_line_with_the_fix(
    tmp_path: Path, endpoint: str, expected: str
) -> None:
    body = f"cluster:\n  endpoint: '{endpoint}'\n  region: eu-west-1\n{USERS_X}"
    result = load(write(tmp_path, body))
    (problem,) = result.errors
    assert (problem.line, problem.column) == (2, 13)
    assert expected in problem.message and problem.message.startswith("cluster.endpoint ")
    assert problem.fix is not None and problem.fix.startswith("write it as https://host[:port]")


def test_good_endpoints_pass(tmp_path: Path) -> None:
    for endpoint in ("https://127.0.0.1:9200", "https://[::1]:9200", "http://localhost:9200/x"):
        body = f"cluster:\n  endpoint: '{endpoint}'\n  region: eu-west-1\n{USERS_X}"
        assert load(write(tmp_path, body)).errors == [], endpoint


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("region: eu west 1", "cluster.region 'eu west 1' is not an AWS region name"),
        ("session_name: a b", "cluster.session_name 'a b' is not a valid STS session name"),
        ("external_id: x", "cluster.external_id 'x' is not a valid external id"),
    ],
)
def test_aws_values_that_aws_would_refuse_are_refused_offline(
    tmp_path: Path, line: str, expected: str
) -> None:
    body = f"cluster:\n  endpoint: https://h.example.com\n  {line}\n{USERS_X}"
    (problem,) = load(write(tmp_path, body)).errors
    assert problem.line == 3 and problem.message == expected


def test_a_look_alike_letter_in_an_iam_name_is_refused_naming_the_character(
    tmp_path: Path,
) -> None:
    found = messages(tmp_path, "  readall: [arn:aws:iam::111111111111:user/al\u0456ce]\n")
    assert found == [
        "4:error:'arn:aws:iam::111111111111:user/al\u0456ce' is a malformed or unsupported ARN: "
        "the name contains '\u0456' (U+0456, cyrillic small letter byelorussian-ukrainian i), "
        "which IAM does not allow: IAM names are ASCII letters, digits and +=,.@_-; retype it"
    ]
    # digits of other scripts are no account number either
    assert "malformed" in messages(tmp_path, "  readall: [arn:aws:iam::١١١١١١١١١١١١:user/a]\n")[0]


def test_a_role_named_by_a_quoted_merge_key_is_a_role(tmp_path: Path) -> None:
    """A cluster may hold a role called "<<": import quotes it, and the quoted key is a name,
    not YAML's merge key (found by the import round-trip property test)."""
    result = load(
        write(tmp_path, "cluster:\n  endpoint: https://x\nroles:\n  '<<': {users: [bob]}\n")
    )
    assert result.errors == []
    assert result.file is not None and [r.name for r in roles_of(result.file)] == ["<<"]
