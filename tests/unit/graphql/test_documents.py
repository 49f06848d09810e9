"""Documents kept by their text answer exactly as when parsed and validated afresh."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxTokensLimiter, QueryDepthLimiter

from bureau.graphql.documents import MAX_KEPT_TEXT, CachedDocuments, DocumentCache


@strawberry.type
class Leaf:
    name: str


@strawberry.type
class Node:
    leaf: Leaf

    @strawberry.field
    def inner(self) -> Node:
        return Node(leaf=self.leaf)


@strawberry.type
class Query:
    @strawberry.field
    def node(self) -> Node:
        return Node(leaf=Leaf(name="x"))


def schema(cache: DocumentCache) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        extensions=[
            lambda: CachedDocuments(cache),
            lambda: QueryDepthLimiter(max_depth=3),
            lambda: MaxTokensLimiter(max_token_count=40),
        ],
    )


def answers(s: strawberry.Schema, query: str) -> tuple[object, list[str]]:
    result = s.execute_sync(query)
    return result.data, [e.message for e in result.errors or []]


def test_a_valid_document_is_parsed_and_validated_once_and_answers_the_same() -> None:
    cache = DocumentCache()
    s = schema(cache)
    first = answers(s, "{ node { leaf { name } } }")
    assert first == ({"node": {"leaf": {"name": "x"}}}, [])
    assert answers(s, "{ node { leaf { name } } }") == first
    assert (cache.misses, cache.hits, len(cache)) == (1, 1, 1)


def test_a_document_that_fails_validation_is_refused_again_from_the_cache() -> None:
    cache = DocumentCache()
    s = schema(cache)
    typo = "{ node { leaf { nmae } } }"
    deep = "{ node { inner { inner { inner { leaf { name } } } } } }"
    for query, reason in ((typo, "Cannot query field 'nmae'"), (deep, "exceeds maximum operation depth")):
        first = answers(s, query)
        assert first[0] is None and reason in first[1][0], first
        assert answers(s, query) == first
    assert (cache.misses, cache.hits, len(cache)) == (2, 2, 2)


def test_what_does_not_parse_is_never_kept() -> None:
    cache = DocumentCache()
    s = schema(cache)
    broken = "{ node { leaf { name } }"
    many_tokens = "{ " + " ".join(f"a{i}: node {{ leaf {{ name }} }}" for i in range(8)) + " }"
    for query, reason in ((broken, "Syntax Error"), (many_tokens, "more than 40 tokens")):
        for _ in range(2):
            data, errors = answers(s, query)
            assert data is None and reason.lower() in errors[0].lower(), errors
    assert len(cache) == 0 and cache.hits == 0


def test_the_least_recently_used_text_goes_first_and_long_texts_are_not_kept() -> None:
    cache = DocumentCache(size=2)
    s = schema(cache)
    a, b, c = "{ node { leaf { name } } }", "{ n: node { leaf { name } } }", "{ m: node { leaf { name } } }"
    for query in (a, b, a, c):  # b is the least recently used when c comes
        answers(s, query)
    assert cache.get(a) is not None and cache.get(c) is not None and cache.get(b) is None
    padded = "{ node { leaf { name } } }" + " " * MAX_KEPT_TEXT
    assert answers(s, padded)[1] == []
    assert cache.get(padded) is None
