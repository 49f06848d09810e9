"""Schemathesis in GraphQL mode against Bureau served over TCP by uvicorn. Every root field of
Query and Mutation gets generated operations (valid and invalid ones), each sent with an ISP
admin's key and with none: no answer is a 5xx, none carries a masked "Unexpected error" (a bug
the log would show), and the books stay sound whatever the mutations did.

The fields come from graphql/schema.graphql (tests/unit/graphql/test_schema_file.py keeps it
equal to the code), so a field added later is fuzzed without touching this file; the cases are
generated from the schema the running app answers by introspection, and a test checks that
the two name the same fields. schemathesis's own pytest runner (`schema.parametrize()`) is not
used: under pytest 9.2 its items all share one node id and `from_fixture` fails on the removed
`Node._nodeid`, so each field is a plain parametrized test driving schemathesis's strategy."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import BaseSchema, Case, CheckContext, GenerationMode, Response
from schemathesis.core.result import Ok
from schemathesis.graphql import nodes
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.graphql.export import SCHEMA_FILE
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.db.engine import create_engine
from bureau.platform.ledger.check import LedgerReport, check_ledger
from bureau.tenants import apikeys, lifecycle
from bureau.tenants.routing import tenant_unit
from graphql import NameNode, ObjectFieldNode, ValueNode
from tests.integration.platform.billing.conftest import Books, make_books

T = TypeVar("T")
# Per root field and mode; each case is sent twice (with the key and without). Valid operations
# reach the resolvers; invalid ones mostly exercise graphql-core's validation, so fewer of those.
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 2}
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 30.0
MASKED = "Unexpected error"  # graphql/errors.py's MaskUnexpected: the message and its extensions code
MASKED_CODE = "INTERNAL"

# Int over its whole 32-bit range, but half the time small: page sizes (1..100), limits and counts
# then pass their checks and the resolver behind them runs instead of a "must be from 1 to 100".
schemathesis.graphql.scalar("Int", (st.integers(1, 100) | st.integers(-(2**31), 2**31 - 1)).map(nodes.Int))
# Bureau's custom scalars, well-formed and not: a bad value must be refused as an error, never a 500.
schemathesis.graphql.scalar("BigInt", st.integers(-(2**70), 2**70).map(nodes.Int))  # beyond 64 bits too
schemathesis.graphql.scalar(
    "DateTime",
    st.sampled_from(["2026-11-01T00:00:00Z", "2026-12-01T00:00:00+01:00", "2026-11-01", "not a date", ""]).map(
        nodes.String
    ),
)
schemathesis.graphql.scalar(
    "Date", (st.dates().map(str) | st.sampled_from(["2026-02-30", "not a date", ""])).map(nodes.String)
)


def json_object(fields: dict[str, str]) -> ValueNode:
    """A JSON scalar written as a GraphQL object literal ({kind: "x"})."""
    return nodes.Object([ObjectFieldNode(name=NameNode(value=k), value=nodes.String(v)) for k, v in fields.items()])


schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.just(nodes.Null),
        st.text(max_size=8).map(nodes.String),
        st.integers(-(2**70), 2**70).map(nodes.Int),
        st.dictionaries(st.sampled_from(["kind", "url", "secret"]), st.text(max_size=8), max_size=2).map(json_object),
    ),
)


def root_fields(schema: BaseSchema) -> list[str]:
    """Every operation's label ("Query.customers", "Mutation.createPlan", ...)."""
    labels = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # a field schemathesis cannot read fails the run rather than go unfuzzed
        labels.append(result.ok().label)
    return sorted(labels)


FIELDS = root_fields(schemathesis.graphql.from_path(SCHEMA_FILE))


