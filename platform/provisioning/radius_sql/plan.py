"""What a sync must change so FreeRADIUS's tables hold the desired rows (pure).

Rows are compared per user name: a user whose rows in any of the three tables differ
from the desired ones (in value or in order, which FreeRADIUS reads by id) has all of
its rows deleted and written again; a user whose rows are all as desired is left
untouched, ids and all. Every user name found in radcheck, radreply or radusergroup is
compared, so a name Bureau does not bill (added by hand, or left from a cancelled
service) is "unbilled" and deleted, as reconciliation treats a file target's extra
entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .rows import CRYPT, Item, UserRows

LINES_MAX = 1_000  # lines of a change report; the counts are always complete


@dataclass(frozen=True, slots=True)
class Changes:
    """Users to add, to rewrite (with their rows before) and to delete, by user name."""

    add: Mapping[str, UserRows] = field(default_factory=dict)
    replace: Mapping[str, UserRows] = field(default_factory=dict)
    delete: Sequence[str] = ()
    before: Mapping[str, UserRows] = field(default_factory=dict)  # current rows of replaced and deleted users

    @property
    def empty(self) -> bool:
        return not (self.add or self.replace or self.delete)

    @property
    def cleared(self) -> list[str]:
        """The user names whose current rows go: the rewritten and the deleted."""
        return sorted([*self.replace, *self.delete])

    @property
    def written(self) -> dict[str, UserRows]:
        """The user names whose rows are inserted: the added and the rewritten."""
        return dict(sorted({**self.add, **self.replace}.items()))

    @property
    def rows_cleared(self) -> int:
        return sum(self.before[name].count for name in self.cleared)

    @property
    def rows_written(self) -> int:
        return sum(rows.count for rows in self.written.values())

    def lines(self) -> list[str]:
        """A diff for people: '- user', '+ user' and '~ user: table old -> new'; hashes are not shown."""
        out = [f"- {name} ({self.before[name].count} rows)" for name in self.delete]
        out += [f"+ {name} ({rows.count} rows)" for name, rows in self.add.items()]
        for name, rows in self.replace.items():
            old = self.before[name]
            for table, was, now in (
                ("radcheck", old.check, rows.check),
                ("radreply", old.reply, rows.reply),
                ("radusergroup", old.groups, rows.groups),
            ):
                if was != now:
                    out.append(f"~ {name}: {table} {_shown(was)} -> {_shown(now)}")
        if len(out) > LINES_MAX:
            out = [*out[:LINES_MAX], f"... and {len(out) - LINES_MAX} more lines"]
        return out


def _shown(rows: Sequence[Item] | Sequence[tuple[str, int]]) -> str:
    if not rows:
        return "(none)"
    shown = []
    for row in rows:
        if len(row) == 3 and row[0] == CRYPT:
            shown.append(f"{row[0]} {row[1]} (hash)")
        else:
            shown.append(" ".join(str(part) for part in row))
    return ", ".join(shown)


def plan(desired: Mapping[str, UserRows], current: Mapping[str, UserRows]) -> Changes:
    """The changes that turn `current` (user name -> rows, from the database) into `desired`."""
    add = {name: rows for name, rows in sorted(desired.items()) if name not in current}
    replace = {name: rows for name, rows in sorted(desired.items()) if name in current and current[name] != rows}
    delete = sorted(name for name in current if name not in desired)
    before = {name: current[name] for name in [*replace, *delete]}
    return Changes(add=add, replace=replace, delete=delete, before=before)
