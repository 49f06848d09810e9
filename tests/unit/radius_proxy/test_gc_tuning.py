"""The RADIUS process's collector settings."""

from __future__ import annotations

import gc

from bureau.radius_proxy import gc_tuning


def test_quieten_freezes_what_exists_and_raises_the_thresholds() -> None:
    before = gc.get_threshold()
    try:
        gc_tuning.quieten()
        assert gc.get_threshold() == gc_tuning.THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
