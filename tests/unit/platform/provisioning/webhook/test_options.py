"""Webhook target options: an http(s) URL without credentials, kinds and a bounded timeout."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.formats.base import OptionsError
from bureau.platform.provisioning.webhook.options import TIMEOUT_MAX_S, WEBHOOK_KINDS, options_from


def test_defaults_are_every_kind_and_ten_seconds() -> None:
    options = options_from({"url": "https://hooks.isp.example/bureau?token=abc"})

    assert options.kinds == WEBHOOK_KINDS and options.timeout_s == 10
    assert options.where() == "https://hooks.isp.example/bureau"  # the query may hold a token: not shown


def test_plain_http_and_a_port_are_accepted() -> None:
    assert options_from({"url": "http://127.0.0.1:8080"}).where() == "http://127.0.0.1:8080/"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://hooks.isp.example/", "must be an http:// or https:// URL"),
        ("file:///etc/passwd", "must be an http:// or https:// URL"),
        ("gopher://hooks.isp.example/", "must be an http:// or https:// URL"),
        ("https:///path", "must be an http:// or https:// URL"),
        ("hooks.isp.example/bureau", "must be an http:// or https:// URL"),
        ("https://hooks.isp.example/#x", "has a #fragment"),
        ("https://hooks.isp.example:99999/", "cannot be read"),
        ("https://hooks.isp.example:0/", "has port 0"),
        ("https://hooks.isp.example/a b", "without spaces or control characters"),
    ],
)
def test_a_url_that_is_not_plain_http_or_https_is_refused(url: str, says: str) -> None:
    with pytest.raises(OptionsError) as raised:
        options_from({"url": url})

    assert says in str(raised.value)


def test_a_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(OptionsError, match="must not contain a user or password") as raised:
        options_from({"url": "https://bureau:hunter2@hooks.isp.example/"})

    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"kinds": ["web", "fax"]}, "unknown: ['fax']"),
        ({"kinds": []}, "must be one or more of"),
        ({"timeout_s": 0}, f"out of range 1..{TIMEOUT_MAX_S}"),
        ({"timeout_s": TIMEOUT_MAX_S + 1}, "out of range"),
        ({"secret": "x"}, "has no option 'secret'"),
    ],
)
def test_bad_options_are_refused_by_name(extra: dict[str, object], says: str) -> None:
    with pytest.raises(OptionsError) as raised:
        options_from({"url": "https://hooks.isp.example/", **extra})

    assert says in str(raised.value)


def test_the_url_is_required() -> None:
    with pytest.raises(OptionsError, match="needs option 'url'"):
        options_from({})
