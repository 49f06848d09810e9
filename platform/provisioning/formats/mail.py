"""What the mail formats share: mailbox addresses and the domains mail is accepted for."""

from __future__ import annotations

from collections.abc import Sequence

from ..accounts import Account
from .base import FormatError, keyed
from .text import check_address, check_domain

MAIL_KINDS = frozenset({"mailbox", "domain"})


def mailboxes(accounts: Sequence[Account]) -> list[tuple[str, Account]]:
    """(address, account) for each mailbox, sorted by address; the domain is lower-cased."""
    pairs = []
    for account in accounts:
        if account.kind == "mailbox":
            try:
                pairs.append((check_address(account.login), account))
            except FormatError as error:
                raise FormatError(f"service {account.service_id}: {error}") from None
    return keyed(pairs, "mail address")


def mail_domains(accounts: Sequence[Account]) -> list[str]:
    """The domains of all mailboxes and domain services, active or suspended, sorted.

    A suspended mailbox's domain stays listed so that its mail is refused with the
    mailbox's own error rather than "relaying denied".
    """
    domains = {address.rpartition("@")[2] for address, _ in mailboxes(accounts)}
    domains |= {check_domain(a.login, f"service {a.service_id}: domain") for a in accounts if a.kind == "domain"}
    return sorted(domains)
