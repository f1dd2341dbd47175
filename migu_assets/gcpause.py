"""Python's cyclic garbage collector paused around a bulk build of objects that hold no reference cycles.

Building a workbook creates ~400,000 cell records that stay alive until the file is written; every collection of
the oldest generation walks all of them again (and, in a report worker, the as-of ledger too). Reference counting
frees everything without cycles at once, whether the collector runs or not, so pausing it costs no memory for such
objects; cyclic garbage made meanwhile waits for the next collection after the pause. A full-size month's workbook:
5.8–7.7 s → 4.8–4.9 s (BENCHMARKS.md, issue 14, fifth pass).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (restored afterwards, also on error; nesting is harmless)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
