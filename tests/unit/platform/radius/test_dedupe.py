"""DuplicateCache: RFC 5080 §2.2.2 duplicate detection, bounded and expiring."""

from __future__ import annotations

import pytest

from bureau.platform.radius.dedupe import DuplicateCache, DuplicateKey, Outcome

AUTH_A = b"A" * 16
AUTH_B = b"B" * 16


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def key(identifier: int = 7, port: int = 40000) -> DuplicateKey:
    return DuplicateKey("auth-1812", "192.0.2.10", port, identifier)


def cache(max_entries: int = 100, ttl_seconds: float = 5.0) -> tuple[DuplicateCache, FakeClock]:
    clock = FakeClock()
    return DuplicateCache(max_entries, ttl_seconds, clock), clock


def test_a_first_request_is_new_and_its_retransmission_while_in_progress_is_dropped() -> None:
    dupes, _ = cache()
    assert dupes.begin(key(), AUTH_A).outcome is Outcome.NEW
    assert dupes.begin(key(), AUTH_A).outcome is Outcome.IN_PROGRESS
    assert dupes.hits == 1
    assert len(dupes) == 1


def test_a_retransmission_after_the_reply_replays_the_cached_reply() -> None:
    dupes, _ = cache()
    dupes.begin(key(), AUTH_A)
    dupes.finish(key(), AUTH_A, b"reply-bytes")
    verdict = dupes.begin(key(), AUTH_A)
    assert (verdict.outcome, verdict.reply) == (Outcome.REPLAY, b"reply-bytes")
    assert dupes.hits == 1


def test_a_plain_tuple_key_is_the_same_key() -> None:
    dupes, _ = cache()
    dupes.begin(key(), AUTH_A)
    assert dupes.begin(("auth-1812", "192.0.2.10", 40000, 7), AUTH_A).outcome is Outcome.IN_PROGRESS


def test_the_same_key_with_another_authenticator_is_a_new_request_that_replaces_the_entry() -> None:
    dupes, _ = cache()
    dupes.begin(key(), AUTH_A)
    dupes.finish(key(), AUTH_A, b"old reply")
    assert dupes.begin(key(), AUTH_B).outcome is Outcome.NEW
    assert dupes.begin(key(), AUTH_B).outcome is Outcome.IN_PROGRESS
    assert dupes.begin(key(), AUTH_A).outcome is Outcome.NEW  # the old one is gone
    assert len(dupes) == 1


def test_a_late_finish_of_a_replaced_request_leaves_the_newer_entry_alone() -> None:
    dupes, _ = cache()
    dupes.begin(key(), AUTH_A)
    dupes.begin(key(), AUTH_B)
    dupes.finish(key(), AUTH_A, b"stale reply")
    assert dupes.begin(key(), AUTH_B).outcome is Outcome.IN_PROGRESS


def test_finishing_without_a_reply_forgets_the_request_so_a_retry_is_processed() -> None:
    dupes, _ = cache()
    dupes.begin(key(), AUTH_A)
    dupes.finish(key(), AUTH_A, None)
    assert len(dupes) == 0
    assert dupes.begin(key(), AUTH_A).outcome is Outcome.NEW


def test_different_ports_identifiers_and_sockets_are_different_keys() -> None:
    dupes, _ = cache()
    assert dupes.begin(key(identifier=1), AUTH_A).outcome is Outcome.NEW
    assert dupes.begin(key(identifier=2), AUTH_A).outcome is Outcome.NEW
    assert dupes.begin(key(port=40001), AUTH_A).outcome is Outcome.NEW
    assert dupes.begin(DuplicateKey("acct-1813", "192.0.2.10", 40000, 7), AUTH_A).outcome is Outcome.NEW
    assert len(dupes) == 4


def test_entries_expire_after_the_ttl_counted_from_the_reply() -> None:
    dupes, clock = cache(ttl_seconds=5.0)
    dupes.begin(key(), AUTH_A)
    clock.now += 3
    dupes.finish(key(), AUTH_A, b"reply")
    clock.now += 4.9  # 7.9 s after begin, 4.9 s after the reply
    assert dupes.begin(key(), AUTH_A).outcome is Outcome.REPLAY
    clock.now += 0.2
    assert dupes.begin(key(), AUTH_A).outcome is Outcome.NEW


def test_a_request_in_progress_longer_than_the_ttl_is_forgotten() -> None:
    dupes, clock = cache(ttl_seconds=5.0)
    dupes.begin(key(), AUTH_A)
    clock.now += 5
    assert dupes.begin(key(identifier=8), AUTH_A).outcome is Outcome.NEW
    assert len(dupes) == 1
    dupes.finish(key(), AUTH_A, b"late")  # no entry left: nothing cached
    assert dupes.begin(key(), AUTH_A).outcome is Outcome.NEW


def test_a_full_cache_evicts_the_oldest_entry() -> None:
    dupes, clock = cache(max_entries=3)
    for identifier in range(3):
        dupes.begin(key(identifier=identifier), AUTH_A)
        clock.now += 0.1
    dupes.finish(key(identifier=0), AUTH_A, b"r0")  # refreshed: now the newest
    assert dupes.begin(key(identifier=3), AUTH_A).outcome is Outcome.NEW
    assert len(dupes) == 3
    assert dupes.evictions == 1
    assert dupes.begin(key(identifier=1), AUTH_A).outcome is Outcome.NEW  # evicted, evicts 2 in turn
    assert dupes.begin(key(identifier=0), AUTH_A).outcome is Outcome.REPLAY
    assert dupes.evictions == 2


def test_the_cache_never_grows_beyond_its_bound() -> None:
    dupes, _ = cache(max_entries=50)
    for identifier in range(256):
        for port in range(10):
            dupes.begin(key(identifier=identifier, port=port), AUTH_A)
    assert len(dupes) == 50
    assert dupes.evictions == 256 * 10 - 50


def test_nonsense_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        DuplicateCache(0, 5.0)
    with pytest.raises(ValueError):
        DuplicateCache(10, 0)
