"""Which fields a query asks for below a list, so a list resolver can fetch them for the
whole page in its own unit of work (and prime the DataLoaders) instead of each row's
field opening another."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _names(selections: Iterable[Selection], path: tuple[str, ...]) -> set[str]:
    """The field names at `path` below `selections`, through fragments."""
    found: set[str] = set()
    for selection in selections:
        if isinstance(selection, (FragmentSpread, InlineFragment)):
            found |= _names(selection.selections, path)
        elif isinstance(selection, SelectedField):
            if not path:
                found.add(selection.name)
            elif selection.name == path[0]:
                found |= _names(selection.selections, path[1:])
    return found


def node_fields(info: Info[Any, Any]) -> set[str]:
    """The fields asked of each node of a connection (through `edges { node }` and `nodes`).
    `info.selected_fields` is the connection field itself (its alias or name), so the
    path starts below it."""
    found: set[str] = set()
    for field in info.selected_fields:
        found |= _names(field.selections, ("edges", "node")) | _names(field.selections, ("nodes",))
    return found


def own_fields(info: Info[Any, Any]) -> set[str]:
    """The fields asked of the object this field returns (through fragments: `... on
    Customer { ... }` of a union)."""
    found: set[str] = set()
    for field in info.selected_fields:
        found |= _names(field.selections, ())
    return found
