"""The offline benchmark runs, at a small size: `make bench` is not part of `make test`, and a
benchmark that no longer runs (it once used a removed attribute) would go unseen until then."""

from __future__ import annotations

import pytest

from benchmarks import bench_permissions


def test_the_permissions_benchmark_runs_and_prints_its_figures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, small in (("ROLES", 60), ("PER_ROLE", 5), ("PRINCIPALS", 200), ("GROUPS", 200)):
        monkeypatch.setattr(bench_permissions, name, small)
    bench_permissions.run(40)
    out = capsys.readouterr().out
    for figure in ("whole plan:", "plan with access impact:", "access review:", "can-i:"):
        assert figure in out, out
