"""The REST API's operations as data (osaccess/data/operations.json, from opensearch-py): every
form can-i knows is one of them, requests are named by the operation they are, and a request
no form covers gets an error that names it and the nearest forms."""

from __future__ import annotations

import re

import pytest

from osaccess import errors
from osaccess.plugin import operations
from osaccess.plugin.forms import REST_FORMS, request_for


def test_the_table_holds_the_whole_api() -> None:
    found = operations.operations()
    assert len(found) >= 250
    names = {o.name for o in found}
    assert {"search", "bulk", "indices.update_aliases", "cat.indices", "reindex"} <= names
    assert all(o.methods and o.paths for o in found)
    assert operations.source().startswith("opensearch-py ")


@pytest.mark.parametrize(("method", "template"), [(m, p) for m, p, _, _ in REST_FORMS])
def test_every_form_can_i_knows_is_an_operation_of_the_api(method: str, template: str) -> None:
    path = re.sub(r"\{[^}]+\}", "x", template)
    assert operations.matching(method, path), f"{method} {template} is no operation of the API"


@pytest.mark.parametrize(
    ("request_", "operation"),
    [
        ("GET /_cat/indices", "cat.indices"),
        ("GET /_cat/indices/logs-*?v", "cat.indices"),
        ("POST /_aliases", "indices.update_aliases"),
        ("DELETE /logs-1/_alias/old", "indices.delete_alias"),
        ("PUT /_data_stream/logs", "indices.create_data_stream"),
        ("POST /logs/_rollover/logs-2", "indices.rollover"),
        ("POST /_reindex", "reindex"),
    ],
)
def test_a_request_is_named_by_its_operation(request_: str, operation: str) -> None:
    method, _, path = request_.partition(" ")
    assert operations.matching(method, path)[0].name == operation


def test_a_request_no_form_covers_is_named_with_the_nearest_forms() -> None:
    with pytest.raises(errors.ConfigError) as caught:
        request_for("POST /_aliases", None)
    assert "indices.update_aliases (POST /_aliases)" in caught.value.message
    assert "has not established" in caught.value.message
    with pytest.raises(errors.ConfigError) as caught:
        request_for("GET /logs/_nonsense", None)
    assert "no operation of the REST API" in caught.value.message


def test_the_nearest_forms_share_the_requests_api_keywords() -> None:
    known = [f"{m} {p}" for m, p, _, _ in REST_FORMS]
    close = operations.nearest("/logs-1/_doc", known)
    assert close and all("_doc" in c for c in close)
