"""Connections, built in one place: which cluster, with which credentials.

The command line beats the mapping file's ``cluster`` block, field by field; that rule is
written here once (:func:`effective`) and every command, reviewed plans included, goes through
:func:`connect`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from osaccess import errors
from osaccess.aws import AwsSettings, identity, signer
from osaccess.cluster import SecurityApi
from osaccess.iam import Directory, aws_directories
from osaccess.model import AUTH_KINDS, ClusterSpec
from osaccess.overrides import Overrides

__all__ = ["Overrides", "connect", "effective", "iam_directories"]
from osaccess.transport import Transport


def effective(spec: ClusterSpec | None, overrides: Overrides) -> ClusterSpec:
    """The cluster block after the command line's overrides; without a file, --endpoint."""
    if spec is None:
        if not overrides.endpoint:
            raise errors.ConfigError(
                "which cluster? give a mapping file (--cluster FILE) or --endpoint URL",
                hint="e.g. --endpoint https://search-x.eu-west-1.es.amazonaws.com",
            )
        spec = ClusterSpec(endpoint=overrides.endpoint)
    auth = overrides.auth or spec.auth
    if auth not in AUTH_KINDS:
        raise errors.ConfigError(
            f"unknown auth {auth!r}", hint=f"use one of {', '.join(AUTH_KINDS)}"
        )
    return replace(
        spec,
        endpoint=(overrides.endpoint or spec.endpoint).rstrip("/"),
        auth=auth,
        region=overrides.region or spec.region,
        assume_role=overrides.assume_role or spec.assume_role,
        ca_certs=overrides.ca_certs or spec.ca_certs,
        # the user name is part of the cluster block only for basic auth
        username=(overrides.username or spec.username) if auth == "basic" else spec.username,
    )


def _aws_settings(
    spec: ClusterSpec | None, cluster: ClusterSpec, overrides: Overrides
) -> AwsSettings:
    return AwsSettings(
        endpoint=cluster.endpoint,
        region_option=overrides.region,
        file_region=spec.region if spec is not None else None,
        profile=overrides.profile,
        assume_role=cluster.assume_role,
        external_id=cluster.external_id,
        session_name=cluster.session_name,
        endpoint_from_command_line=bool(overrides.endpoint),
    )


def iam_directories(
    spec: ClusterSpec | None, overrides: Overrides
) -> Callable[[str], Directory | str] | None:
    """Read-only IAM lookups with the cluster's AWS credentials (None unless auth is aws)."""
    cluster = effective(spec, overrides)
    if cluster.auth != "aws":
        return None
    found = identity(_aws_settings(spec, cluster, overrides))
    lookup = {arn.split(":")[4]: arn for arn in cluster.iam_lookup_roles}
    return aws_directories(found, lookup)


def connect(spec: ClusterSpec | None, overrides: Overrides, **transport: object) -> SecurityApi:
    """A client for the security API of the effective cluster; no request is sent yet.
    ``transport`` passes test seams (``adapter``) and tuning to :class:`Transport`."""
    cluster = effective(spec, overrides)
    auth: object = None
    if cluster.auth == "aws":
        auth = signer(_aws_settings(spec, cluster, overrides))
    elif cluster.auth == "basic":
        username = overrides.username or cluster.username
        if not username or overrides.password is None:
            raise errors.ConfigError(
                "basic authentication needs a user name and a password",
                hint="set cluster.username in the file (or OSACCESS_USERNAME) and "
                "OSACCESS_PASSWORD in the environment",
            )
        auth = (username, overrides.password)
    return SecurityApi(
        Transport(
            cluster.endpoint,
            auth,
            auth_kind=cluster.auth,
            ca_certs=cluster.ca_certs,
            client_cert=cluster.client_cert,
            client_key=cluster.client_key,
            timeout=overrides.timeout,
            **transport,  # type: ignore[arg-type]
        ),
        cluster=cluster,
    )
