"""A bill run that dies part-way and is run again issues exactly the invoices, numbers and
postings of a run that was never interrupted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select

from bureau.platform.billing.invoices import invoice_document, list_invoices
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.billing.tables import bill_runs
from bureau.platform.invoicing.render import invoice_json
from bureau.platform.rating.tariff import GIGABYTE
from bureau.platform.rating.usage import Usage

from .conftest import Books, at, make_books

NOW = at("2026-11-23T12:00:00")
OCT = parse_period("2026-10")


class Crash(Exception):
    pass


async def _population(books: Books) -> None:
    for number in range(12):
        name = f"user{number:02d}"
        if number % 4 == 3:
            await books.customer(name, "box-monthly", f"2026-10-{number + 1:02d}T06:00:00", prepaid=number == 11)
        else:
            used = [(f"2026-10-{day:02d}T10:00:00", Usage(octets_out=(number + day) * GIGABYTE // 3)) for day in (3, 9)]
            await books.customer(name, "dsl-10", f"2026-09-{number + 1:02d}T00:00:00", usage=used)


async def _invoices(books: Books) -> list[dict[str, Any]]:
    async with books.unit() as conn:
        found = await list_invoices(conn)
        return [invoice_json(await invoice_document(conn, i.number)) for i in sorted(found, key=lambda i: i.number)]


def _shape(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The invoices without what differs between two tenants by construction (realm names)."""
    for document in documents:
        for line in document["lines"]:
            line["description"] = line["description"].split("@")[0]
    return documents


@pytest.mark.parametrize("crash_after", [1, 2, 4])
async def test_a_run_that_crashed_resumes_to_the_same_invoices(
    engine: Any, make_tenant: Any, crash_after: int, assert_ledger_sound: Any
) -> None:
    whole = await make_books(engine, make_tenant, "whole", name="Same ISP")
    broken = await make_books(engine, make_tenant, "broken", name="Same ISP")
    for books in (whole, broken):
        await _population(books)
    await bill_run(whole.unit, OCT, now=NOW, batch_size=3)

    opened = 0

    @asynccontextmanager
    async def dying_unit() -> AsyncIterator[Any]:
        nonlocal opened
        opened += 1
        async with broken.unit() as conn:
            yield conn
            if opened > crash_after:  # die before this unit of work commits
                raise Crash

    with pytest.raises(Crash):
        await bill_run(dying_unit, OCT, now=NOW, batch_size=3)
    async with broken.unit() as conn:
        partial = (await conn.execute(select(bill_runs.c.status, bill_runs.c.invoices))).one()
    assert partial.status == "running"
    resumed = await bill_run(broken.unit, OCT, now=NOW, batch_size=3)
    assert resumed.resumed
    assert _shape(await _invoices(broken)) == _shape(await _invoices(whole))
    assert len(await _invoices(whole)) == 11  # user11 is prepaid without funds: skipped in both
    for books in (whole, broken):
        await assert_ledger_sound(books.tenant)
