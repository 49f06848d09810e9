"""The dunning policy's rules (pure): which step applies, once, and how payment lowers a case."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.billing.dunning_policy import (
    Action,
    InvalidDunningPolicy,
    Overdue,
    Step,
    check_steps,
    decide,
)

DOLLAR = 1_000_000
REMIND_7 = Step(7, Action.REMIND)
REMIND_14 = Step(14, Action.REMIND)
SUSPEND_21 = Step(21, Action.SUSPEND, min_overdue_micros=20 * DOLLAR)
POLICY = check_steps([SUSPEND_21, REMIND_7, REMIND_14])


def test_steps_are_ordered_by_days() -> None:
    assert POLICY == (REMIND_7, REMIND_14, SUSPEND_21)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([Step(0, Action.REMIND)], "whole days from 1 to 365, got 0"),
        ([Step(366, Action.REMIND)], "got 366"),
        ([Step(True, Action.REMIND)], "got True"),  # type: ignore[arg-type]
        ([Step(7, Action.REMIND), Step(7, Action.SUSPEND)], "two steps are set at 7 days"),
        ([Step(7, "remind")], "must be remind or suspend"),  # type: ignore[arg-type]
        ([Step(7, Action.REMIND, min_overdue_micros=-1)], "zero or more"),
        ([Step(20, Action.SUSPEND), Step(30, Action.SUSPEND)], "suspends at one step at most"),
        ([Step(d, Action.REMIND) for d in range(1, 14)], "at most 12 steps"),
    ],
)
def test_a_policy_that_cannot_be_used_is_refused_with_the_reason(steps: list[Step], message: str) -> None:
    with pytest.raises(InvalidDunningPolicy, match=message):
        check_steps(steps)


def test_nothing_happens_before_the_first_step() -> None:
    decision = decide(POLICY, Overdue(6, 50 * DOLLAR), 0, False, escalate=True)
    assert (decision.level, decision.remind, decision.suspend, decision.restore) == (0, None, None, False)


def test_each_step_is_taken_once() -> None:
    first = decide(POLICY, Overdue(7, 50 * DOLLAR), 0, False, escalate=True)
    assert (first.level, first.remind) == (7, REMIND_7)
    again = decide(POLICY, Overdue(9, 50 * DOLLAR), first.level, False, escalate=True)
    assert (again.level, again.remind, again.suspend) == (7, None, None)


def test_a_customer_first_seen_late_gets_the_latest_reminder_only_and_is_suspended() -> None:
    decision = decide(POLICY, Overdue(30, 50 * DOLLAR), 0, False, escalate=True)
    assert (decision.level, decision.remind, decision.suspend) == (21, REMIND_14, SUSPEND_21)


def test_a_step_waits_while_less_than_its_minimum_is_overdue() -> None:
    decision = decide(POLICY, Overdue(30, 19 * DOLLAR), 14, False, escalate=True)
    assert (decision.level, decision.suspend) == (14, None)


def test_payment_below_the_suspension_minimum_restores_and_lowers_the_case() -> None:
    decision = decide(POLICY, Overdue(30, 10 * DOLLAR), 21, True, escalate=False)
    assert (decision.level, decision.restore, decision.remind, decision.suspend) == (14, True, None, None)


def test_payment_of_everything_overdue_closes_the_case() -> None:
    decision = decide(POLICY, Overdue(0, 0), 21, True, escalate=False)
    assert (decision.level, decision.restore) == (0, True)


def test_a_partial_payment_that_leaves_enough_overdue_keeps_the_suspension() -> None:
    decision = decide(POLICY, Overdue(30, 25 * DOLLAR), 21, True, escalate=False)
    assert (decision.level, decision.restore, decision.suspend) == (21, False, None)


def test_no_steps_means_no_dunning_and_frees_a_suspended_customer() -> None:
    decision = decide((), Overdue(90, 500 * DOLLAR), 21, True, escalate=True)
    assert (decision.level, decision.restore, decision.remind) == (0, True, None)


steps = st.lists(
    st.builds(
        Step,
        days=st.integers(1, 365),
        action=st.sampled_from([Action.REMIND]),
        min_overdue_micros=st.integers(0, 100 * DOLLAR),
    ),
    max_size=6,
    unique_by=lambda s: s.days,
).flatmap(
    lambda reminders: st.one_of(
        st.just(reminders),
        st.builds(
            lambda days, minimum: [*(s for s in reminders if s.days != days), Step(days, Action.SUSPEND, minimum)],
            st.integers(1, 365),
            st.integers(0, 100 * DOLLAR),
        ),
    )
)
overdue = st.builds(Overdue, days=st.integers(0, 400), micros=st.integers(0, 1000 * DOLLAR))


@given(steps, overdue, st.integers(0, 365), st.booleans())
def test_payment_never_raises_a_case_sends_a_reminder_or_suspends(
    given_steps: list[Step], now: Overdue, level: int, suspended: bool
) -> None:
    decision = decide(check_steps(given_steps), now, level, suspended, escalate=False)
    assert decision.level <= level
    assert decision.remind is None and decision.suspend is None
    assert not decision.restore or suspended


@given(steps, overdue, st.integers(0, 365), st.booleans())
def test_the_daily_run_lands_on_the_highest_step_that_applies(
    given_steps: list[Step], now: Overdue, level: int, suspended: bool
) -> None:
    policy = check_steps(given_steps)
    decision = decide(policy, now, level, suspended, escalate=True)
    applying = [s for s in policy if now.micros > 0 and s.days <= now.days and now.micros >= s.min_overdue_micros]
    assert decision.level == max((s.days for s in applying), default=0)
    assert decision.remind is None or decision.remind.days > level
    assert not (decision.suspend and decision.restore)
    assert not (decision.suspend and suspended)
