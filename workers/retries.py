"""Retrying transient failures, with bounded exponential backoff.

Every actor is retried on an exception, waiting MIN_BACKOFF_MS, then about twice as long
each time (with jitter, at most MAX_BACKOFF_MS), MAX_RETRIES times; then the message
fails and goes to the dead letters (`dead_letters.py`). An exception that retrying
cannot fix (bad input, a refused payment) should be a `PermanentFailure`, or be listed in
the actor's `throws` option: the message fails at once, without retries.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.middleware import Retries

MAX_RETRIES = 8
MIN_BACKOFF_MS = 2_000
MAX_BACKOFF_MS = 10 * 60_000  # one wait at most; 8 retries from 2 s take 8.5 to 17 minutes in all
ATTEMPTS = "attempts"  # message option: runs so far, set when a run fails


class PermanentFailure(Exception):
    """A failure that will not succeed on a retry: the message goes straight to the dead letters."""


class BoundedRetries(Retries):
    """dramatiq's Retries with Bureau's limits, failing `PermanentFailure` at once."""

    def __init__(
        self,
        *,
        max_retries: int = MAX_RETRIES,
        min_backoff_ms: int = MIN_BACKOFF_MS,
        max_backoff_ms: int = MAX_BACKOFF_MS,
    ) -> None:
        if not 0 <= max_retries <= MAX_RETRIES * 4 or not 0 < min_backoff_ms <= max_backoff_ms:
            raise ValueError(
                f"retry limits out of range: max_retries={max_retries}, backoff {min_backoff_ms}..{max_backoff_ms} ms"
            )
        super().__init__(max_retries=max_retries, min_backoff=min_backoff_ms, max_backoff=max_backoff_ms)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is not None:
            # Before Retries counts this run: earlier failed runs plus this one.
            message.options[ATTEMPTS] = int(message.options.get("retries", 0)) + 1
        if isinstance(exception, PermanentFailure):
            message.fail()
            return
        super().after_process_message(broker, message, result=result, exception=exception)  # type: ignore[no-untyped-call]


def attempts(message: dramatiq.MessageProxy) -> int:
    """How many times a failed message has run, counting the run that just failed."""
    return int(message.options.get(ATTEMPTS, 1))
