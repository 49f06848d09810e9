"""Planning a sync: what to add, replace and delete so the directory matches (pure)."""

from __future__ import annotations

from bureau.platform.provisioning.ldap.entries import Attributes
from bureau.platform.provisioning.ldap.plan import LINES_MAX, plan

DN = "uid=alice,ou=accounts,dc=isp,dc=example"
ALICE: Attributes = {
    "objectClass": ["top", "account", "posixAccount"],
    "uid": ["alice"],
    "uidNumber": ["10001"],
    "loginShell": ["/sbin/nologin"],
    "userPassword": ["{CRYPT}$6$salt$hash"],
}


def test_entries_the_directory_lacks_are_added() -> None:
    changes = plan({DN: ALICE}, {})

    assert (dict(changes.add), dict(changes.replace), list(changes.delete)) == ({DN: ALICE}, {}, [])
    assert changes.lines() == [f"+ {DN}"]


def test_an_identical_directory_needs_no_changes() -> None:
    assert plan({DN: ALICE}, {DN: ALICE}).empty


def test_attribute_names_dn_spelling_and_value_order_do_not_matter() -> None:
    held = {
        "UID=Alice, OU=accounts, DC=isp, DC=example": {
            "objectclass": ["posixAccount", "account", "top"],
            "UID": ["alice"],
            "uidnumber": ["10001"],
            "LOGINSHELL": ["/sbin/nologin"],
            "userPassword": ["{CRYPT}$6$salt$hash"],
        }
    }

    assert plan({DN: ALICE}, held).empty


def test_operational_attributes_are_never_compared() -> None:
    held = {
        DN: {
            **ALICE,
            "entryUUID": ["b1f0…"],
            "modifyTimestamp": ["20250101000000Z"],
            "structuralObjectClass": ["account"],
        }
    }

    assert plan({DN: ALICE}, held).empty


def test_a_changed_attribute_is_replaced_and_one_bureau_never_sets_is_removed() -> None:
    held = {DN: {**ALICE, "loginShell": ["/bin/bash"], "shadowExpire": ["1"]}}

    changes = plan({DN: ALICE}, held)

    assert dict(changes.replace) == {DN: {"loginShell": ["/sbin/nologin"], "shadowExpire": []}}
    assert changes.lines() == [
        f"~ {DN}: loginShell '/bin/bash' -> '/sbin/nologin'",
        f"~ {DN}: shadowExpire '1' -> (none)",
    ]


def test_a_changed_password_is_reported_without_its_hash() -> None:
    changes = plan({DN: ALICE}, {DN: {**ALICE, "userPassword": ["{CRYPT}!$6$salt$hash"]}})

    assert changes.lines() == [f"~ {DN}: userPassword changed"]
    assert dict(changes.replace) == {DN: {"userPassword": ["{CRYPT}$6$salt$hash"]}}


def test_entries_bureau_does_not_want_are_deleted_deepest_first() -> None:
    base = "ou=accounts,dc=isp,dc=example"
    held = {
        f"ou=extra,{base}": {"objectClass": ["organizationalUnit"]},
        f"cn=deep,ou=extra,{base}": {"objectClass": ["device"]},
        f"uid=mallory,{base}": {"objectClass": ["account"]},
        DN: ALICE,
    }

    changes = plan({DN: ALICE}, held)

    assert list(changes.delete) == [f"cn=deep,ou=extra,{base}", f"ou=extra,{base}", f"uid=mallory,{base}"]
    assert not changes.add and not changes.replace


def test_an_entry_of_other_object_classes_is_deleted_and_added_again() -> None:
    held = {DN: {"objectClass": ["top", "device"], "cn": ["alice"]}}

    changes = plan({DN: ALICE}, held)

    assert (list(changes.delete), dict(changes.add), dict(changes.replace)) == ([DN], {DN: ALICE}, {})


def test_a_long_report_is_cut_with_a_count_of_what_was_left_out() -> None:
    desired = {f"uid=u{i},ou=accounts,dc=isp,dc=example": ALICE for i in range(LINES_MAX + 5)}

    lines = plan(desired, {}).lines()

    assert len(lines) == LINES_MAX + 1
    assert lines[-1] == "... and 5 more lines"
