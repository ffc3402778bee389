"""Internal users' passwords, read where the file says, at plan time and again at apply time.

Sources: an environment variable, a file, an AWS Secrets Manager secret (optionally one key of
its JSON) and an SSM Parameter Store parameter (SecureString, decrypted), read with the run's
AWS credentials (boto3's chain, ``--profile``, ``assume_role``). A value read here lives only in
a :class:`~osaccess.kinds.internal_users.Secret`: it is never printed, logged, put in a plan
file, its checksum or an audit record, and no error message holds it. What is kept is the
source and its version (:meth:`PasswordSource.tag`), which tells later plans whether the user
already has it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osaccess import errors
from osaccess.kinds.base import Change, Desired
from osaccess.kinds.internal_users import INTERNAL_USERS, PASSWORD_VERSION, PasswordSource, Secret

if TYPE_CHECKING:
    from osaccess.aws.session import AwsIdentity
    from osaccess.model import MappingFile
    from osaccess.run.plan import Plan

ROTATE = "--rotate-passwords"


class SourceError(Exception):
    """A source that cannot be read: the message names the source, never a value."""


@dataclass(frozen=True)
class Found:
    secret: Secret
    version: str | None  # Secrets Manager's VersionId, SSM's Version; None for env and file


class Sources:
    """Reads password sources; AWS credentials are made only when an AWS source is read."""

    def __init__(
        self,
        aws: Callable[[], AwsIdentity],
        base: Path,
        environ: dict[str, str] | None = None,
    ) -> None:
        self._aws = aws
        self._base = base
        self._environ = os.environ if environ is None else environ
        self._clients: dict[tuple[str, str | None], Any] = {}

    def read(self, source: PasswordSource) -> Found:
        value, version = getattr(self, f"_{source.kind}")(source)
        if not value.strip():
            raise SourceError(f"the {source.text()} is empty")
        if source.hash and not value.startswith(("$2a$", "$2b$", "$2y$")):
            raise SourceError(f"the {source.text()} is not a bcrypt hash (it must start with $2y$)")
        return Found(Secret(value), version)

    def gather(
        self, source: PasswordSource, where: str, user: str, problems: list[str]
    ) -> Found | None:
        """The secret, or None with the reason added to ``problems`` (which never hold it)."""
        try:
            return self.read(source)
        except SourceError as exc:
            problems.append(f"{where}internal user {user!r}: {exc}")
            return None

    def _env(self, source: PasswordSource) -> tuple[str, str | None]:
        if source.ref not in self._environ:
            raise SourceError(f"the environment variable {source.ref} is not set")
        return self._environ[source.ref], None

    def _file(self, source: PasswordSource) -> tuple[str, str | None]:
        path = Path(source.ref).expanduser()
        path = path if path.is_absolute() else self._base / path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            raise SourceError(f"cannot read {path}: {exc.__class__.__name__}") from None
        return text.removesuffix("\n").removesuffix("\r"), None

    def _client(self, service: str, region: str | None) -> Any:
        if (service, region) not in self._clients:
            self._clients[(service, region)] = self._aws().client(service, region=region)
        return self._clients[(service, region)]

    def _secretsmanager(self, source: PasswordSource) -> tuple[str, str | None]:
        answer = self._call("secretsmanager", source, "GetSecretValue", SecretId=source.ref)
        value = answer.get("SecretString")
        if not isinstance(value, str):
            raise SourceError(f"the secret {source.ref} holds no string (SecretString)")
        if source.key is not None:
            try:
                document = json.loads(value)
            except ValueError:
                raise SourceError(
                    f"the secret {source.ref} is not JSON, so it has no key {source.key!r}"
                ) from None
            member = document.get(source.key) if isinstance(document, dict) else None
            if not isinstance(member, str):
                raise SourceError(f"the secret {source.ref} has no string key {source.key!r}")
            value = member
        return value, str(answer.get("VersionId") or "") or None

    def _ssm(self, source: PasswordSource) -> tuple[str, str | None]:
        answer = self._call("ssm", source, "GetParameter", Name=source.ref, WithDecryption=True)
        parameter = answer.get("Parameter", {})
        if parameter.get("Type") != "SecureString":
            raise SourceError(
                f"the parameter {source.ref} is a {parameter.get('Type')}, not a SecureString: "
                "anyone who may read the parameter store can read it"
            )
        return str(parameter.get("Value", "")), str(parameter.get("Version", "")) or None

    def _call(self, service: str, source: PasswordSource, operation: str, **args: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        from osaccess.aws.session import describe_failure

        region = source.ref.split(":")[3] if source.ref.startswith("arn:") else None
        try:
            client = self._client(service, region)
            method = getattr(client, _snake(operation))
            return method(**args)
        except errors.OsaccessError as exc:
            raise SourceError(f"{service}:{operation} on {source.ref}: {exc.message}") from None
        except (BotoCoreError, ClientError) as exc:
            raise SourceError(
                f"{service}:{operation} on {source.ref}: {describe_failure(exc)}"
            ) from None


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def resolve_file(file: MappingFile, sources: Sources, *, rotate: bool = False) -> MappingFile:
    """The file with every internal user's password read and its version recorded, or a
    ConfigError naming every source that cannot be read (before any request to the cluster)."""
    problems: list[str] = []
    definitions: list[Desired] = []
    for wanted in file.entries:
        user = wanted.definition
        if wanted.kind != INTERNAL_USERS.name or user is None or user.password is None:
            definitions.append(wanted)
            continue
        found = sources.gather(user.password, f"{wanted.location}: ", wanted.name, problems)
        if found is None:
            continue
        attributes = dict(user.attributes)
        attributes[PASSWORD_VERSION] = user.password.tag(found.version)
        user = replace(
            user,
            attributes=tuple(sorted(attributes.items())),
            secret=found.secret,
            send=ROTATE if rotate else None,
        )
        definitions.append(replace(wanted, definition=user))
    if problems:
        raise errors.PlanError(
            "cannot read the passwords the file names (nothing was sent):",
            problems,
            hint="check the sources; the file names them, never the secrets",
        )
    return replace(file, entries=tuple(definitions))


def attach(plan: Plan, sources: Sources) -> Plan:
    """A reviewed plan's passwords, read again from their sources: the plan file holds only
    where they come from. Refused when a source moved on since the review (another version)."""
    problems: list[str] = []
    sending = [c for c in plan.changes if _sends(c)]
    attached = {c.name: _attached(c, sources, problems) for c in sending}
    if problems:
        raise errors.Refused(
            "the reviewed plan's passwords cannot be sent:\n  " + "\n  ".join(problems),
            hint="plan again and review the new plan",
        )
    changes = tuple(attached[c.name] or c if _sends(c) else c for c in plan.changes)
    return replace(plan, changes=changes)


def _sends(change: Change) -> bool:
    return (
        change.kind == INTERNAL_USERS.name
        and change.after is not None
        and change.after.send is not None
    )


def _attached(change: Change, sources: Sources, problems: list[str]) -> Change | None:
    user = change.after
    assert user is not None and user.password is not None  # from_wire: sent with its source
    found = sources.gather(user.password, "", change.name, problems)
    if found is None:
        return None
    if user.password.tag(found.version) != user.attribute_map.get(PASSWORD_VERSION):
        problems.append(
            f"internal user {change.name!r}: the {user.password.text()} changed since the "
            "plan was reviewed (another version): plan again"
        )
        return None
    return replace(change, after=replace(user, secret=found.secret))


def sources_for(file_path: str | None, aws: Callable[[], AwsIdentity]) -> Sources:
    base = Path(file_path).resolve().parent if file_path else Path.cwd()
    return Sources(aws, base)
