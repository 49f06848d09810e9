"""Failures of the directory server or the network: one DirectoryError that says where and what."""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest

from bureau.platform.provisioning.ldap.options import LdapOptions
from bureau.platform.provisioning.ldap.sync import DirectoryError, sync
from tests.conftest import MakeAccount

from .conftest import ROOT_PASSWORD, Slapd, free_port

UNROUTABLE = "ldap://192.0.2.1:389"  # TEST-NET-1 (RFC 5737): nothing answers there
MARGIN_S = 3  # for a slow machine; the connect itself is bounded by timeout_s


def test_a_wrong_bind_password_names_the_url_and_not_the_password(
    slapd: Slapd, options: LdapOptions, account: MakeAccount
) -> None:
    wrong = "not-the-root-secret-17"

    with pytest.raises(DirectoryError) as raised:
        sync(options, wrong, [account("alicesite", kind="web", service_id=1, password_crypt=None)])

    message = str(raised.value)
    assert slapd.url in message and "binding as 'cn=admin,dc=isp,dc=example'" in message
    assert "invalidCredentials" in message
    assert wrong not in message and ROOT_PASSWORD not in message


def test_an_unreachable_server_fails_within_the_timeout(options: LdapOptions, account: MakeAccount) -> None:
    unreachable = replace(options, url=UNROUTABLE, timeout_s=1)
    started = time.monotonic()

    with pytest.raises(DirectoryError, match=f"LDAP server {UNROUTABLE}: connecting and binding as .* failed"):
        sync(unreachable, ROOT_PASSWORD, [account("alicesite", kind="web", service_id=1, password_crypt=None)])

    assert time.monotonic() - started < unreachable.timeout_s + MARGIN_S


def test_a_server_that_never_answers_fails_within_the_timeout(options: LdapOptions, account: MakeAccount) -> None:
    # The kernel completes the TCP handshake from the listen backlog, so the bind request is
    # sent; nothing ever reads it, as with a hung slapd or a firewall that drops the replies.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        hung = replace(options, url=f"ldap://127.0.0.1:{silent.getsockname()[1]}", timeout_s=1)
        started = time.monotonic()

        with pytest.raises(DirectoryError, match=f"LDAP server {hung.url}: connecting and binding as .* failed"):
            sync(hung, ROOT_PASSWORD, [account("alicesite", kind="web", service_id=1, password_crypt=None)])

        assert hung.timeout_s <= time.monotonic() - started < hung.timeout_s + MARGIN_S


def test_a_closed_port_fails_at_once_naming_the_url(options: LdapOptions, account: MakeAccount) -> None:
    closed = replace(options, url=f"ldap://127.0.0.1:{free_port()}")

    with pytest.raises(DirectoryError, match=f"LDAP server {closed.url}: .*(refused|error)"):
        sync(closed, ROOT_PASSWORD, [account("alicesite", kind="web", service_id=1, password_crypt=None)])


def test_a_refused_change_names_the_entry(slapd: Slapd, options: LdapOptions, account: MakeAccount) -> None:
    # The test slapd lets every bound user read but only the root DN write.
    with slapd.connect() as conn:
        conn.add(
            f"cn=reader,{options.base_dn}",
            ["top", "person", "simpleSecurityObject"],
            {"cn": "reader", "sn": "reader", "userPassword": "reader-pw"},
        )
    reader = replace(options, bind_dn=f"cn=reader,{options.base_dn}")

    with pytest.raises(
        DirectoryError,
        match=f"LDAP server {slapd.url}: adding container 'ou=accounts,.*' failed: .*insufficientAccessRights",
    ):
        sync(reader, "reader-pw", [account("alicesite", kind="web", service_id=1, password_crypt=None)])
