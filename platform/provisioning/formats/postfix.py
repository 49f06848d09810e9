"""A Postfix `virtual` alias table for mailboxes and domains.

Each domain gets a line `demo.example<TAB>anything`, the "virtual alias domain"
convention (Postfix's VIRTUAL_README: the right-hand side is required but ignored),
so that with `virtual_alias_domains = $virtual_alias_maps` the table also says which
domains are accepted. Each active mailbox maps to its Unix user (named as
`naming.UnixNaming` says), or to user@`local_domain` when that option is set.
A suspended mailbox is left out: Postfix then rejects its mail at RCPT time with
"User unknown in virtual alias table", and nothing needs undoing on reactivation.
`postmap` takes '#' comments and continues a line that starts with whitespace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..accounts import Account
from .base import Format, FormatError, Held, OptionsError, held_once
from .mail import MAIL_KINDS, mail_domains, mailboxes
from .naming import UnixNaming
from .text import check_domain, numbered, render_lines

VIRTUAL = "virtual"
DOMAIN_MARK = "anything"


@dataclass(frozen=True, slots=True)
class PostfixOptions(UnixNaming):
    local_domain: str | None = None  # e.g. "localhost": targets become "alice.demo.example@localhost"

    def __post_init__(self) -> None:
        if self.local_domain is not None:
            try:
                check_domain(self.local_domain, "local_domain")
            except FormatError as error:
                raise OptionsError(str(error)) from None


def render(accounts: Sequence[Account], options: PostfixOptions) -> dict[str, str]:
    """`virtual`: the domain lines sorted, then the active mailboxes sorted by address."""
    suffix = "" if options.local_domain is None else f"@{options.local_domain}"
    lines = [f"{domain}\t{DOMAIN_MARK}" for domain in mail_domains(accounts)]
    lines += [f"{address}\t{options.unix_name(a)}{suffix}" for address, a in mailboxes(accounts) if not a.locked]
    return {VIRTUAL: render_lines(lines)}


def logical_lines(text: str, file: str) -> Iterator[tuple[int, str]]:
    """postmap's logical lines: comments and blank lines dropped, indented lines joined on."""
    pending: tuple[int, str] | None = None
    for number, raw in numbered(text):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[0].isspace():
            if pending is None:
                raise FormatError("a continuation line with nothing to continue", file=file, line=number)
            pending = (pending[0], f"{pending[1]} {raw.strip()}")
            continue
        if pending is not None:
            yield pending
        pending = (number, raw.strip())
    if pending is not None:
        yield pending


def read(files: Mapping[str, str], options: PostfixOptions) -> dict[str, Held]:
    """Domains (lines whose key has no '@') and addresses with their target."""
    held: dict[str, Held] = {}
    for number, line in logical_lines(files.get(VIRTUAL, ""), VIRTUAL):
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise FormatError("expected a key, whitespace, then a value", file=VIRTUAL, line=number)
        key, value = parts
        entry = {"type": "address", "target": value} if "@" in key else {"type": "domain"}
        held_once(held, Held(key, entry), VIRTUAL, number)
    return held


FORMAT = Format(name="postfix", kinds=MAIL_KINDS, options_type=PostfixOptions, render=render, read=read)
