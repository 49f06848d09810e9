"""The steps that turn what a target last applied into what it should hold (pure).

Steps run in key order, one per account: `add` for a key the state lacks, `change` for
a key whose attributes differ, `remove` for a key no longer desired. Each step carries
the attributes before and after, so a remove can still say what it removes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..formats.base import Held

LINES_MAX = 1_000  # lines of a change report; the counts are always complete


class Action(enum.StrEnum):
    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    key: str
    before: Mapping[str, str] | None  # None for an add
    after: Mapping[str, str] | None  # None for a remove

    @property
    def attributes(self) -> Mapping[str, str]:
        """What the step is about: the new attributes, or the old ones of a removed account."""
        found = self.after if self.after is not None else self.before
        if found is None:
            raise ValueError(f"step {self.action} {self.key!r} has neither before nor after")
        return found

    def line(self) -> str:
        """'+ key', '- key' or '~ key: name old -> new, ...' for people."""
        if self.action is Action.ADD:
            return f"+ {self.key}"
        if self.action is Action.REMOVE:
            return f"- {self.key}"
        before, after = self.before or {}, self.after or {}
        changed = [
            f"{name} {before.get(name, '(none)')!s} -> {after.get(name, '(none)')!s}"
            for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)
        ]
        return f"~ {self.key}: {', '.join(changed)}"


@dataclass(frozen=True, slots=True)
class SyncResult:
    added: int
    modified: int
    deleted: int
    lines: tuple[str, ...]  # what changed (or would change, in a dry run)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.modified or self.deleted)


def plan(desired: Mapping[str, Held], current: Mapping[str, Held]) -> list[Step]:
    """The steps from `current` (the state file) to `desired`, in key order."""
    steps: list[Step] = []
    for key in sorted(set(desired) | set(current)):
        want, have = desired.get(key), current.get(key)
        if have is None and want is not None:
            steps.append(Step(Action.ADD, key, None, dict(want.attributes)))
        elif want is None and have is not None:
            steps.append(Step(Action.REMOVE, key, dict(have.attributes), None))
        elif want is not None and have is not None and dict(want.attributes) != dict(have.attributes):
            steps.append(Step(Action.CHANGE, key, dict(have.attributes), dict(want.attributes)))
    return steps


def result(steps: Sequence[Step], *, dry_run: bool) -> SyncResult:
    """Counts and a bounded report of `steps`."""
    lines = [step.line() for step in steps]
    if len(lines) > LINES_MAX:
        lines = [*lines[:LINES_MAX], f"... and {len(lines) - LINES_MAX} more lines"]
    return SyncResult(
        added=sum(step.action is Action.ADD for step in steps),
        modified=sum(step.action is Action.CHANGE for step in steps),
        deleted=sum(step.action is Action.REMOVE for step in steps),
        lines=tuple(lines),
        dry_run=dry_run,
    )
