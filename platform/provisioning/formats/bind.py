"""BIND zone files, one `db.<domain>` per domain service.

Each zone has an SOA (primary name server, hostmaster, serial, timers), NS records for
`name_servers` (or the primary alone) and, at the apex, A / AAAA / MX records from the
options. A suspended domain keeps its zone with SOA and NS only: it still resolves
authoritatively (no lame delegation) but its web and mail addresses are gone until it
is reactivated.

Serials must grow whenever a zone changes, and output must depend only on its input.
`render` therefore writes the `serial` option into every zone; `render_keeping_serials`
is what an export should call: given the files the target holds now and today's date,
a zone whose records are unchanged keeps its serial (and its bytes), and a changed or
new one gets `next_serial`, the usual YYYYMMDDnn form, always above the old serial.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from ..accounts import Account
from .base import Format, FormatError, Held, OptionsError, exported, held_once, keyed
from .text import check_domain, check_ipv4, check_ipv6, numbered, render_lines

KINDS = frozenset({"domain"})
PREFIX = "db."
SERIAL_MAX = 4_294_967_295  # a 32-bit unsigned serial (RFC 1982)
TTL_MAX = 2_147_483_647  # RFC 2181
_COMMENT = re.compile(r'("(?:[^"\\]|\\.)*")|;.*')
_CLASSES = frozenset({"IN", "CH", "HS"})
_TTL = re.compile(r"[0-9]+[0-9smhdwSMHDW]*")  # 3600 or 1h30m


@dataclass(frozen=True, slots=True)
class BindOptions:
    primary_ns: str
    hostmaster: str  # a mail address: "hostmaster@isp.example"
    name_servers: tuple[str, ...] = ()  # empty: the primary alone
    address: str | None = None  # IPv4 of the apex (A)
    address6: str | None = None  # IPv6 of the apex (AAAA)
    mx_host: str | None = None
    mx_preference: int = 10
    ttl: int = 3600
    serial: int = 1
    refresh: int = 3600
    retry: int = 900
    expire: int = 1_209_600
    negative_ttl: int = 3600

    def __post_init__(self) -> None:
        try:
            for name in (self.primary_ns, *self.name_servers, *(() if self.mx_host is None else (self.mx_host,))):
                check_domain(name, "name server or MX host")
            check_domain(self.hostmaster.rpartition("@")[2], "hostmaster's domain")
            if self.address is not None:
                check_ipv4(self.address, "address")
            if self.address6 is not None:
                check_ipv6(self.address6, "address6")
        except FormatError as error:
            raise OptionsError(str(error)) from None
        local = self.hostmaster.rpartition("@")[0]
        if not re.fullmatch(r"[A-Za-z0-9_.+-]+", local):
            raise OptionsError(f"hostmaster {self.hostmaster!r} must be a mail address like hostmaster@isp.example")
        if not 1 <= self.serial <= SERIAL_MAX or not 0 <= self.mx_preference <= 65535:
            raise OptionsError(f"serial must be 1..{SERIAL_MAX} and mx_preference 0..65535")
        for what in ("ttl", "refresh", "retry", "expire", "negative_ttl"):
            if not 0 <= getattr(self, what) <= TTL_MAX:
                raise OptionsError(f"{what} must be 0..{TTL_MAX} seconds")


def next_serial(previous: int, today: date) -> int:
    """The serial after `previous`: today's YYYYMMDD00, or previous + 1 if that is not above it."""
    serial = max(previous + 1, int(today.strftime("%Y%m%d")) * 100)
    if serial > SERIAL_MAX:
        raise FormatError(f"zone serial {previous} cannot grow any further; reset it by hand (RFC 1982)")
    return serial


def _zone(domain: str, account: Account, options: BindOptions, serial: int) -> str:
    local, _, mail_domain = options.hostmaster.rpartition("@")
    rname = f"{local.replace('.', chr(92) + '.')}.{mail_domain}."
    timers = f"{options.refresh} {options.retry} {options.expire} {options.negative_ttl}"
    lines = [
        f"$ORIGIN {domain}.",
        f"$TTL {options.ttl}",
        f"@\tIN\tSOA\t{options.primary_ns}. {rname} {serial} {timers}",
    ]
    lines += [f"@\tIN\tNS\t{ns}." for ns in options.name_servers or (options.primary_ns,)]
    if not account.locked:
        lines += [] if options.address is None else [f"@\tIN\tA\t{options.address}"]
        lines += [] if options.address6 is None else [f"@\tIN\tAAAA\t{options.address6}"]
        lines += [] if options.mx_host is None else [f"@\tIN\tMX\t{options.mx_preference} {options.mx_host}."]
    return render_lines(lines, comment=";")


