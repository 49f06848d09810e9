"""Expected subscriber outcomes a caller may show to a person.

Each says what was wrong and what is allowed. A raised SubscriberError means the unit of
work it happened in must be rolled back; nothing of the refused change is committed.
"""

from __future__ import annotations


class SubscriberError(ValueError):
    """Base of the subscriber services' expected, user-facing errors."""


class InvalidSubscriberValue(SubscriberError):
    """A code, name, address, email, login, colour or other field that is not acceptable."""


class NotFound(SubscriberError):
    """No reseller, realm, customer or service matches the reference."""


class Duplicate(SubscriberError):
    """A realm or service login that is already taken."""


class PlanNotAllowedForReseller(SubscriberError):
    """The reseller (or its parent) is not allowed to sell the plan."""


class RealmMismatch(SubscriberError):
    """A login's realm belongs to another reseller than the customer's."""


class InvalidStateChange(SubscriberError):
    """A service state move the state machine does not allow."""
