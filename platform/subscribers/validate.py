"""Field checks shared by the subscriber services: realms, emails, colours, URLs, text."""

from __future__ import annotations

import re

from .errors import InvalidSubscriberValue

MAX_TEXT_LENGTH = 200
REALM_PATTERN = re.compile(r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
EMAIL_PATTERN = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
COLOUR_PATTERN = re.compile(r"#[0-9a-fA-F]{6}")
URL_PATTERN = re.compile(r"https?://[^\s]{1,500}")
PHONE_PATTERN = re.compile(r"\+?[0-9 ()./-]{3,30}")


def check_text(value: object, what: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT_LENGTH:
        raise InvalidSubscriberValue(f"{what} must be text of 1 to {MAX_TEXT_LENGTH} characters, got {value!r}")
    return value


def check_realm(realm: object) -> str:
    """A realm lower-cased ("Demo.Example" → "demo.example"), refused unless domain-shaped."""
    if not isinstance(realm, str) or not REALM_PATTERN.fullmatch(realm.lower()):
        raise InvalidSubscriberValue(f"realm {realm!r} must be a domain name such as 'northnet.example'")
    return realm.lower()


def check_email(email: object, what: str = "email") -> str:
    if not isinstance(email, str) or len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        raise InvalidSubscriberValue(f"{what} {email!r} is not an address like 'alice@example.com'")
    return email


def check_phone(phone: object, what: str = "phone") -> str | None:
    if phone is None:
        return None
    if not isinstance(phone, str) or not PHONE_PATTERN.fullmatch(phone):
        raise InvalidSubscriberValue(f"{what} {phone!r} must be digits with optional + ( ) . - and spaces")
    return phone


def check_colour(colour: object, what: str) -> str | None:
    if colour is None:
        return None
    if not isinstance(colour, str) or not COLOUR_PATTERN.fullmatch(colour):
        raise InvalidSubscriberValue(f"{what} {colour!r} must be a hex colour such as '#0a7cff'")
    return colour.lower()


def check_url(url: object, what: str) -> str | None:
    if url is None:
        return None
    if not isinstance(url, str) or not URL_PATTERN.fullmatch(url):
        raise InvalidSubscriberValue(f"{what} {url!r} must be an http:// or https:// address")
    return url
