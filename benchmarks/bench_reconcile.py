"""Benchmark: osaccess plan/apply against the sandbox, and a per-role PUT baseline.

For each size (roles with 20 principals each) it prints the HTTP requests and wall time of
`plan` and `apply` (one collection PATCH) with default options (the 30 s read timeout: a write's
deadline follows its size), the CPU osaccess itself spends planning, what osaccess expected the
write to take, and the time a per-role PUT loop with opensearch-py takes to write the same
mappings (up to --baseline-limit). Run with `make bench`. Figures vary from machine to machine;
docs/benchmarks.md records one run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from opensearchpy import OpenSearch

from osaccess.cluster import pace
from osaccess.cluster.clients import Overrides, connect
from osaccess.file.loader import load
from osaccess.kinds.mappings import MAPPINGS
from osaccess.run.engine import execute, make_plan

ROOT = Path(__file__).resolve().parents[1]
PRINCIPALS_PER_ROLE = 20


def sandbox_env() -> dict[str, str]:
    env = {}
    for line in (ROOT / ".sandbox" / "env").read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line[7:].partition("=")
            env[name] = shlex.split(value)[0]
    return env


class Node:
    def __init__(self, env: dict[str, str]) -> None:
        self.url = env["OSACCESS_SANDBOX_URL"]
        self.auth = (env["OSACCESS_USERNAME"], env["OSACCESS_PASSWORD"])
        self.ca = env["OSACCESS_CA_CERTS"]

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        response = requests.request(
            method, self.url + path, json=body, auth=self.auth, verify=self.ca, timeout=1800
        )
        response.raise_for_status()
        return response

    def patch(self, resource: str, ops: list[dict[str, Any]]) -> None:
        self.call("PATCH", f"/_plugins/_security/api/{resource}", ops)


def principals(role: int) -> dict[str, list[str]]:
    users = [f"arn:aws:iam::111111111111:user/u{role}-{i}" for i in range(8)]
    backend = [f"arn:aws:iam::{222222222222 + i}:role/team-{role}/r{i}" for i in range(10)]
    return {"users": [*users, f"svc-{role}-a", f"svc-{role}-b"], "backend_roles": backend}


def mapping_file(directory: Path, names: list[str], env: dict[str, str]) -> Path:
    lines = [
        "cluster:",
        f"  endpoint: {env['OSACCESS_SANDBOX_URL']}",
        "  auth: basic",
        f"  username: {env['OSACCESS_USERNAME']}",
        f"  ca_certs: {env['OSACCESS_CA_CERTS']}",
        "roles:",
    ]
    for index, name in enumerate(names):
        p = principals(index)
        lines.append(f"  {name}:")
        lines.append("    principals:")
        lines += [f"      - {arn}" for arn in p["users"][:8] + p["backend_roles"]]
        lines.append(f"    users: [{', '.join(p['users'][8:])}]")
    path = directory / f"bench-{len(names)}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_size(
    size: int, node: Node, env: dict[str, str], baseline_limit: int, crowd: int = 0
) -> dict[str, Any]:
    """``size`` new mappings of as many new roles; with ``crowd``, on a cluster that also holds
    that many other roles (each with an index permission), which the plugin reads again for
    every mapping it writes."""
    names = [f"bench_{size}_{i:05d}" for i in range(size)]
    others = [f"bench_crowd_{i:05d}" for i in range(crowd)]
    role_body = {"cluster_permissions": ["cluster_monitor"]}
    node.patch("roles", [{"op": "add", "path": f"/{n}", "value": role_body} for n in names])
    if others:
        node.patch(
            "roles", [{"op": "add", "path": f"/{n}", "value": crowd_role(n)} for n in others]
        )
    row: dict[str, Any] = {"roles": size, "label": f"{size}+{crowd}r" if crowd else str(size)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = mapping_file(Path(tmp), names, env)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            loaded = load(str(path))
            assert loaded.file is not None, loaded.problems[:3]
            file = loaded.file
            api = connect(file.cluster, Overrides(password=env["OSACCESS_PASSWORD"]))
            planned = make_plan(api, file)
            row["expected_s"] = pace.expected_seconds(
                MAPPINGS.write_cost,
                size,
                len(planned.live.defined("mappings")),
                roles=len(node.call("GET", "/_plugins/_security/api/roles").json()),
            )
            row["plan_cpu_s"] = time.process_time() - cpu0
            row["plan_wall_s"] = time.perf_counter() - wall0
            row["plan_requests"] = api.requests
            assert len(planned.plan.changes) == size
            before = api.requests
            wall0 = time.perf_counter()
            result = execute(api, file, planned, progress=lambda line: print("  " + line))
            row["apply_wall_s"] = time.perf_counter() - wall0
            row["apply_requests"] = row["plan_requests"] + api.requests - before
            row["notes"] = result.notes
            assert result.verified
            api.transport.close()
        node.patch("rolesmapping", [{"op": "remove", "path": f"/{n}"} for n in names])
        if size <= baseline_limit:
            for kind, auth in loop_writers(node):
                wall = put_loop(node, auth, names)
                row[f"baseline_{kind}_wall_s"] = wall
                node.patch("rolesmapping", [{"op": "remove", "path": f"/{n}"} for n in names])
            node.patch("internalusers", [{"op": "remove", "path": f"/{LOOP_USER}"}])
            row["baseline_requests"] = size
    finally:
        gone = names + others
        node.patch("roles", [{"op": "remove", "path": f"/{n}"} for n in gone])
    return row


def crowd_role(name: str) -> dict[str, Any]:
    return {
        "cluster_permissions": ["cluster_monitor"],
        "index_permissions": [{"index_patterns": [f"{name}-*"], "allowed_actions": ["read"]}],
    }


LOOP_USER = "bench-loop-writer"


def loop_writers(node: Node) -> list[tuple[str, tuple[str, str]]]:
    """The PUT loop's two writers: the sandbox admin (bcrypt cost 4) and an internal user whose
    password the node hashed itself (its default, cost 12). The node checks the writer's password
    again after every security write, so the loop's speed depends on that cost; a SigV4 writer
    pays no bcrypt and sees the first figure."""
    password = secrets.token_urlsafe(18) + "A1!"
    user = {"password": password, "opendistro_security_roles": ["all_access"]}
    node.patch("internalusers", [{"op": "add", "path": f"/{LOOP_USER}", "value": user}])
    return [("cheap", node.auth), ("default", (LOOP_USER, password))]


def put_loop(node: Node, auth: tuple[str, str], names: list[str]) -> float:
    client = OpenSearch(
        node.url, http_auth=auth, use_ssl=True, verify_certs=True, ca_certs=node.ca, timeout=600
    )
    wall0 = time.perf_counter()
    for index, name in enumerate(names):
        body = {**principals(index), "and_backend_roles": [], "hosts": []}
        client.security.create_role_mapping(role=name, body=body)
    wall = time.perf_counter() - wall0
    client.close()
    return wall


def validate_wall(runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "osaccess", "validate", "mappings/sandbox.yaml"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def plan_reads(env: dict[str, str], runs: int = 9) -> dict[str, tuple[float, float]]:
    """The wall time of a plan of mappings/sandbox.yaml through the IAM gateway as the master
    role (SigV4), reads one after another and at once: (median wall, median read wall)."""
    keep = {name: os.environ.get(name) for name in (*env, "AWS_PROFILE")}
    os.environ.update(env)
    os.environ["AWS_PROFILE"] = "sandbox-master"
    loaded = load(str(ROOT / "mappings" / "sandbox.yaml"))
    assert loaded.file is not None, loaded.problems[:3]
    found: dict[str, tuple[float, float]] = {}
    try:
        for label, concurrency in (("in turn", "1"), ("at once", "8")):
            os.environ["OSACCESS_READ_CONCURRENCY"] = concurrency
            walls, reads = [], []
            for _ in range(runs):
                with connect(
                    loaded.file.cluster, Overrides(endpoint=env["OSACCESS_GATEWAY_URL"])
                ) as api:
                    api.read_state()  # credentials and the connection, outside the timing
                    start = time.perf_counter()
                    api.read_state_and_authinfo()
                    read = time.perf_counter() - start
                    make_plan(api, loaded.file)
                    walls.append(time.perf_counter() - start - read)
                    reads.append(read)
            found[label] = (statistics.median(walls), statistics.median(reads))
    finally:
        for name, value in keep.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,1000,2000,5000")
    parser.add_argument(
        "--crowded",
        default="200:5000",
        help="SIZE:ROLES: also SIZE new mappings on a cluster holding ROLES other roles",
    )
    parser.add_argument(
        "--baseline-limit",
        type=int,
        default=1000,
        help="largest size for which the per-role PUT baseline runs",
    )
    args = parser.parse_args()
    env = sandbox_env()
    node = Node(env)
    print(
        f"osaccess benchmark against {node.url} (OpenSearch, security plugin), "
        f"{PRINCIPALS_PER_ROLE} principals per role, {os.cpu_count()} CPUs"
    )
    header = (
        f"{'roles':>6} | {'plan req':>8} {'plan wall':>9} {'plan CPU':>8} | "
        f"{'apply req':>9} {'apply wall':>10} {'expected':>8} | {'PUT-loop req':>12} "
        f"{'loop, cost 4':>12} {'loop, cost 12':>13} | {'speed-up':>13}"
    )
    print(header)
    print("-" * len(header))
    runs = [(int(s), 0) for s in args.sizes.split(",")]
    if args.crowded:
        size, _, crowd = args.crowded.partition(":")
        runs.append((int(size), int(crowd)))
    reads = plan_reads(env)
    serial, parallel = reads["in turn"], reads["at once"]
    print(
        "plan of mappings/sandbox.yaml through the IAM gateway (SigV4), median of 9: "
        f"plan wall, reads in turn {serial[0]:.3f}s (the reads alone {serial[1]:.3f}s) | "
        f"reads at once {parallel[0]:.3f}s (the reads alone {parallel[1]:.3f}s)",
        flush=True,
    )
    for size, crowd in runs:
        row = run_size(size, node, env, args.baseline_limit, crowd)
        cheap, default = row.get("baseline_cheap_wall_s"), row.get("baseline_default_wall_s")
        if cheap and default:
            apply = row["apply_wall_s"]
            base_cols = f"{row['baseline_requests']:>12} {cheap:>11.1f}s {default:>12.1f}s"
            ratio = f"{cheap / apply:.0f}x / {default / apply:.0f}x"
        else:
            base_cols, ratio = f"{'(skipped)':>12} {'':>12} {'':>13}", "n/a"
        print(
            f"{row['label']:>6} | {row['plan_requests']:>8} {row['plan_wall_s']:>8.2f}s "
            f"{row['plan_cpu_s']:>7.2f}s | {row['apply_requests']:>9} "
            f"{row['apply_wall_s']:>9.2f}s {row['expected_s']:>7.1f}s | {base_cols} | {ratio:>13}",
            flush=True,
        )
        for note in row["notes"]:
            print(f"  note: {note}")
    print(
        f"\nosaccess validate mappings/sandbox.yaml: {validate_wall() * 1000:.0f} ms wall "
        "(median of 7, including Python start-up)"
    )
    print(
        "200+5000r: 200 new mappings on a cluster that holds 5,000 other roles; "
        "plan req: requests of plan; apply req: requests of plan + apply (re-read, PATCH, "
        "verify); plan CPU: CPU time of osaccess itself (loading, validating, parsing the "
        "answers, planning); expected: what osaccess.cluster.pace expected the PATCH to take; "
        "every "
        "apply verified (re-read, re-planned: empty); loop, cost 4 / cost 12: the per-role PUT "
        "loop written as the sandbox admin (bcrypt cost 4) and as an internal user hashed by the "
        "node (its default, cost 12): the node checks the writer's password after every "
        "security write; a SigV4 writer pays no bcrypt, like the first"
    )


if __name__ == "__main__":
    main()
