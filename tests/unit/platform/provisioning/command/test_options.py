"""Command target options from staff's JSON: commands checked when configured, defaults filled."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.command.options import TIMEOUT_MAX_S, CommandOptions, options_from
from bureau.platform.provisioning.formats.base import OptionsError

ADD = ["homedir-quota.sh", "/srv/www", "{user}", "{uid}", "{gid}", "{quota_mb}"]


def test_defaults_are_web_and_ftp_with_thirty_seconds_and_change_runs_add() -> None:
    options = options_from({"add": ADD, "remove": ADD})

    assert options.kinds == ("web", "ftp") and options.timeout_s == 30
    assert options.command("change") == tuple(ADD) and options.programs() == ["homedir-quota.sh"]


def test_a_separate_change_command_is_used_when_given() -> None:
    options = options_from({"add": ADD, "change": ["update", "{user}"], "remove": ["drop", "{user}"]})

    assert options.command("change") == ("update", "{user}") and options.programs() == [
        "drop",
        "homedir-quota.sh",
        "update",
    ]


def test_an_unknown_placeholder_is_refused_when_the_target_is_configured() -> None:
    with pytest.raises(OptionsError, match=r"remove argument 1 '\{password\}' uses unknown placeholder"):
        options_from({"add": ADD, "remove": ["drop", "{password}"]})


def test_a_program_path_is_refused_when_the_target_is_configured() -> None:
    with pytest.raises(OptionsError, match="file name of a program"):
        options_from({"add": ["../../bin/sh", "-c", "id"], "remove": ADD})


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"kinds": ["web", "printer"]}, "unknown: ['printer']"),
        ({"kinds": []}, "must be one or more of"),
        ({"timeout_s": 0}, f"out of range 1..{TIMEOUT_MAX_S}"),
        ({"timeout_s": TIMEOUT_MAX_S + 1}, "out of range"),
        ({"home_base": "srv/www"}, "home_base 'srv/www' must be an absolute path"),
        ({"gid": -1}, "gid -1 is out of range"),
        ({"shell": "/bin/sh"}, "has no option 'shell'"),
        ({"add": "homedir-quota.sh {user}"}, "must be a list of text"),
    ],
)
def test_bad_options_are_refused_by_name(extra: dict[str, object], says: str) -> None:
    with pytest.raises(OptionsError) as raised:
        options_from({"add": ADD, "remove": ADD, **extra})

    assert says in str(raised.value)


def test_add_and_remove_are_required() -> None:
    with pytest.raises(OptionsError, match="needs option 'remove'"):
        options_from({"add": ADD})


def test_every_kind_may_be_chosen() -> None:
    kinds = ("radius_login", "mailbox", "web", "ftp", "disk_quota", "domain")

    assert CommandOptions(add=("p",), remove=("p",), kinds=kinds).kinds == kinds
