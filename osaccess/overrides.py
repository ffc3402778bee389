"""Settings from the command line that win over a mapping file's cluster block. A module of its
own, with no dependencies, so that commands that never connect (validate, --help) stay light."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Overrides:
    """Settings from the command line (or its environment variables) that win over the file."""

    endpoint: str | None = None
    region: str | None = None
    assume_role: str | None = None
    auth: str | None = None
    ca_certs: str | None = None
    profile: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    # send every internal user's password again (apply --rotate-passwords)
    rotate_passwords: bool = False
