"""What dunning does for a customer with overdue invoices (pure; `dunning.py` acts on it).

A tenant's policy is a list of steps, each taken when the customer's oldest unpaid
invoice is so many days past its due date and at least the step's minimum is overdue:
remind the customer, or suspend their active services. A customer's case remembers the
highest step taken, so each step is taken once however often dunning runs; when a
customer is first seen late (dunning turned on, or a run missed), only the latest of
the reminders now due is sent, not every one in between.

Payment works the other way: whenever less is overdue, or for fewer days, the case
falls back to the step that still applies, and a customer whose suspension step no
longer applies has their services restored. A payment or credit note only ever lowers
a case (`escalate=False`); only the daily run raises one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import BillingError

MAX_DAYS = 365
MAX_STEPS = 12


class Action(enum.StrEnum):
    REMIND = "remind"
    SUSPEND = "suspend"


class InvalidDunningPolicy(BillingError):
    """A dunning policy that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Step:
    days: int  # days past the due date of the oldest unpaid invoice
    action: Action
    min_overdue_micros: int = 0

    def applies(self, overdue: Overdue) -> bool:
        return overdue.micros > 0 and overdue.days >= self.days and overdue.micros >= self.min_overdue_micros


@dataclass(frozen=True, slots=True)
class Overdue:
    days: int  # since the oldest unpaid invoice fell due; 0 if nothing is overdue
    micros: int  # still open on invoices past their due date


@dataclass(frozen=True, slots=True)
class Decision:
    level: int  # the case's new level: days of the highest step that applies (0: close the case)
    remind: Step | None  # the reminder to send now
    suspend: Step | None  # suspend the customer's active services now, at this step
    restore: bool  # give back what dunning suspended


def check_steps(steps: Iterable[Step]) -> tuple[Step, ...]:
    """The steps in order of days; InvalidDunningPolicy says what is wrong with them."""
    given = list(steps)
    if len(given) > MAX_STEPS:
        raise InvalidDunningPolicy(f"a dunning policy has at most {MAX_STEPS} steps, got {len(given)}")
    for step in given:
        days = step.days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise InvalidDunningPolicy(f"a step's days overdue must be whole days from 1 to {MAX_DAYS}, got {days!r}")
    ordered = sorted(given, key=lambda s: s.days)
    seen: set[int] = set()
    for step in ordered:
        if step.days in seen:
            raise InvalidDunningPolicy(f"two steps are set at {step.days} days overdue; give each step its own day")
        seen.add(step.days)
        if not isinstance(step.action, Action):
            raise InvalidDunningPolicy(f"a step's action must be remind or suspend, got {step.action!r}")
        m = step.min_overdue_micros
        if isinstance(m, bool) or not isinstance(m, int) or m < 0:
            raise InvalidDunningPolicy(f"a step's minimum overdue amount must be zero or more micro-units, got {m!r}")
    if sum(s.action is Action.SUSPEND for s in ordered) > 1:
        raise InvalidDunningPolicy("a dunning policy suspends at one step at most")
    return tuple(ordered)


def decide(steps: tuple[Step, ...], overdue: Overdue, level: int, suspended: bool, *, escalate: bool) -> Decision:
    """What to do for a customer whose case is at `level` (0: no case) and `suspended`
    (or not) by dunning, with `overdue` now; `steps` as `check_steps` returns them."""
    applying = [s for s in steps if s.applies(overdue)]
    new_level = max((s.days for s in applying), default=0)
    suspension = next((s for s in applying if s.action is Action.SUSPEND), None)
    if not escalate:
        new_level = min(new_level, level)
        if not suspended:
            suspension = None
    fresh = [s for s in applying if s.days > level] if escalate else []
    reminders = [s for s in fresh if s.action is Action.REMIND]
    return Decision(
        level=new_level,
        remind=reminders[-1] if reminders else None,
        suspend=suspension if suspension is not None and not suspended else None,
        restore=suspended and suspension is None,
    )