def _domains(accounts: Sequence[Account]) -> list[tuple[str, Account]]:
    pairs = [(check_domain(a.login, f"service {a.service_id}: domain"), a) for a in exported(accounts, KINDS)]
    return keyed(pairs, "zone")


def render(accounts: Sequence[Account], options: BindOptions) -> dict[str, str]:
    """`db.<domain>` for each domain service, all with the `serial` option."""
    return {PREFIX + domain: _zone(domain, a, options, options.serial) for domain, a in _domains(accounts)}


def render_keeping_serials(
    accounts: Sequence[Account], options: BindOptions, current: Mapping[str, str], today: date
) -> dict[str, str]:
    """Like `render`, but unchanged zones keep their serial and changed ones get the next."""
    files = {}
    for domain, account in _domains(accounts):
        name = PREFIX + domain
        held = read({name: current[name]}, options).get(domain) if name in current else None
        serial = int(held.attributes["serial"]) if held else 0
        same = _zone(domain, account, replace(options, serial=max(serial, 1)), max(serial, 1))
        files[name] = same if same == current.get(name) else _zone(domain, account, options, next_serial(serial, today))
    return files


def _records(text: str, file: str) -> list[tuple[int, list[str]]]:
    """(line number, words) of each record or directive: comments gone, parentheses joined,
    and "" first when the owner is left blank (it repeats the previous one)."""
    records: list[tuple[int, list[str]]] = []
    start, words, depth = 0, [], 0
    for number, raw in numbered(text):
        line = _COMMENT.sub(lambda m: m.group(1) or "", raw)
        if depth == 0:
            if not line.strip():
                continue
            start, words = number, ([""] if line[0].isspace() else [])
        for word in line.replace("(", " ( ").replace(")", " ) ").split():
            depth += {"(": 1, ")": -1}.get(word, 0)
            if depth < 0:
                raise FormatError("a ')' without its '('", file=file, line=number)
            if word not in ("(", ")"):
                words.append(word)
        if depth == 0:
            records.append((start, words))
    if depth:
        raise FormatError("a '(' is never closed", file=file, line=start)
    return records


def _apex(file: str, text: str) -> Held:
    origin, owner = file.removeprefix(PREFIX), ""
    found: dict[str, list[str]] = {"a": [], "aaaa": [], "mx": [], "ns": [], "serial": []}
    for number, words in _records(text, file):
        if words[0].upper() == "$ORIGIN" and len(words) == 2:
            origin = words[1].rstrip(".").lower()
        if words[0].startswith("$"):
            continue
        owner = owner if words[0] == "" else words[0]
        rest = words[1:]
        while rest and (_TTL.fullmatch(rest[0]) or rest[0].upper() in _CLASSES):
            rest = rest[1:]
        if not rest:
            raise FormatError("a record without a type", file=file, line=number)
        kind, data = rest[0].lower(), rest[1:]
        if owner.lower() not in ("@", f"{origin}."):
            continue  # only the apex is compared
        if kind == "soa":
            if len(data) != 7 or not data[2].isdigit():
                raise FormatError("an SOA needs mname, rname, serial and four timers", file=file, line=number)
            found["serial"].append(data[2])
        elif kind in found:
            found[kind].append(" ".join(data).lower())
    return Held(origin, {field: " ".join(sorted(values)) for field, values in found.items()})


def read(files: Mapping[str, str], options: BindOptions) -> dict[str, Held]:
    """Each zone's domain (from $ORIGIN, else its file name) with apex A, AAAA, MX, NS and serial."""
    held: dict[str, Held] = {}
    for file in sorted(files):
        held_once(held, _apex(file, files[file]), file, 1)
    return held


FORMAT = Format(name="bind", kinds=KINDS, options_type=BindOptions, render=render, read=read)
