"""Parsed and validated documents, kept by their text: a client sends the same few
queries again and again, and parsing and validating one (every rule, the depth and alias
limits) cost more than executing a customer's detail (docs/benchmarks.md).

A document that fails to parse (bad syntax, too many tokens) is not kept: it is parsed
again, and refused again, each time. A document that parses is kept with the errors its
validation found, empty or not, since validation depends only on the text and the
schema, and the rules are fixed when the schema is built.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from threading import Lock

from strawberry.extensions import SchemaExtension

from graphql import DocumentNode, GraphQLError

DEFAULT_SIZE = 256  # distinct texts kept; the least recently used goes first
MAX_KEPT_TEXT = 20_000  # characters: a longer text is still served, only not kept


class DocumentCache:
    """What a schema's extension keeps, shared by the requests of one schema."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._lock = Lock()  # requests run on one loop, but a sync execute may run in a thread
        self._entries: OrderedDict[str, tuple[DocumentNode, list[GraphQLError] | None]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, text: str) -> tuple[DocumentNode, list[GraphQLError] | None] | None:
        with self._lock:
            entry = self._entries.get(text)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(text)
            self.hits += 1
            return entry

    def put(self, text: str, document: DocumentNode, errors: list[GraphQLError] | None) -> None:
        if len(text) > MAX_KEPT_TEXT:
            return
        with self._lock:
            self._entries[text] = (document, list(errors) if errors is not None else None)
            self._entries.move_to_end(text)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class CachedDocuments(SchemaExtension):
    """Strawberry parses and validates a text only when the cache has no entry for it.

    On a hit the extension sets the document (strawberry then skips parsing) and the
    validation errors (strawberry then skips validating). On a miss strawberry does both
    as usual, with every limit the other extensions set, and the result is kept.
    """

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache
        self._entry: tuple[DocumentNode, list[GraphQLError] | None] | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        text = context.query
        if text is None or context.graphql_document is not None:
            yield
            return
        self._entry = self.cache.get(text)
        if self._entry is not None:
            context.graphql_document = self._entry[0]
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self._entry is not None and context.pre_execution_errors is None:
            context.pre_execution_errors = list(self._entry[1]) if self._entry[1] is not None else []
            yield
            return
        yield
        if self._entry is None and context.query is not None and context.graphql_document is not None:
            self.cache.put(context.query, context.graphql_document, context.pre_execution_errors)
