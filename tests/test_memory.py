"""The allocator settings for builds and searches, seen through page faults (counted, not timed)."""

from __future__ import annotations

import ctypes.util
import json
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, resource
import numpy as np
from indexer.store import memory

def faults(rounds=50):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        a = np.ones(1_000_000)  # 8 MB: above glibc's default mmap threshold
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

out = {}
with memory.build_allocation():
    out["build"] = faults()
memory.tune_for_search()
faults(2)  # the heap grows once
out["search"] = faults()
with memory.build_allocation():
    out["build_after_search"] = faults()
out["search_again"] = faults()
print(json.dumps(out))
"""

pytestmark = pytest.mark.skipif(not ctypes.util.find_library("c") or sys.platform != "linux",
                                reason="glibc's mallopt is Linux-only")


def test_searches_reuse_memory_builds_give_it_back() -> None:
    """Search settings keep big temporaries on the heap; a build returns them while it runs
    and puts the search settings back when it ends."""
    out = json.loads(subprocess.run([sys.executable, "-c", SCRIPT], check=True,
                                    capture_output=True, text=True).stdout)
    # builds: every array is fresh mmap pages, faulted in again (transparent huge pages
    # make the count vary: at least a hundred faults per 8 MB array)
    assert out["build"] >= 50 * 100
    assert out["build_after_search"] >= 50 * 100
    # searches: the same heap pages are reused, next to no faults
    assert out["search"] * 20 <= out["build"]
    assert out["search_again"] * 20 <= out["build_after_search"]
