"""Golden files: rendered output is compared with a reviewed copy under tests/unit/golden/.

Regenerate after an intended change with `OSACCESS_UPDATE_GOLDEN=1 make unit`, then review the
diff like any other change.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "unit" / "golden"


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("OSACCESS_UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with OSACCESS_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path} (OSACCESS_UPDATE_GOLDEN=1 to accept)"
