"""Running one piece of work per cluster, several at a time, with a progress line."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_bounded(
    items: Sequence[T],
    work: Callable[[T], R],
    workers: int,
    label: Callable[[T], str] = str,
    what: str = "done",
) -> list[R | Exception]:
    """``work`` on every item, at most ``workers`` at once; results (or the exception each
    raised) in the items' order. A progress line goes to stderr when it is a terminal."""
    results: list[R | Exception] = [Exception("not run")] * len(items)
    finished = 0
    lock = threading.Lock()
    show = sys.stderr.isatty() and len(items) > 1

    def one(index: int) -> None:
        nonlocal finished
        try:
            results[index] = work(items[index])
        except Exception as exc:  # reported by the caller, per item
            results[index] = exc
        with lock:
            finished += 1
            if show:
                sys.stderr.write(f"\r\033[K[{finished}/{len(items)}] {what}: {label(items[index])}")
                sys.stderr.flush()

    if workers <= 1 or len(items) <= 1:
        for index in range(len(items)):
            one(index)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="osaccess") as pool:
            list(pool.map(one, range(len(items))))
    if show:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
    return results