class Served:
    """The app under uvicorn on 127.0.0.1 in a thread with an event loop and an engine of its
    own: asyncpg connections belong to the loop that opened them, and the test's calls block."""

    def __init__(self, database_url: str, box: SecretBox) -> None:
        self.database_url, self.box = database_url, box
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))  # ours before uvicorn starts: no race for a free port
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/graphql"
        self.loop: asyncio.AbstractEventLoop | None = None
        self.engine: AsyncEngine | None = None
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), name="bureau-fuzz", daemon=True)

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.engine = create_engine(self.database_url)
        config = uvicorn.Config(create_app(self.engine, box=self.box), log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            await self.engine.dispose()

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (self.server is not None and self.server.started):
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("uvicorn did not start serving Bureau")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(START_TIMEOUT_S)
        self.sock.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the server's loop (with its engine) and wait for the result."""
        if self.loop is None:
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT_S)

    def assert_ledger_sound(self, tenant: lifecycle.Tenant) -> None:
        """The assert_ledger_sound fixture's check, on the server's engine: the fixture's is
        bound to the test session's event loop, which does not run while a sync test does."""
        report = self.run(self._check_ledger(tenant))
        assert report.ok, report.problems

    async def _check_ledger(self, tenant: lifecycle.Tenant) -> LedgerReport:
        if self.engine is None:
            raise RuntimeError("the server is not running")
        async with tenant_unit(self.engine, tenant.ref) as conn:
            return await check_ledger(conn)


@pytest.fixture(scope="module")
async def fuzz_books(engine: AsyncEngine) -> tuple[Books, str]:
    """A priced tenant with one customer, and an ISP admin key for it, shared by every field."""

    async def new_tenant(prefix: str, name: str | None = None) -> lifecycle.Tenant:
        slug = f"{prefix}_{time.time_ns() % 10**8:08d}"
        return await lifecycle.create_tenant(engine, slug, name=name or slug, currency="USD", actor="test")

    books = await make_books(engine, new_tenant, "fuzz")
    await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    key = await apikeys.create_api_key(engine, name="fuzz", scope="isp", tenant=books.tenant.slug, actor="test")
    return books, key.token


@pytest.fixture(scope="module")
def served(database_url: str, fuzz_books: tuple[Books, str]) -> Iterator[Served]:
    with Served(database_url, fuzz_books[0].box) as app:
        yield app


@pytest.fixture(scope="module")
def served_schema(served: Served) -> BaseSchema:
    """The schema as the running app answers it by introspection, read by schemathesis."""
    return schemathesis.graphql.from_url(served.url, timeout=CALL_TIMEOUT_S)


def answered_without_a_bug(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Our not_a_server_error: schemathesis's own counts every resolver error as the server's,
    but a refused field (no key, NotFound) is an expected answer here. A bug is a 5xx, a
    masked "Unexpected error", or a refusal that is neither a GraphQL answer nor a 400."""
    assert response.status_code < 500, f"{response.status_code}: {response.content[:500]!r}"
    if response.status_code != 200:
        assert response.status_code == 400, f"{response.status_code}: {response.content[:500]!r}"
        return None
    body = json.loads(response.content)
    assert isinstance(body, dict) and ("data" in body or "errors" in body), body
    masked = [error for error in body.get("errors") or [] if _is_masked(error)]
    assert not masked, masked
    return None


def _is_masked(error: Any) -> bool:
    if not isinstance(error, dict):
        return False
    code = (error.get("extensions") or {}).get("code")
    return str(error.get("message", "")).startswith(MASKED) or code == MASKED_CODE


def test_every_root_field_of_the_running_app_is_fuzzed(served_schema: BaseSchema) -> None:
    assert root_fields(served_schema) == FIELDS


@pytest.mark.parametrize("field", FIELDS)
def test_generated_operations_never_fail_unexpectedly(
    field: str, served: Served, served_schema: BaseSchema, fuzz_books: tuple[Books, str]
) -> None:
    books, token = fuzz_books
    operation = served_schema.find_operation_by_label(field)
    assert operation is not None, f"the running app has no {field}"

    sent: list[Case[Any]] = []

    def send(case: Case[Any]) -> None:
        sent.append(case)
        for headers in ({"Authorization": f"Bearer {token}"}, {}):
            case.call_and_validate(
                base_url=served.url, headers=headers, checks=[answered_without_a_bug], timeout=CALL_TIMEOUT_S
            )
        served.assert_ledger_sound(books.tenant)

    for mode, examples in EXAMPLES.items():
        fuzz = settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )(given(case=operation.as_strategy(mode))(send))
        fuzz()
    assert sent, f"nothing was generated for {field}"
