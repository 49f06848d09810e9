"""Garbage-collector settings for a process that answers RADIUS.

CPython's cyclic collector walks every tracked object of a generation when it runs. A
RADIUS server keeps hundreds of thousands of long-lived objects (the account-id and
plan caches, the duplicate cache, the NAS table); with the default thresholds a full
collection walks all of them every few seconds under load, and each one holds up every
reply for its duration: at 64 requests in flight the 99th percentile latency was 2-3
times the median (docs/benchmarks.md). So, once the server is set up, what exists is
frozen (moved out of the collector's view: it lives as long as the process), and
collections run less often: the young generation after 50,000 allocations instead of
700. Nothing is leaked by this: objects are still freed by reference counting the moment
they are unused; only garbage in reference cycles waits longer, and the packet path
makes little of it.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def quieten() -> None:
    """Freeze what exists and raise the collection thresholds (see module docstring)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
