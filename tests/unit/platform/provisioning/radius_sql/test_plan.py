"""Planning per user: untouched when equal, rewritten when any row differs, unbilled names deleted."""

from __future__ import annotations

from bureau.platform.provisioning.radius_sql.plan import LINES_MAX, plan
from bureau.platform.provisioning.radius_sql.rows import UserRows

ACTIVE = UserRows(check=(("Crypt-Password", ":=", "$6$a$b"),), reply=(("Service-Type", "=", "Framed-User"),))
LOCKED = UserRows(
    check=(("Crypt-Password", ":=", "$6$a$b"), ("Auth-Type", ":=", "Reject")),
    reply=(("Reply-Message", "=", "Account suspended"),),
)


def test_equal_users_are_left_alone() -> None:
    changes = plan({"alice": ACTIVE}, {"alice": ACTIVE})

    assert changes.empty and changes.lines() == [] and changes.rows_written == 0


def test_a_changed_user_is_rewritten_and_the_report_hides_hashes() -> None:
    changes = plan({"alice": LOCKED}, {"alice": ACTIVE})

    assert dict(changes.replace) == {"alice": LOCKED} and changes.cleared == ["alice"]
    assert (changes.rows_cleared, changes.rows_written) == (2, 3)
    assert changes.lines() == [
        "~ alice: radcheck Crypt-Password := (hash) -> Crypt-Password := (hash), Auth-Type := Reject",
        "~ alice: radreply Service-Type = Framed-User -> Reply-Message = Account suspended",
    ]


def test_rows_in_another_order_are_a_change_because_freeradius_reads_by_id() -> None:
    swapped = UserRows(check=tuple(reversed(LOCKED.check)), reply=LOCKED.reply)

    assert list(plan({"dave": LOCKED}, {"dave": swapped}).replace) == ["dave"]


def test_a_name_that_is_not_billed_is_deleted_and_a_new_one_added() -> None:
    changes = plan({"alice": ACTIVE}, {"mallory": UserRows(check=(("Cleartext-Password", ":=", "x"),))})

    assert list(changes.add) == ["alice"] and list(changes.delete) == ["mallory"]
    assert changes.lines() == ["- mallory (1 rows)", "+ alice (2 rows)"]


def test_the_report_is_bounded() -> None:
    desired = {f"user{i:05}": ACTIVE for i in range(LINES_MAX + 5)}

    lines = plan(desired, {}).lines()

    assert len(lines) == LINES_MAX + 1 and lines[-1] == "... and 5 more lines"
