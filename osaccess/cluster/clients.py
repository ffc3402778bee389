"""Connections, built in one place: which cluster, with which credentials.

The command line beats the mapping file's ``cluster`` block, field by field; that rule is
written here once (:func:`effective`) and every command, reviewed plans included, goes through
:func:`connect`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import replace

from osaccess import errors
from osaccess.aws.domainpolicy import Domain, domain_name, read_domain
from osaccess.aws.iam import AwsDirectories, Directory, aws_directories, resolve_file
from osaccess.aws.session import AwsIdentity, AwsSettings, identity, signer
from osaccess.cluster.security import SecurityApi
from osaccess.file.endpoint import FIX as ENDPOINT_FIX
from osaccess.file.endpoint import problem as endpoint_problem
from osaccess.kinds.mappings import sso_refs
from osaccess.model import AUTH_KINDS, ClusterSpec, MappingFile
from osaccess.overrides import Overrides

__all__ = [
    "Overrides",
    "aws_identity",
    "cluster_account",
    "connect",
    "domain_access",
    "effective",
    "iam_directories",
    "resolve_sso_entries",
]
from osaccess.cluster.transport import Transport


def effective(spec: ClusterSpec | None, overrides: Overrides) -> ClusterSpec:
    """The cluster block after the command line's overrides; without a file, --endpoint."""
    if spec is None:
        if not overrides.endpoint:
            raise errors.ConfigError(
                "which cluster? give a mapping file (--cluster FILE) or --endpoint URL",
                hint="e.g. --endpoint https://search-x.eu-west-1.es.amazonaws.com",
            )
        spec = ClusterSpec(endpoint=overrides.endpoint)
    if overrides.endpoint:
        wrong = endpoint_problem(overrides.endpoint)
        if wrong is not None:
            raise errors.ConfigError(
                f"--endpoint {overrides.endpoint!r} {wrong}", hint=ENDPOINT_FIX
            )
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


def aws_identity(spec: ClusterSpec | None, overrides: Overrides) -> AwsIdentity:
    """The run's AWS credentials and region, whatever the cluster's auth (for AWS sources of
    internal users' passwords, say, on a self-managed cluster)."""
    cluster = effective(spec, overrides)
    return identity(_aws_settings(spec, cluster, overrides))


def iam_directories(spec: ClusterSpec | None, overrides: Overrides) -> AwsDirectories | None:
    """Read-only IAM lookups with the cluster's AWS credentials (None unless auth is aws)."""
    cluster = effective(spec, overrides)
    if cluster.auth != "aws":
        return None
    found = identity(_aws_settings(spec, cluster, overrides))
    lookup = {arn.split(":")[4]: arn for arn in cluster.iam_lookup_roles}
    return aws_directories(found, lookup)


def iam_lookup(spec: ClusterSpec | None, overrides: Overrides) -> Callable[[str], Directory | str]:
    """IAM of one account, asked for (and the credentials read) only when first needed; a
    string says why IAM cannot be asked (not an AWS cluster)."""

    @functools.cache
    def directories() -> AwsDirectories | None:
        return iam_directories(spec, overrides)

    def directory(account: str) -> Directory | str:
        found = directories()
        return found(account) if found is not None else "IAM is not asked: auth is not aws"

    return directory


def resolve_sso_entries(
    file: MappingFile, overrides: Overrides, directories: AwsDirectories | None = None
) -> tuple[MappingFile, dict[str, str]]:
    """The file with its ``sso:`` entries resolved to role ARNs through IAM (read-only), and what
    the file called each resolved ARN. A file without them is returned as it is, with no call.
    ``directories`` reuses the lookups (and their cache) of the same run."""
    refs = sso_refs(file.entries)
    if not refs:
        return file, {}
    directories = directories or iam_directories(file.cluster, overrides)
    if directories is None:
        ref = refs[0]
        raise errors.ConfigError(
            f"{ref.location}: {ref.label}: resolving a permission set needs AWS credentials "
            "(auth: aws)",
            hint="write the role's ARN instead of sso:, or use auth: aws",
        )
    return resolve_file(file, directories, cluster_account(file.cluster, directories))


def cluster_account(spec: ClusterSpec | None, directories: AwsDirectories) -> str:
    """The cluster's AWS account: ``cluster.account`` when the file says it, else the account of
    the credentials osaccess signs with."""
    if spec is not None and spec.account:
        return spec.account
    try:
        return directories.caller_account()
    except errors.OsaccessError:
        raise
    except Exception as exc:
        from osaccess.aws.session import describe_failure

        raise errors.CredentialsError(
            f"cannot tell which account the credentials belong to (sts:GetCallerIdentity): "
            f"{describe_failure(exc)}",
            hint="check the AWS credentials, the region and the STS endpoint "
            "(AWS_ENDPOINT_URL_STS)",
        ) from exc


def domain_access(spec: ClusterSpec | None, overrides: Overrides) -> Domain | str | None:
    """The domain and its access policy (``es:DescribeDomain``, read-only), or why it could not
    be read; None unless auth is aws."""
    cluster = effective(spec, overrides)
    if cluster.auth != "aws":
        return None
    name = domain_name(cluster.endpoint, cluster.domain)
    if name is None:
        return (
            "the endpoint does not name the domain (a custom endpoint?); set cluster.domain "
            "to check the domain's access policy"
        )
    try:
        found = identity(_aws_settings(spec, cluster, overrides))
        return read_domain(found.client("opensearch"), name)
    except errors.OsaccessError as exc:
        return f"cannot read the domain {name!r}: {exc.message}"
    except Exception as exc:  # an AWS refusal or an unreachable API: reported, never fatal
        from osaccess.aws.session import describe_failure

        return f"cannot read the domain {name!r} (es:DescribeDomain): {describe_failure(exc)}"


def connect(spec: ClusterSpec | None, overrides: Overrides, **transport: object) -> SecurityApi:
    """A client for the security API of the effective cluster; no request is sent yet.
    ``transport`` passes test seams (``adapter``) and tuning to :class:`Transport`."""
    cluster = effective(spec, overrides)
    for option, path in (
        ("ca_certs", cluster.ca_certs),
        ("client_cert", cluster.client_cert),
        ("client_key", cluster.client_key),
    ):
        if path and not os.path.isfile(path):
            raise errors.ConfigError(
                f"cluster.{option}: {path} is not a file",
                hint="give the path of the PEM file (relative paths start at the mapping file)"
                + (" or --ca-certs / OSACCESS_CA_CERTS" if option == "ca_certs" else ""),
            )
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
