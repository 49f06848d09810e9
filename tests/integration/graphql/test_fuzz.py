"""Queries and mutations generated from graphql/schema.graphql (hypothesis-graphql, the
generator behind schemathesis's GraphQL mode), sent to /graphql with an ISP admin's key
and with none: no answer is a 5xx, none carries a masked "Unexpected error" (a bug the
log would show), and the books stay sound whatever the mutations did."""

from __future__ import annotations

from typing import Any

import httpx
import hypothesis_graphql as hg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.graphql.export import SCHEMA_FILE
from bureau.tenants import apikeys
from graphql import build_schema
from tests.integration.platform.billing.conftest import Books, make_books

SCALARS = {
    "BigInt": st.integers(-(2**70), 2**70).map(nodes.Int),
    "DateTime": st.sampled_from(["2026-11-01T00:00:00Z", "2026-12-01T00:00:00+01:00", "not a date", ""]).map(
        nodes.String
    ),
    "JSON": st.just(nodes.Null),
}
SCHEMA = build_schema(SCHEMA_FILE.read_text())
ROOT_FIELDS = sorted([*SCHEMA.query_type.fields, *(SCHEMA.mutation_type.fields if SCHEMA.mutation_type else {})])
EXAMPLES = 8  # per root field


@pytest.fixture
async def client(engine: AsyncEngine, make_tenant: Any) -> Any:
    books: Books = await make_books(engine, make_tenant, "fuzz")
    await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    key = await apikeys.create_api_key(engine, name="fuzz", scope="isp", tenant=books.tenant.slug, actor="test")
    transport = httpx.ASGITransport(app=create_app(engine, box=books.box))
    async with httpx.AsyncClient(transport=transport, base_url="http://bureau.test") as http:
        yield http, key.token, books


@pytest.mark.parametrize("field", ROOT_FIELDS)
async def test_generated_operations_never_fail_unexpectedly(client: Any, assert_ledger_sound: Any, field: str) -> None:
    drawn: list[tuple[str, bool]] = []

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(query=hg.from_schema(SCHEMA, fields=[field], custom_scalars=SCALARS), with_key=st.booleans())
    def draw(query: Any, with_key: bool) -> None:  # hypothesis draws; the requests go out below
        drawn.append((str(query), with_key))

    draw()
    assert drawn, f"nothing was generated for {field}"
    for query, with_key in drawn:
        await _send(client, assert_ledger_sound, query, with_key)


async def _send(client: Any, assert_ledger_sound: Any, query: Any, with_key: bool) -> None:
    http, token, books = client
    headers = {"Authorization": f"Bearer {token}"} if with_key else {}
    answer = await http.post("/graphql", json={"query": str(query)}, headers=headers)
    assert answer.status_code < 500, (query, answer.text)
    if answer.status_code == 200:
        messages = [e.get("message", "") for e in answer.json().get("errors") or []]
        assert not any(m.startswith("Unexpected error") for m in messages), (query, messages)
    else:
        assert answer.status_code == 400, (query, answer.status_code, answer.text)
    await assert_ledger_sound(books.tenant)
