"""JSON values that come back from JSONB exactly as they went in.

Hashes over JSON content (journal entries' content hash, audit records' row hash) are
recomputed from what PostgreSQL returns, so the content must survive a JSONB round
trip unchanged: no floats (JSONB turns 1e16 into 10000000000000000), only text keys,
only JSON types, and a bounded size (which also stops a self-referencing structure).
Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_VALUES = 1000  # every key, list item and value counts


class NotJsonSafe(ValueError):
    """The value would not survive a JSONB round trip unchanged; says where and why."""


def check_json_safe(value: object, what: str, *, max_values: int = MAX_VALUES) -> None:
    """Raise NotJsonSafe naming the first offending path under `what`."""
    if not isinstance(value, Mapping):
        raise NotJsonSafe(f"{what} must be a mapping, got {type(value).__name__}")
    pending: list[tuple[str, object]] = [(what, value)]
    for _ in range(max_values):
        if not pending:
            return
        path, item = pending.pop()
        if isinstance(item, Mapping):
            for name, inner in item.items():
                if not isinstance(name, str):
                    raise NotJsonSafe(f"{path} has a key {name!r} that is not text")
                pending.append((f"{path}.{name}", inner))
        elif isinstance(item, list | tuple):
            pending.extend((f"{path}[{index}]", inner) for index, inner in enumerate(item))
        elif isinstance(item, float):
            raise NotJsonSafe(f"{path} is a float ({item!r}); write it as an integer or a decimal string")
        elif item is not None and not isinstance(item, str | int):
            raise NotJsonSafe(f"{path} holds a {type(item).__name__}, which JSON cannot hold")
    if pending:
        raise NotJsonSafe(f"{what} holds more than {max_values} values")
