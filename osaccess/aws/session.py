"""AWS: the region, the credentials and the SigV4 signer. The only module that imports boto3.

The region is resolved the same way for every command, first match wins:

1. ``--region``
2. ``cluster.region`` in the mapping file
3. the endpoint host (``*.REGION.es.amazonaws.com``, ``vpc-`` endpoints included)
4. ``AWS_REGION``
5. ``AWS_DEFAULT_REGION``
6. the AWS profile's region

Credentials come from boto3's chain (``--profile``, environment, SSO, web identity, instance and
container roles); ``assume_role`` costs one STS call per run. Failures raise
:class:`~osaccess.errors.CredentialsError` with the fix.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from osaccess import errors
from osaccess.file.endpoint import region_from_endpoint


@dataclass(frozen=True)
class RegionChoice:
    region: str | None
    source: str  # where it came from, for messages: "--region", "cluster.region", ...


def resolve_region(
    *,
    option: str | None,
    file_region: str | None,
    endpoint: str,
    profile_region: Callable[[], str | None] = lambda: None,
    environ: dict[str, str] | None = None,
) -> RegionChoice:
    """The region, in the documented order (module docstring)."""
    env = os.environ if environ is None else environ
    candidates: list[tuple[str, Callable[[], str | None]]] = [
        ("--region", lambda: option),
        ("cluster.region", lambda: file_region),
        ("the endpoint host", lambda: region_from_endpoint(endpoint)),
        ("AWS_REGION", lambda: env.get("AWS_REGION")),
        ("AWS_DEFAULT_REGION", lambda: env.get("AWS_DEFAULT_REGION")),
        ("the AWS profile", profile_region),
    ]
    for source, value in candidates:
        found = value()
        if found:
            return RegionChoice(found.strip(), source)
    return RegionChoice(None, "")


# AWS API calls (STS, IAM, the OpenSearch service API) are retried by botocore's own retry
# modes: throttling and transient errors with backoff. AWS_RETRY_MODE and AWS_MAX_ATTEMPTS, when
# set, choose the mode and the attempts as they do for any AWS tool.
DEFAULT_RETRY_MODE = "standard"
DEFAULT_MAX_ATTEMPTS = 5


def retry_config(environ: dict[str, str] | None = None) -> Any:
    """botocore's client configuration for osaccess: its retry mode and attempts."""
    from botocore.config import Config

    env = os.environ if environ is None else environ
    mode = env.get("AWS_RETRY_MODE") or DEFAULT_RETRY_MODE
    try:
        attempts = int(env.get("AWS_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS)
    except ValueError:
        attempts = DEFAULT_MAX_ATTEMPTS
    retries: Any = {"mode": mode, "total_max_attempts": max(1, attempts)}
    return Config(retries=retries)


def describe_failure(exc: BaseException) -> str:
    """An AWS failure in a few words: the error code of a refusal, the endpoint that could not be
    reached. Never a secret (botocore's messages hold none of the keys)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    endpoint = getattr(exc, "kwargs", {}).get("endpoint_url")
    if endpoint:
        return f"{type(exc).__name__}: could not reach {endpoint}"
    return type(exc).__name__


@dataclass(frozen=True)
class AwsSettings:
    """What the signer needs. ``external_id`` is not a secret but is kept out of repr."""

    endpoint: str
    region_option: str | None = None
    file_region: str | None = None
    profile: str | None = None
    assume_role: str | None = None
    external_id: str | None = None
    session_name: str = "osaccess"
    endpoint_from_command_line: bool = False


@dataclass(frozen=True)
class AwsIdentity:
    """Credentials (refreshable) and the region they are used in, for one cluster."""

    session: Any  # boto3.Session
    credentials: Any  # botocore credentials (refreshable)
    region: str
    account: str | None = None  # known without asking when the credentials are an assumed role

    def client(self, service: str, credentials: Any = None, region: str | None = None) -> Any:
        """A boto3 client with these (or other) credentials, in this (or another) region."""
        frozen = (credentials or self.credentials).get_frozen_credentials()
        return self.session.client(
            service,
            region_name=region or self.region,
            aws_access_key_id=frozen.access_key,
            aws_secret_access_key=frozen.secret_key,
            aws_session_token=frozen.token,
            config=retry_config(),
        )

    def assume(
        self, role_arn: str, session_name: str = "osaccess", external_id: str | None = None
    ) -> Any:
        """Refreshable credentials of ``role_arn``, assumed with these credentials."""
        from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
        from botocore.exceptions import BotoCoreError, ClientError

        extra: dict[str, Any] = {"RoleSessionName": session_name}
        if external_id:
            extra["ExternalId"] = external_id
        region = self.region

        def client_creator(service: str, **kwargs: Any) -> Any:
            kwargs.setdefault("region_name", region)
            kwargs.setdefault("config", retry_config())
            return self.session._session.create_client(service, **kwargs)

        fetcher = AssumeRoleCredentialFetcher(
            client_creator=client_creator,
            source_credentials=self.credentials,
            role_arn=role_arn,
            extra_args=extra,
        )
        try:
            fetcher.fetch_credentials()
        except (BotoCoreError, ClientError) as exc:
            raise errors.CredentialsError(
                f"cannot assume {role_arn}: {exc}",
                hint="the source identity needs sts:AssumeRole on it, and the role's trust "
                "policy must allow the source identity (and the external id, if any)",
            ) from None
        return DeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role"
        )


@functools.lru_cache(maxsize=64)
def identity(settings: AwsSettings) -> AwsIdentity:
    """The credentials osaccess uses for a cluster: boto3's chain (or --profile), then
    ``assume_role`` (one STS call per run: the signer and the IAM lookups share them), in the
    resolved region."""
    import boto3
    from botocore.exceptions import BotoCoreError

    host = urlsplit(settings.endpoint).hostname or ""
    if host.endswith(".aoss.amazonaws.com"):
        raise errors.ConfigError(
            f"{settings.endpoint} is an OpenSearch Serverless collection, which has no security "
            "plugin and no role mappings",
            hint="Serverless access is governed by data access policies (aws opensearchserverless)",
        )
    try:
        session = boto3.Session(profile_name=settings.profile)
        credentials = session.get_credentials()
    except BotoCoreError as exc:
        raise errors.CredentialsError(
            f"AWS credentials: {exc}", hint="check --profile / AWS_PROFILE"
        ) from None
    if credentials is None:
        raise errors.CredentialsError(
            "no AWS credentials found",
            hint="configure a profile (aws configure / aws sso login), environment variables, "
            "web identity or an instance role",
        )
    choice = resolve_region(
        option=settings.region_option,
        file_region=settings.file_region,
        endpoint=settings.endpoint,
        profile_region=lambda: session.region_name,
    )
    if choice.region is None:
        raise errors.CredentialsError(
            f"no AWS region for {settings.endpoint}",
            hint="give --region"
            if settings.endpoint_from_command_line
            else "set cluster.region in the mapping file (or give --region)",
        )
    found = AwsIdentity(session, credentials, choice.region)
    if settings.assume_role:
        found = AwsIdentity(
            session,
            found.assume(settings.assume_role, settings.session_name, settings.external_id),
            choice.region,
            account=settings.assume_role.split(":")[4],
        )
    return found


def signer(settings: AwsSettings) -> Any:
    """A SigV4 signer (service ``es``) over refreshable boto3 credentials, for requests."""
    from requests_aws4auth import AWS4Auth

    found = identity(settings)
    return AWS4Auth(region=found.region, service="es", refreshable_credentials=found.credentials)
