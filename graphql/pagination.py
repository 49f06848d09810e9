"""Relay-style connections with opaque cursors, paged by key (never by offset)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from .context import Refused

T = TypeVar("T")
N = TypeVar("N")
MAX_PAGE = 100
DEFAULT_PAGE = 50


class InvalidCursor(Refused):
    """A cursor or page size the list cannot take (answered with this message)."""


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def cursor(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


def after_key(kind: str, value: str | None) -> int:
    """The key a cursor of `kind` stands for (0 without one); InvalidCursor otherwise."""
    if value is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(value.encode("ascii")).decode()
        name, _, key = text.partition(":")
        if name == kind and key.isdigit():
            return int(key)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise InvalidCursor(f"cursor {value!r} is not a cursor of this list; pass an endCursor it returned")


def page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise InvalidCursor(f"first must be from 1 to {MAX_PAGE}, got {first}")
    return first


def connection(
    items: Sequence[N], first: int, kind: str, key: Callable[[N], int], node: Callable[[N], T]
) -> Connection[T]:
    """A page from `items` fetched with a limit of first + 1 (the extra says there is more)."""
    shown = items[:first]
    edges = [Edge(cursor=cursor(kind, key(item)), node=node(item)) for item in shown]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(items) > first, end_cursor=edges[-1].cursor if edges else None),
    )
