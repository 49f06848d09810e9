"""Linux passwd and shadow: users, locks, determinism, reading back, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bureau.platform.provisioning.formats.base import FORMATS, FormatError, options_from
from bureau.platform.provisioning.formats.unix import UnixOptions, read, render
from tests.conftest import HASH, MakeAccount

OPTIONS = UnixOptions()


def test_each_kind_becomes_a_unix_user_with_its_home_and_shell(account: MakeAccount) -> None:
    files = render(
        [
            account("alice@Demo.Example", kind="radius_login", service_id=1),
            account("bob@demo.example", kind="mailbox", service_id=2),
            account("carol", kind="web", service_id=3),
            account("dave", kind="ftp", service_id=4),
            account("alice-shop.example", kind="domain", service_id=5),
        ],
        OPTIONS,
    )
    assert files["passwd"] == (
        "alice.demo.example:x:10001:100:Alice Example:/home/alice.demo.example:/sbin/nologin\n"
        "bob.demo.example:x:10002:100:Alice Example:/home/bob.demo.example:/sbin/nologin\n"
        "carol:x:10003:100:Alice Example:/home/carol:/bin/false\n"
        "dave:x:10004:100:Alice Example:/home/dave:/bin/false\n"
    )
    assert files["shadow"].splitlines()[0] == f"alice.demo.example:{HASH}::0:99999:7:::"


def test_a_suspended_account_keeps_its_hash_behind_a_bang_and_no_password_is_a_star(account: MakeAccount) -> None:
    files = render(
        [account("alice", kind="web", suspended=True), account("bob", kind="web", service_id=2, password_crypt=None)],
        OPTIONS,
    )
    assert files["shadow"] == f"alice:!{HASH}::0:99999:7:::\nbob:*::0:99999:7:::\n"


def test_the_local_part_alone_can_be_the_user_name_and_collisions_are_refused(account: MakeAccount) -> None:
    options = UnixOptions(user_from="local")
    assert render([account("alice@demo.example", kind="mailbox")], options)["passwd"].startswith("alice:x:")
    twins = [
        account("alice@demo.example", kind="mailbox"),
        account("alice@other.example", kind="mailbox", service_id=2),
    ]
    with pytest.raises(FormatError, match=r"services 1 .* and 2 .* both map to Unix user 'alice'"):
        render(twins, options)


def test_the_last_change_day_and_shells_come_from_the_options(account: MakeAccount) -> None:
    options = UnixOptions(last_change_day=19_000, shells={"web": "/bin/bash"}, gid=33, home_base="/srv/www/")
    files = render([account("alice", kind="web")], options)
    assert files["passwd"] == "alice:x:10001:33:Alice Example:/srv/www/alice:/bin/bash\n"
    assert files["shadow"] == f"alice:{HASH}:19000:0:99999:7:::\n"


def test_kinds_can_be_limited_so_one_login_sold_twice_goes_to_two_targets(account: MakeAccount) -> None:
    both = [
        account("alice@demo.example", kind="radius_login"),
        account("alice@demo.example", kind="mailbox", service_id=2),
    ]
    with pytest.raises(FormatError, match="both map to Unix user"):
        render(both, OPTIONS)
    assert "10002" in render(both, UnixOptions(kinds=("mailbox",)))["passwd"]


def test_the_same_accounts_in_any_order_give_the_same_bytes(account: MakeAccount) -> None:
    accounts = [account(name, kind="web", service_id=i) for i, name in enumerate(["zed", "amy", "mo"], start=1)]
    assert render(accounts, OPTIONS) == render(list(reversed(accounts)), OPTIONS) == render(accounts, OPTIONS)


def test_the_gecos_field_is_sanitized_rather_than_breaking_the_line(account: MakeAccount) -> None:
    files = render([account("alice", kind="web", name="Alice: Smith,\nRoom 4\x07")], OPTIONS)
    assert files["passwd"] == "alice:x:10001:100:Alice Smith Room 4:/home/alice:/bin/false\n"


@pytest.mark.parametrize("login", ["ali:ce", "ali ce", "-alice", "12345", "a" * 33, "al\nice"])
def test_a_login_that_cannot_be_a_unix_name_is_refused_naming_the_service(account: MakeAccount, login: str) -> None:
    with pytest.raises(FormatError, match="service 1: login"):
        render([account(login, kind="web")], OPTIONS)


def test_uid_zero_and_a_hash_with_a_colon_are_refused(account: MakeAccount) -> None:
    with pytest.raises(FormatError, match="uid 0"):
        render([account("alice", kind="web", service_id=-10_000)], OPTIONS)
    with pytest.raises(FormatError, match="hash"):
        render([account("alice", kind="web", password_crypt="$6$a:b")], OPTIONS)


def test_a_hand_added_user_is_read_back_and_comments_are_ignored(account: MakeAccount) -> None:
    files = render([account("alice", kind="web", suspended=True)], OPTIONS)
    files["passwd"] += "\n# added by hand\nroot2:x:0:0:Oops:/root:/bin/sh\n"
    files["shadow"] += "root2:$6$x$y:19000:0:99999:7:::\n"
    held = read(files, OPTIONS)
    assert held["alice"].attributes["locked"] == "yes"
    assert held["alice"].attributes["crypt"] == HASH
    assert held["root2"].attributes == {
        "uid": "0",
        "gid": "0",
        "gecos": "Oops",
        "home": "/root",
        "shell": "/bin/sh",
        "crypt": "$6$x$y",
        "locked": "no",
    }


@pytest.mark.parametrize(
    ("files", "where"),
    [
        ({"passwd": "alice:x:1:1:A:/home/alice\n"}, "passwd line 1: expected 7"),
        ({"passwd": "# c\nalice:x:one:1:A:/h:/s\n"}, "passwd line 2: the uid"),
        ({"passwd": "alice:x:1:1:A:/h:/s\n", "shadow": "\nbob:x::0:99999:7:::\n"}, "shadow line 2: user 'bob'"),
        ({"passwd": "a:x:1:1::/h:/s\na:x:2:1::/h:/s\n"}, "passwd line 2: user 'a' is defined twice"),
    ],
)
def test_a_line_that_cannot_be_read_names_its_file_and_line(files: dict[str, str], where: str) -> None:
    with pytest.raises(FormatError, match=where):
        read(files, OPTIONS)


def test_the_registry_builds_unix_options_from_json_and_refuses_bad_ones() -> None:
    assert FORMATS["unix"].options_type is UnixOptions
    assert options_from("unix", {"gid": 50, "kinds": ["web"], "shells": {"web": "/bin/sh"}}) == UnixOptions(
        gid=50, kinds=("web",), shells={"web": "/bin/sh"}
    )
    with pytest.raises(ValueError, match="no option 'gidd'; its options are"):
        options_from("unix", {"gidd": 1})
    with pytest.raises(ValueError, match="option 'gid' must be an integer, got '50'"):
        options_from("unix", {"gid": "50"})
    with pytest.raises(ValueError, match="one of 'login', 'local'"):
        options_from("unix", {"user_from": "email"})
    with pytest.raises(ValueError, match="kinds \\['domain'\\] cannot be Unix users"):
        options_from("unix", {"kinds": ["domain"]})
    with pytest.raises(ValueError, match="unknown export format 'solaris'"):
        options_from("solaris", {})


USER = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True)
ACCOUNTS = st.lists(
    st.tuples(
        st.sampled_from(["radius_login", "mailbox", "web", "ftp"]),
        USER,
        st.booleans(),
        st.one_of(st.none(), st.sampled_from([HASH, "$6$rounds=9999$abc$" + "x" * 86])),
        st.text(max_size=30),
    ),
    max_size=8,
    unique_by=lambda item: item[1],
)


@given(items=ACCOUNTS)
def test_reading_what_was_rendered_gives_every_user_with_its_fields(
    account: MakeAccount, items: list[tuple[str, str, bool, str | None, str]]
) -> None:
    accounts = [
        account(
            user if kind in ("web", "ftp") else f"{user}@demo.example",
            kind=kind,
            service_id=i,
            suspended=suspended,
            password_crypt=crypt,
            name=name,
        )
        for i, (kind, user, suspended, crypt, name) in enumerate(items, start=1)
    ]
    held = read(render(accounts, OPTIONS), OPTIONS)
    assert len(held) == len(accounts)
    for a in accounts:
        attributes = held[OPTIONS.unix_name(a)].attributes
        assert attributes["uid"] == str(a.uid)
        assert attributes["crypt"] == (a.password_crypt or "*")
        assert attributes["locked"] == ("yes" if a.locked else "no")
        assert ":" not in attributes["gecos"] and "\n" not in attributes["gecos"]
