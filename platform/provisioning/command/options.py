"""The options of a command target, built from staff's JSON like a file format's.

`add`, `change` and `remove` are commands (`templates`): a program's file name in the
operator's commands folder, then argument templates. `change` may be left out, which
runs `add` again with the new values (a program that is idempotent, as it must be,
usually needs nothing else). Unix user naming (`user_from`, `realm_separator`),
`gid` and `home_base` are the passwd formats', so a login gets the same user name and
home here as there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..formats import options as building
from ..formats.base import OptionsError
from ..formats.naming import UNIX_KINDS, UnixNaming, UnixUsers
from .templates import check_command

NAME = "command"  # in OptionsError messages, where a file format's name would be
USER_KINDS = frozenset({"radius_login", "mailbox", "web", "ftp", "disk_quota"})  # keyed by Unix user name
DOMAIN_KINDS = frozenset({"domain"})  # keyed by the domain
COMMAND_KINDS = USER_KINDS | DOMAIN_KINDS
TIMEOUT_MIN_S, TIMEOUT_MAX_S = 1, 600  # per command run, not for a whole sync
ACTIONS = ("add", "change", "remove")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandOptions(UnixNaming):
    add: tuple[str, ...]  # ["program", "template", ...]
    remove: tuple[str, ...]
    change: tuple[str, ...] | None = None  # None: `add` with the new values
    kinds: tuple[str, ...] = ("web", "ftp")
    timeout_s: int = 30
    gid: int = 100
    home_base: str = "/home"

    def __post_init__(self) -> None:
        for action in ACTIONS:
            command = getattr(self, action)
            if command is not None:
                check_command(command, action)
        unknown = sorted(set(self.kinds) - COMMAND_KINDS)
        if unknown or not self.kinds:
            raise OptionsError(
                f"kinds {sorted(self.kinds)} must be one or more of {sorted(COMMAND_KINDS)}; unknown: {unknown}"
            )
        if not TIMEOUT_MIN_S <= self.timeout_s <= TIMEOUT_MAX_S:
            raise OptionsError(f"timeout_s {self.timeout_s} is out of range {TIMEOUT_MIN_S}..{TIMEOUT_MAX_S}")
        self.unix_users()  # gid and home_base are checked where the passwd formats check them

    def command(self, action: str) -> tuple[str, ...]:
        """The command run for `action` (add, change or remove)."""
        if action not in ACTIONS:
            raise ValueError(f"no command for action {action!r}")
        found: tuple[str, ...] | None = getattr(self, action)
        return found if found is not None else self.add

    def programs(self) -> list[str]:
        """The program names the commands use, each once."""
        return sorted({self.command(action)[0] for action in ACTIONS})

    def unix_users(self) -> UnixUsers:
        """The Unix side of these options, as the passwd-like formats take it (homes)."""
        return UnixUsers(
            user_from=self.user_from,
            realm_separator=self.realm_separator,
            gid=self.gid,
            home_base=self.home_base,
            kinds=tuple(kind for kind in self.kinds if kind in UNIX_KINDS),
        )


def options_from(mapping: Mapping[str, Any]) -> CommandOptions:
    """CommandOptions from staff's JSON; OptionsError names the option that is wrong."""
    return building.build(CommandOptions, mapping, NAME)
