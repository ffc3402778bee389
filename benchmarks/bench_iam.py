"""Benchmark: the AWS calls and the wall time of a plan whose file names many IAM users of one
account, against the sandbox's local IAM (moto) and the real node behind the IAM gateway.

For 10, 1,000 and 10,000 users (created in moto under the path /osaccess-bench/ and deleted
afterwards) it plans a file that maps them all, signed as the sandbox's master role, and counts
every AWS API call the plan makes (botocore's own clients included). The same plan with exact
lookups only (one GetUser per user, as before listing) runs for comparison up to
--exact-limit users. Run with `make bench`; docs/benchmarks.md records one run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import botocore.session

from osaccess.aws import iam
from osaccess.cluster.clients import Overrides
from osaccess.file.loader import load
from osaccess.run.orchestrator import plan_files
from sandbox.principals import load_principals

from .bench_reconcile import ROOT, sandbox_env

ACCOUNT = "111111111111"
PATH = "/osaccess-bench/"


@contextmanager
def counted() -> Iterator[Counter[str]]:
    """Every AWS API call made in this process while inside, as service:Operation."""
    calls: Counter[str] = Counter()
    original = botocore.session.Session.create_client

    def recording(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        prefix = client.meta.service_model.signing_name
        client.meta.events.register(
            "before-call.*.*", lambda model, **_: calls.update([f"{prefix}:{model.name}"])
        )
        return client

    botocore.session.Session.create_client = recording  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


def iam_client(env: dict[str, str]) -> Any:
    master = load_principals(ROOT / "sandbox" / "principals.yml").by_name("master")
    return boto3.client(
        "iam",
        region_name=env["AWS_REGION"],
        endpoint_url=env["OSACCESS_STS_URL"],
        aws_access_key_id=master.access_key_id,
        aws_secret_access_key=master.secret_access_key,
    )


def mapping_file(directory: Path, env: dict[str, str], arns: list[str]) -> Path:
    lines = [
        "cluster:",
        f"  endpoint: {env['OSACCESS_GATEWAY_URL']}",
        "  auth: aws",
        f"  region: {env['AWS_REGION']}",
        f"  ca_certs: {env['OSACCESS_CA_CERTS']}",
        "roles:",
        "  readall:",
        "    ownership: shared",
        "    principals:",
        *(f"      - {arn}" for arn in arns),
    ]
    path = directory / f"iam-{len(arns)}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plan_once(path: Path) -> tuple[Counter[str], float, int]:
    loaded = load(str(path))
    assert loaded.file is not None, loaded.problems[:3]
    with counted() as calls:
        start = time.perf_counter()
        (outcome,) = plan_files([loaded.file], Overrides(profile="sandbox-master"))
        wall = time.perf_counter() - start
    assert outcome.error is None, outcome.error
    assert outcome.plan is not None
    iam_warnings = [w for w in outcome.plan.warnings if w.startswith("IAM:")]
    return calls, wall, len(iam_warnings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--exact-limit", type=int, default=1000)
    args = parser.parse_args()
    env = sandbox_env()
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION"):
        os.environ[name] = env[name]
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]
    client = iam_client(env)
    sizes = [int(s) for s in args.sizes.split(",")]
    names = [f"bench-user-{i:05d}" for i in range(max(sizes))]
    created = time.perf_counter()
    for name in names:
        client.create_user(UserName=name, Path=PATH)
    print(
        f"IAM benchmark: a plan of one file naming N IAM users of account {ACCOUNT} "
        f"({len(names):,} users created in the sandbox's IAM in "
        f"{time.perf_counter() - created:.0f}s), {os.cpu_count()} CPUs"
    )
    header = f"{'users':>6} | {'mode':<14} | {'AWS calls':>9} {'IAM calls':>9} | {'plan wall':>9}"
    print(header)
    print("-" * len(header))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for size in sizes:
                arns = [f"arn:aws:iam::{ACCOUNT}:user{PATH}{n}" for n in names[:size]]
                path = mapping_file(Path(tmp), env, arns)
                modes = [("listing", iam.LIST_ABOVE)]
                if size <= args.exact_limit:
                    modes.append(("exact lookups", 10**9))
                for mode, threshold in modes:
                    saved, iam.LIST_ABOVE = iam.LIST_ABOVE, threshold
                    try:
                        calls, wall, warnings = plan_once(path)
                    finally:
                        iam.LIST_ABOVE = saved
                    assert warnings == 0, f"{warnings} IAM warnings: every user exists"
                    iam_calls = sum(n for c, n in calls.items() if c.startswith("iam:"))
                    print(
                        f"{size:>6} | {mode:<14} | {sum(calls.values()):>9} {iam_calls:>9} | "
                        f"{wall:>8.2f}s   {dict(sorted(calls.items()))}",
                        flush=True,
                    )
    finally:
        for name in names:
            client.delete_user(UserName=name)
    print(
        "AWS calls: every call of the plan (STS, IAM), counted at botocore; plan wall: the whole "
        "plan (sign, read the cluster, IAM checks, access impact)"
    )


if __name__ == "__main__":
    main()
