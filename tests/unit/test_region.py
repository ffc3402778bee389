"""The AWS region is resolved the same way for every command, in the documented order."""

from __future__ import annotations

import pytest

from osaccess.aws.session import resolve_region
from osaccess.file.endpoint import region_from_endpoint

ENDPOINT = "https://search-x-abc.eu-west-1.es.amazonaws.com"
LOCAL = "https://127.0.0.1:9201"


@pytest.mark.parametrize(
    ("option", "file_region", "endpoint", "env", "profile", "expected", "source"),
    [
        (
            "us-east-1",
            "eu-west-2",
            ENDPOINT,
            {"AWS_REGION": "ap-south-1"},
            "sa-east-1",
            "us-east-1",
            "--region",
        ),
        (
            None,
            "eu-west-2",
            ENDPOINT,
            {"AWS_REGION": "ap-south-1"},
            "sa-east-1",
            "eu-west-2",
            "cluster.region",
        ),
        (
            None,
            None,
            ENDPOINT,
            {"AWS_REGION": "ap-south-1"},
            "sa-east-1",
            "eu-west-1",
            "the endpoint host",
        ),
        (
            None,
            None,
            LOCAL,
            {"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ca-central-1"},
            "sa-east-1",
            "ap-south-1",
            "AWS_REGION",
        ),
        (
            None,
            None,
            LOCAL,
            {"AWS_DEFAULT_REGION": "ca-central-1"},
            "sa-east-1",
            "ca-central-1",
            "AWS_DEFAULT_REGION",
        ),
        (None, None, LOCAL, {}, "sa-east-1", "sa-east-1", "the AWS profile"),
        (None, None, LOCAL, {}, None, None, ""),
    ],
)
def test_the_order(
    option: str | None,
    file_region: str | None,
    endpoint: str,
    env: dict[str, str],
    profile: str | None,
    expected: str | None,
    source: str,
) -> None:
    choice = resolve_region(
        option=option,
        file_region=file_region,
        endpoint=endpoint,
        profile_region=lambda: profile,
        environ=env,
    )
    assert (choice.region, choice.source) == (expected, source)


@pytest.mark.parametrize(
    ("endpoint", "region"),
    [
        ("https://search-logs-abc.eu-west-1.es.amazonaws.com", "eu-west-1"),
        ("https://vpc-logs-abc123.us-gov-west-1.es.amazonaws.com:443", "us-gov-west-1"),
        ("https://search-x.cn-north-1.es.amazonaws.com.cn", "cn-north-1"),
        ("https://opensearch.example.com", None),
    ],
)
def test_the_endpoint_host_names_the_region(endpoint: str, region: str | None) -> None:
    assert region_from_endpoint(endpoint) == region
