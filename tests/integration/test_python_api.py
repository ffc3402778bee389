"""The Python API's documented example runs as written against the sandbox."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import ROOT, Sandbox
from tests.integration.helpers import ANALYTICS, env_for, write


def test_the_documented_example_runs(sandbox: Sandbox, roles: list[str], tmp_path: Path) -> None:
    text = (ROOT / "docs" / "python-api.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    path = write(tmp_path, sandbox, "sigv4-master", f"  {roles[0]}: [{ANALYTICS}]\n")
    program = example.replace("mappings/sandbox.yaml", str(path))
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env_for(sandbox, "sigv4-master"),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"mappings create {roles[0]}" in lines
    assert f"{roles[0]} ['{ANALYTICS}']" in lines
    assert "apply would refuse: []" in lines
    assert "applied" in lines
    # Other tests map the same role at the same time: the explanation lists ours among theirs.
    (held,) = [line for line in lines if line.startswith("['")]
    assert roles[0] in ast.literal_eval(held[: held.index("]") + 1]), result.stdout
