"""How glibc's malloc serves the big numpy temporaries of builds and of searches.

glibc serves big allocations with ``mmap`` above a threshold it raises each time such a
block is freed, and trims free memory off the top of the heap. Neither default suits Fil:

* **Builds** want memory proportional to what they hold. After a few of the postings
  builder's large temporaries the raised threshold sends the next ones to the heap, whose
  freed memory stays with the process: on 1M passages that was a quarter of the peak
  (976 MiB against 742 MiB with the threshold fixed low). Builds fix it low.
* **Searches** allocate and free arrays of a few MiB per query (scores over all
  passages). A fresh process hands each one new ``mmap`` pages (or trims and re-grows the
  heap), paying page faults every query: 10+ word questions at 300k passages took 10 ms
  in a fresh process against 5 ms in one whose heap happened to be large. Searches keep
  such blocks on the heap (threshold 32 MiB, top trimmed past 64 MiB).

Both are process-wide settings: a build sets its own for its length, then puts the
search settings back if this process searches. No-ops where there is no glibc.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import threading
from collections.abc import Iterator

M_TRIM_THRESHOLD = -1  # mallopt parameters (glibc's malloc.h)
M_MMAP_THRESHOLD = -3
BUILD = (128 * 1024, 128 * 1024)  # (mmap, trim) thresholds: glibc's defaults, made fixed
SEARCH = (32 * 1024 * 1024, 64 * 1024 * 1024)

_lock = threading.Lock()
_state = {"search": False, "builds": 0}


@functools.cache
def _mallopt() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """glibc's ``mallopt``, or None."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return None


def _set(thresholds: tuple[int, int]) -> bool:
    """Fix the mmap and trim thresholds; False where they cannot be set."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    mmap, trim = thresholds
    return bool(mallopt(M_MMAP_THRESHOLD, mmap)) and bool(mallopt(M_TRIM_THRESHOLD, trim))


def tune_for_search() -> None:
    """Keep a query's big temporaries on the heap from now on (once per process)."""
    if _state["search"]:
        return
    with _lock:
        _state["search"] = True
        if not _state["builds"]:
            _set(SEARCH)


@contextlib.contextmanager
def build_allocation() -> Iterator[None]:
    """Big temporaries go back to the system when freed, for the length of a build."""
    with _lock:
        _state["builds"] += 1
        _set(BUILD)
    try:
        yield
    finally:
        with _lock:
            _state["builds"] -= 1
            if not _state["builds"] and _state["search"]:
                _set(SEARCH)
