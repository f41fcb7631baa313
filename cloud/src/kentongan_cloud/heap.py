"""Garbage-collector settings for a long-running cloud process.

Measured at 1,000 events/s on PostgreSQL (README): with CPython's defaults a full collection
ran every 3 to 4 s and held the event loop (and every press waiting on it) for about 250 ms
of CPU each time, walking some 320,000 objects, most of them made at start-up (the district's
directory, the schema, the modules) and never freed. Objects alive across a batch's awaits
were promoted after 700 allocations and pushed the next full collection closer.

So, once the process is up: collect, then freeze what is left (`gc.freeze`: start-up
objects are never walked again), and let the young generation grow to `YOUNG` objects
before it is collected, so a batch's short-lived objects mostly die young. Reference
cycles are still collected; only less often and in shorter pauses.
"""

from __future__ import annotations

import gc
import logging

_LOGGER = logging.getLogger(__name__)

YOUNG = 20_000  # CPython's default is 700
MIDDLE = 20  # young collections per middle one (default 10)
OLD = 20  # middle collections per full one (default 10)


def settle() -> None:
    """Call once the process has started and before it serves: freezes what start-up made."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
    _LOGGER.info(
        "garbage collector: %d start-up objects frozen, thresholds %d/%d/%d",
        gc.get_freeze_count(),
        YOUNG,
        MIDDLE,
        OLD,
    )
