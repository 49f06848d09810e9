"""Sendmail `virtusertable` and `sendmail.cw` (local-host-names) for mailboxes and domains.

`virtusertable` maps each mailbox address to its Unix user (named as `naming.UnixNaming`
says), tab-separated, for `makemap hash virtusertable < virtusertable`. A suspended
mailbox maps to `error:5.2.1:550 Mailbox disabled`, so senders get a permanent
"mailbox disabled" rather than "user unknown". `sendmail.cw` lists the domains of all
mailboxes and domain services, one per line. Both take '#' comments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..accounts import Account
from .base import NO, YES, Format, FormatError, Held, held_once
from .mail import MAIL_KINDS, mail_domains, mailboxes
from .naming import UnixNaming
from .text import content_lines, render_lines

VIRTUSERTABLE, SENDMAIL_CW = "virtusertable", "sendmail.cw"
DISABLED = "error:5.2.1:550 Mailbox disabled"
ERROR_PREFIX = "error:"  # sendmail's error mailer: any such target refuses the mail


@dataclass(frozen=True, slots=True)
class SendmailOptions(UnixNaming):
    pass


def render(accounts: Sequence[Account], options: SendmailOptions) -> dict[str, str]:
    """`virtusertable` sorted by address and `sendmail.cw` sorted by domain."""
    table = [f"{address}\t{DISABLED if a.locked else options.unix_name(a)}" for address, a in mailboxes(accounts)]
    return {VIRTUSERTABLE: render_lines(table), SENDMAIL_CW: render_lines(mail_domains(accounts))}


def read(files: Mapping[str, str], options: SendmailOptions) -> dict[str, Held]:
    """Addresses (target, locked) from `virtusertable` and domains from `sendmail.cw`."""
    held: dict[str, Held] = {}
    for number, line in content_lines(files.get(VIRTUSERTABLE, "")):
        key, _, target = line.partition("\t") if "\t" in line else line.partition(" ")
        if not target.strip():
            raise FormatError("expected an address, then whitespace, then a target", file=VIRTUSERTABLE, line=number)
        locked = YES if target.strip().startswith(ERROR_PREFIX) else NO
        held_once(
            held, Held(key, {"type": "address", "target": target.strip(), "locked": locked}), VIRTUSERTABLE, number
        )
    for number, line in content_lines(files.get(SENDMAIL_CW, "")):
        if len(line.split()) != 1:
            raise FormatError("expected one domain on the line", file=SENDMAIL_CW, line=number)
        held_once(held, Held(line, {"type": "domain"}), SENDMAIL_CW, number)
    return held


FORMAT = Format(name="sendmail", kinds=MAIL_KINDS, options_type=SendmailOptions, render=render, read=read)
