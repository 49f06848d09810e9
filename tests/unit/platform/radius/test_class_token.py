"""Class tokens: HMAC-signed tenant id and session reference in the RADIUS Class attribute."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.radius.class_token import read_class, sign_class

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def test_a_signed_class_reads_back_to_its_tenant_and_session_reference() -> None:
    value = sign_class(KEY, 42, "res-0001")
    assert value.startswith(b"bu1:42:res-0001:")
    assert read_class(KEY, value) == (42, "res-0001")


def test_the_tag_is_a_truncated_hmac_sha256_in_base64url() -> None:
    value = sign_class(KEY, 7, "s:with:colons")
    signed = b"bu1:7:s:with:colons"
    tag = base64.urlsafe_b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()[:16]).rstrip(b"=")
    assert value == signed + b":" + tag
    assert read_class(KEY, value) == (7, "s:with:colons")


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"ai:0123456789abcdef0123456789abcdef",  # FreeRADIUS's own Class
        b"bu1:",
        b"bu1:42:res",
        b"bu0:42:res-0001:AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_foreign_values_are_not_ours(value: bytes) -> None:
    assert read_class(KEY, value) is None


def test_a_value_under_another_key_or_altered_or_truncated_is_refused() -> None:
    value = sign_class(KEY, 42, "res-0001")
    assert read_class(OTHER_KEY, value) is None
    assert read_class(KEY, value.replace(b":42:", b":43:")) is None
    assert read_class(KEY, value[:-1]) is None
    assert read_class(KEY, value + b"A") is None


def test_values_that_would_not_fit_one_attribute_are_refused() -> None:
    with pytest.raises(ValueError, match="253"):
        sign_class(KEY, 1, "x" * 230)
    assert len(sign_class(KEY, 1, "x" * 224)) == 253


def test_negative_tenants_and_short_keys_are_refused() -> None:
    with pytest.raises(ValueError):
        sign_class(KEY, -1, "r")
    with pytest.raises(ValueError):
        sign_class(b"short", 1, "r")


@given(st.integers(0, 2**63), st.text(max_size=40))
def test_any_tenant_and_reference_round_trip(tenant_id: int, session_ref: str) -> None:
    assert read_class(KEY, sign_class(KEY, tenant_id, session_ref)) == (tenant_id, session_ref)


@given(st.binary(max_size=260))
def test_arbitrary_bytes_are_never_accepted(value: bytes) -> None:
    assert read_class(KEY, value) is None
