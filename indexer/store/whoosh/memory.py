"""Keep a rebuild's memory proportional to what it holds, not to what it once held.

glibc serves big allocations with ``mmap`` (given back when freed) but raises that
threshold each time such a block is freed, up to 32 MiB: after a few of the postings
builder's large temporaries, the next ones come from the heap, and freed heap memory
stays with the process. On 1M passages that was a quarter of the peak (976 MiB against
742 MiB with the threshold fixed). Fixing the threshold keeps big arrays on ``mmap``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # mallopt parameter (glibc's malloc.h)
MMAP_THRESHOLD = 128 * 1024  # glibc's default, made fixed


@functools.cache
def fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold for this process (once); False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False
