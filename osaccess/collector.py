"""The garbage collector, set for what osaccess is: a short-lived process that builds one large
state (grants, pairs, principals: millions of small objects that live until it ends).

CPython collects its youngest generation every 700 allocations by default, and each collection
walks the objects that survived; at a thousand roles that is about a third of a plan's CPU
(`make bench`). Few of osaccess's objects form cycles, so collecting less often costs little
memory. The command line calls :func:`tune` once; a program using :mod:`osaccess.api` decides
for itself.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune() -> None:
    """Collect less often, for the rest of this process."""
    gc.set_threshold(*THRESHOLDS)
