"""qmail `virtualdomains`, `rcpthosts` and `recipients` for mailboxes and domains.

`virtualdomains` (control/virtualdomains) maps each domain to itself as the prefix,
`demo.example:demo.example`, the convention vpopmail uses: mail for
alice@demo.example goes to local address "demo.example-alice", which users/assign
hands to whatever delivers that domain. `rcpthosts` (control/rcpthosts) lists the same
domains, so qmail-smtpd accepts mail for them. Both take '#' comments.

`recipients` is users/recipients of the RECIPIENTS extension (s/qmail, and the
recipients patch for netqmail): the valid addresses, one per line, which
`qmail-recipients` compiles into users/recipients.cdb so that qmail-smtpd refuses
unknown recipients during the SMTP dialogue. Only active mailboxes are listed: a
suspended mailbox is refused at RCPT time like an unknown one. Whether that file
allows comments is not documented, so it gets no header. Option `recipients: false`
leaves it out for a plain qmail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..accounts import Account
from .base import NO, YES, Format, FormatError, Held
from .mail import MAIL_KINDS, mail_domains, mailboxes
from .text import content_lines, render_lines

VIRTUALDOMAINS, RCPTHOSTS, RECIPIENTS = "virtualdomains", "rcpthosts", "recipients"


@dataclass(frozen=True, slots=True)
class QmailOptions:
    recipients: bool = True


def render(accounts: Sequence[Account], options: QmailOptions) -> dict[str, str]:
    """`virtualdomains` and `rcpthosts` sorted by domain; `recipients` sorted by address."""
    domains = mail_domains(accounts)
    files = {
        VIRTUALDOMAINS: render_lines(f"{domain}:{domain}" for domain in domains),
        RCPTHOSTS: render_lines(domains),
    }
    if options.recipients:
        active = [address for address, account in mailboxes(accounts) if not account.locked]
        files[RECIPIENTS] = render_lines(active, comment=None)
    return files


def _one_word(line: str, file: str, number: int) -> str:
    if len(line.split()) != 1:
        raise FormatError("expected one name on the line", file=file, line=number)
    return line


def read(files: Mapping[str, str], options: QmailOptions) -> dict[str, Held]:
    """Domains (their virtualdomains prefix, whether in rcpthosts) and recipient addresses."""
    domains: dict[str, dict[str, str]] = {}
    for number, line in content_lines(files.get(VIRTUALDOMAINS, "")):
        key, colon, prefix = line.partition(":")
        if not colon or not key or key in domains:
            problem = f"{key!r} is listed twice" if key in domains else "expected domain:prefix"
            raise FormatError(problem, file=VIRTUALDOMAINS, line=number)
        domains[key] = {"type": "domain", "prefix": prefix, "rcpthost": NO}
    for number, line in content_lines(files.get(RCPTHOSTS, "")):
        entry = domains.setdefault(_one_word(line, RCPTHOSTS, number), {"type": "domain", "prefix": ""})
        if entry.get("rcpthost") == YES:
            raise FormatError(f"{line!r} is listed twice", file=RCPTHOSTS, line=number)
        entry["rcpthost"] = YES
    held = {key: Held(key, attributes) for key, attributes in domains.items()}
    for number, line in content_lines(files.get(RECIPIENTS, "")):
        address = _one_word(line, RECIPIENTS, number)
        if address in held:
            raise FormatError(f"{address!r} is listed twice", file=RECIPIENTS, line=number)
        held[address] = Held(address, {"type": "address"})
    return held


FORMAT = Format(name="qmail", kinds=MAIL_KINDS, options_type=QmailOptions, render=render, read=read)
