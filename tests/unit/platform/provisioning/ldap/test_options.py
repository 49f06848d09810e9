"""LDAP target options from staff's JSON: defaults, and errors that name what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from bureau.platform.provisioning.formats.base import OptionsError
from bureau.platform.provisioning.ldap.options import LDAP_KINDS, LdapOptions, options_from

REQUIRED = {"url": "ldap://ldap.isp.example", "base_dn": "dc=isp,dc=example", "bind_dn": "cn=bureau,dc=isp,dc=example"}


def built(**changes: Any) -> LdapOptions:
    return options_from({**REQUIRED, **changes})


def test_options_left_out_take_their_defaults() -> None:
    options = built()

    assert (options.start_tls, options.timeout_s, options.gid, options.home_base) == (False, 10, 100, "/home")
    assert set(options.kinds) == LDAP_KINDS == {"radius_login", "mailbox", "web", "ftp", "domain"}
    assert (options.user_from, options.realm_separator) == ("login", ".")


def test_the_port_defaults_to_the_schemes_own() -> None:
    assert built().address() == ("ldap.isp.example", 389, False)
    assert built(url="ldaps://ldap.isp.example").address() == ("ldap.isp.example", 636, True)
    assert built(url="ldap://[2001:db8::1]:1389").address() == ("2001:db8::1", 1389, False)


def test_a_missing_required_option_is_named() -> None:
    with pytest.raises(OptionsError, match="needs option 'bind_dn'"):
        options_from({"url": REQUIRED["url"], "base_dn": REQUIRED["base_dn"]})


def test_an_unknown_option_is_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(OptionsError, match=r"has no option 'password'; its options are .*bind_dn"):
        built(password="secret")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://ldap.isp.example", "must look like ldap://host:389"),
        ("ldap://", "must look like ldap://host:389"),
        ("ldap.isp.example:389", "must look like ldap://host:389"),
        ("ldap://ldap.isp.example:99999", "cannot be read"),
        ("ldap://ldap.isp.example:0", "has port 0"),
        ("ldap://ldap.isp.example/dc=isp,dc=example", "only scheme, host and port"),
        ("ldap://admin:secret@ldap.isp.example", "only scheme, host and port"),
    ],
)
def test_a_url_that_is_not_an_ldap_server_address_is_refused(url: str, problem: str) -> None:
    with pytest.raises(OptionsError, match=problem):
        built(url=url)


def test_start_tls_over_ldaps_is_refused() -> None:
    with pytest.raises(OptionsError, match="already TLS"):
        built(url="ldaps://ldap.isp.example", start_tls=True)


@pytest.mark.parametrize("dn", ["isp.example", "dc=isp,", "dc=isp,,dc=example", ""])
def test_a_base_dn_that_is_not_a_dn_is_refused(dn: str) -> None:
    with pytest.raises(OptionsError, match=r"base_dn .* is not a distinguished name"):
        built(base_dn=dn)


def test_a_dn_written_with_spaces_after_commas_is_accepted() -> None:
    assert built(base_dn="dc=isp, dc=example").base_dn == "dc=isp, dc=example"


@pytest.mark.parametrize("timeout_s", [0, 301])
def test_a_timeout_out_of_range_is_refused(timeout_s: int) -> None:
    with pytest.raises(OptionsError, match=f"timeout_s {timeout_s} is out of range 1..300"):
        built(timeout_s=timeout_s)


def test_a_kind_ldap_cannot_hold_is_refused() -> None:
    with pytest.raises(OptionsError, match=r"kinds \['disk_quota'\] cannot be exported to LDAP"):
        built(kinds=["web", "disk_quota"])


def test_wrong_json_types_are_refused_by_name() -> None:
    with pytest.raises(OptionsError, match="ldap option 'start_tls' must be true or false, got 'yes'"):
        built(start_tls="yes")
    with pytest.raises(OptionsError, match="ldap option 'timeout_s' must be an integer"):
        built(timeout_s=True)


def test_unix_options_are_checked_as_the_passwd_formats_check_them() -> None:
    with pytest.raises(OptionsError, match="home_base 'home' must be an absolute path"):
        built(home_base="home")
    with pytest.raises(OptionsError, match="shells names kind 'domain'"):
        built(shells={"domain": "/bin/sh"})
