"""graphql/schema.graphql is the schema the code builds: CI fails when they disagree."""

from __future__ import annotations

from graphql.error import GraphQLError

from bureau.graphql.errors import MaskUnexpected
from bureau.graphql.export import SCHEMA_FILE, schema_text


def test_the_schema_file_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == schema_text(), "run `python -m bureau.graphql.export` and commit the file"


def test_an_unexpected_error_is_masked_with_the_request_id_and_an_expected_one_is_not() -> None:
    crash = GraphQLError(
        "connection to 10.0.0.7 refused", path=["customers"], original_error=OSError("connection refused")
    )
    masked = MaskUnexpected._mask(crash, "abc123")
    assert masked.message == "Unexpected error (request abc123)"
    assert masked.extensions == {"code": "INTERNAL", "request_id": "abc123"} and "10.0.0.7" not in str(masked.formatted)
    refused = GraphQLError("this needs an operator key", original_error=GraphQLError("this needs an operator key"))
    assert MaskUnexpected._mask(refused, "abc123") is refused
    syntax = GraphQLError("Syntax Error: Unexpected Name 'x'.")
    assert MaskUnexpected._mask(syntax, "abc123") is syntax
    # No path: the request's own input failed to coerce (a BigInt too big); the reason is for the caller.
    coercion = GraphQLError("Variable '$v' got invalid value 1e99", original_error=ValueError("out of range"))
    assert MaskUnexpected._mask(coercion, "abc123") is coercion
