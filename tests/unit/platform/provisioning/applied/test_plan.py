"""Planning steps from the state file to the desired accounts: in key order, one per account."""

from __future__ import annotations

from bureau.platform.provisioning.applied.plan import LINES_MAX, Action, plan, result
from bureau.platform.provisioning.formats.base import Held

ACTIVE = {"state": "active", "uid": "10001"}
SUSPENDED = {"state": "suspended", "uid": "10001"}


def test_new_changed_and_gone_keys_become_add_change_and_remove_in_key_order() -> None:
    desired = {"carol": Held("carol", ACTIVE), "alice": Held("alice", SUSPENDED), "dave": Held("dave", ACTIVE)}
    current = {"alice": Held("alice", ACTIVE), "bob": Held("bob", ACTIVE), "dave": Held("dave", ACTIVE)}

    steps = plan(desired, current)

    assert [(step.action, step.key) for step in steps] == [
        (Action.CHANGE, "alice"),
        (Action.REMOVE, "bob"),
        (Action.ADD, "carol"),
    ]
    assert steps[0].before == ACTIVE and steps[0].after == SUSPENDED
    assert steps[1].attributes == ACTIVE and steps[2].attributes == ACTIVE


def test_the_report_says_what_changed_and_counts_each_action() -> None:
    steps = plan({"alice": Held("alice", SUSPENDED), "carol": Held("carol", ACTIVE)}, {"alice": Held("alice", ACTIVE)})

    report = result(steps, dry_run=True)

    assert report.lines == ("~ alice: state active -> suspended", "+ carol")
    assert (report.added, report.modified, report.deleted, report.dry_run, report.changed) == (1, 1, 0, True, True)


def test_equal_state_plans_nothing() -> None:
    assert plan({"alice": Held("alice", ACTIVE)}, {"alice": Held("alice", dict(ACTIVE))}) == []
    assert not result([], dry_run=False).changed


def test_the_report_is_bounded_but_the_counts_are_not() -> None:
    desired = {f"user{i:05}": Held(f"user{i:05}", ACTIVE) for i in range(LINES_MAX + 3)}

    report = result(plan(desired, {}), dry_run=True)

    assert len(report.lines) == LINES_MAX + 1 and report.lines[-1] == "... and 3 more lines"
    assert report.added == LINES_MAX + 3
