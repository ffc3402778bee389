"""What differs between the OpenSearch (and OpenDistro) versions osaccess talks to, and how
osaccess handles each difference. docs/compatibility.md is the table for people; `doctor` prints
the rows that apply to the cluster it checks. osaccess never depends on the wording of a message.
"""

from __future__ import annotations

from dataclasses import dataclass


def parse(number: str) -> tuple[int, int, int] | None:
    parts = number.split("-")[0].split(".")
    try:
        major, minor, patch = (int(p) for p in [*parts, "0", "0"][:3])
    except ValueError:
        return None
    return major, minor, patch


@dataclass(frozen=True)
class Difference:
    key: str  # its anchor in docs/compatibility.md
    since: tuple[int, int, int] | None  # first version with it (None: from the start)
    until: tuple[int, int, int] | None  # first version without it (None: still there)
    behaviour: str
    handling: str

    def applies(self, version: tuple[int, int, int]) -> bool:
        return (self.since is None or version >= self.since) and (
            self.until is None or version < self.until
        )


DIFFERENCES = (
    Difference(
        "legacy-rest-layer",
        None,
        (2, 10, 0),
        "the legacy security REST layer: PATCH takes every JSON Patch operation and does not "
        "check that a mapped role exists",
        "osaccess sends only add and remove, and checks that every mapped role exists before "
        "writing",
    ),
    Difference(
        "empty-401",
        (2, 11, 0),
        (2, 12, 0),
        "a 401 comes with an empty body",
        "the message says the credentials were refused, with the advice for the auth kind",
    ),
    Difference(
        "no-op-patch-written",
        None,
        (2, 16, 0),
        "a PATCH that changes nothing is still written (later versions answer 'No updates "
        "required'); removing a mapping that does not exist answers 'Resource updated.'",
        "osaccess never sends an empty plan and never reads success messages",
    ),
    Difference(
        "opendistro-deprecated",
        (3, 0, 0),
        None,
        "the _opendistro/_security routes are deprecated (they still answer, with a warning)",
        "osaccess uses _plugins/_security and falls back to _opendistro only where _plugins "
        "has no handler",
    ),
    Difference(
        "blank-values-rejected",
        (3, 4, 0),
        None,
        "blank strings in mapping arrays are rejected",
        "osaccess refuses empty and white-space values in the file before sending anything",
    ),
)


def applicable(number: str) -> list[Difference]:
    version = parse(number)
    return [d for d in DIFFERENCES if version is not None and d.applies(version)]
