"""The options of a webhook target, built from staff's JSON like a file format's.

`url` is the ISP's own endpoint, http:// or https://, with no user or password in it
(the signing secret is the target's secret, stored sealed). Bureau posts to whatever
host staff name here, including addresses on Bureau's own network; only non-HTTP
schemes and URLs with credentials are refused, and redirects are never followed. An
operator who hosts tenants it does not trust may want an allow-list of hosts on top.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..formats import options as building
from ..formats.base import OptionsError

NAME = "webhook"  # in OptionsError messages, where a file format's name would be
SCHEMES = ("http", "https")
URL_CHARS_MAX = 2_048
PORT_MAX = 65_535
TIMEOUT_MIN_S, TIMEOUT_MAX_S = 1, 60  # per event delivered, not for a whole sync
WEBHOOK_KINDS = ("disk_quota", "domain", "ftp", "mailbox", "radius_login", "web")
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # control characters and spaces


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookOptions:
    url: str  # https://hooks.isp.example/bureau
    kinds: tuple[str, ...] = WEBHOOK_KINDS
    timeout_s: int = 10

    def __post_init__(self) -> None:
        self.where()  # raises OptionsError for a bad url
        unknown = sorted(set(self.kinds) - set(WEBHOOK_KINDS))
        if unknown or not self.kinds:
            raise OptionsError(
                f"kinds {sorted(self.kinds)} must be one or more of {list(WEBHOOK_KINDS)}; unknown: {unknown}"
            )
        if not TIMEOUT_MIN_S <= self.timeout_s <= TIMEOUT_MAX_S:
            raise OptionsError(f"timeout_s {self.timeout_s} is out of range {TIMEOUT_MIN_S}..{TIMEOUT_MAX_S}")

    def where(self) -> str:
        """The URL for people and error messages: scheme, host, port and path, without the query.

        OptionsError says what is wrong with `url`.
        """
        example = "https://hooks.isp.example/bureau"
        if len(self.url) > URL_CHARS_MAX or _UNSAFE.search(self.url):
            raise OptionsError(f"url must be at most {URL_CHARS_MAX} characters, without spaces or control characters")
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError as error:  # a port that is not a number or out of range
            raise OptionsError(f"url {self.url!r} cannot be read: {error}") from None
        if "@" in parts.netloc:
            # Said without echoing the URL: it holds a credential.
            raise OptionsError(
                "url must not contain a user or password; the receiver checks the Bureau-Signature header "
                "made with the target's secret instead"
            )
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise OptionsError(f"url {self.url!r} must be an http:// or https:// URL like {example}")
        if parts.fragment:
            raise OptionsError(f"url {self.url!r} has a #fragment, which is never sent; remove it")
        if port == 0:
            raise OptionsError(f"url {self.url!r} has port 0; use 1..{PORT_MAX}")
        return f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"


def options_from(mapping: Mapping[str, Any]) -> WebhookOptions:
    """WebhookOptions from staff's JSON; OptionsError names the option that is wrong."""
    return building.build(WebhookOptions, mapping, NAME)
