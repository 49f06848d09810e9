"""Signed, short-lived links to an invoice's PDF, for a browser or a mail client that
holds no API key.

A link is `/invoices/<number>.pdf?t=<token>`, the token `<tenant id>.<expiry>.<mac>`:
the expiry in Unix seconds, the MAC an HMAC-SHA256 over the tenant id, the invoice
number and the expiry. The MAC key is derived from the installation's secret key for
this one purpose, so a link can neither be forged nor moved to another invoice or
tenant, nor outlive its expiry. Checking a token says only yes or no: the download
answers every failure alike, so it tells a prober nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from bureau.platform.crypto.secretbox import SecretBox

LINK_TTL = timedelta(minutes=15)
PURPOSE = b"bureau invoice pdf link v1"
MAX_TOKEN_LENGTH = 200
MAX_NUMBER_LENGTH = 100
_TOKEN = re.compile(r"^([1-9][0-9]{0,17})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$")


def link_key(box: SecretBox) -> bytes:
    """The MAC key for links, derived from the installation's current key (never the key)."""
    return box.derive_key(PURPOSE)


def _mac(key: bytes, tenant_id: int, number: str, expires: int) -> str:
    message = f"invoice-pdf\n{tenant_id}\n{number}\n{expires}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class PdfLink:
    url: str  # path and query, relative to the API's origin
    expires_at: datetime


def pdf_link(key: bytes, tenant_id: int, number: str, *, now: datetime | None = None) -> PdfLink:
    """A link to invoice `number` of tenant `tenant_id`, valid for LINK_TTL from `now`."""
    expires_at = (now or datetime.now(UTC)).replace(microsecond=0) + LINK_TTL
    expires = int(expires_at.timestamp())
    token = f"{tenant_id}.{expires}.{_mac(key, tenant_id, number, expires)}"
    return PdfLink(f"/invoices/{quote(number, safe='')}.pdf?t={token}", expires_at)


def check_token(key: bytes, number: str, token: str, *, now: datetime | None = None) -> int | None:
    """The tenant id a valid, unexpired token for invoice `number` names; None otherwise."""
    if len(token) > MAX_TOKEN_LENGTH or len(number) > MAX_NUMBER_LENGTH:
        return None
    parsed = _TOKEN.fullmatch(token)
    if parsed is None:
        return None
    tenant_id, expires = int(parsed[1]), int(parsed[2])
    if not hmac.compare_digest(parsed[3], _mac(key, tenant_id, number, expires)):
        return None
    if expires <= (now or datetime.now(UTC)).timestamp():
        return None
    return tenant_id
