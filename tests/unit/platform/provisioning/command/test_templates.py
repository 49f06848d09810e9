"""Argument templates: only known plain placeholders when configured, safe values when rendered."""

from __future__ import annotations

import pytest

from bureau.platform.provisioning.command.templates import (
    ARGS_MAX,
    check_command,
    check_program_name,
    fields,
    render,
)
from bureau.platform.provisioning.formats.base import FormatError, OptionsError

VALUES = {"user": "alice", "home": "/srv/www/alice", "quota_mb": "100", "email": "alice@example.net"}


def test_known_placeholders_are_found_in_order() -> None:
    assert fields("--home={home} --quota={quota_mb}", "add") == ["home", "quota_mb"]
    assert fields("literal {{braces}}", "add") == []


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{password}", "unknown placeholder {password}; known: {email}, {gid}, {home}"),
        ("{user.__class__}", "unknown placeholder {user.__class__}"),
        ("{user[0]}", "unknown placeholder {user[0]}"),
        ("{}", "unknown placeholder {}"),
        ("{0}", "unknown placeholder {0}"),
        ("{user!r}", "may not have a format or conversion"),
        ("{uid:>10}", "may not have a format or conversion"),
        ("{user", "cannot be read"),
        ("user}", "cannot be read"),
    ],
)
def test_a_template_other_than_plain_known_placeholders_is_refused(template: str, says: str) -> None:
    with pytest.raises(OptionsError, match="add argument 1") as raised:
        check_command(["homedir", template], "add")

    assert says in str(raised.value)


@pytest.mark.parametrize("name", ["../bin/sh", "/bin/sh", "sub/prog", "..", ".", ".hidden", "-x", "", "a..b", "a b"])
def test_a_program_must_be_a_plain_file_name(name: str) -> None:
    with pytest.raises(OptionsError, match="file name of a program in the operator's commands folder"):
        check_program_name(name, "program")


def test_a_command_needs_a_program_and_a_bounded_number_of_arguments() -> None:
    with pytest.raises(OptionsError, match="must be a list: a program's file name"):
        check_command([], "remove")
    with pytest.raises(OptionsError, match=f"at most {ARGS_MAX}"):
        check_command(["prog", *["x"] * (ARGS_MAX + 1)], "remove")
    with pytest.raises(OptionsError, match="without control characters"):
        check_command(["prog", "a\nb"], "remove")
    assert check_command(["homedir-quota.sh", "/srv/www", "{user}"], "add") == (
        "homedir-quota.sh",
        "/srv/www",
        "{user}",
    )


def test_render_fills_each_argument_and_keeps_the_program_name() -> None:
    argv = render(("homedir", "/srv/www", "{user}", "--quota={quota_mb}", "{{literal}}"), VALUES, "alice")

    assert argv == ["homedir", "/srv/www", "alice", "--quota=100", "{literal}"]


def test_a_value_that_would_start_an_argument_with_a_dash_is_refused() -> None:
    values = {**VALUES, "email": "-oProxyCommand=x@example.net"}

    with pytest.raises(FormatError, match="which a program reads as an option"):
        render(("notify", "{email}"), values, "alice")
    assert render(("notify", "--to={email}"), values, "alice") == ["notify", "--to=-oProxyCommand=x@example.net"]
    assert render(("notify", "-v"), values, "alice") == ["notify", "-v"]


def test_a_value_with_a_control_character_or_missing_is_refused() -> None:
    with pytest.raises(FormatError, match="holds a control character"):
        render(("notify", "{email}"), {**VALUES, "email": "a\x00b@example.net"}, "alice")
    with pytest.raises(FormatError, match=r"has no value for \{uid\}"):
        render(("notify", "{uid}"), VALUES, "alice")
