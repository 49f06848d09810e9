"""A service change dated back may not land in a month its customer was already invoiced
for (that invoice would no longer tell the truth); a customer not yet invoiced may date a
change into a billed month, and the month's run picks it up when run again."""

from __future__ import annotations

from typing import Any

import pytest

from bureau.platform.billing.invoices import list_invoices
from bureau.platform.billing.period import parse_period
from bureau.platform.billing.run import bill_run
from bureau.platform.subscribers import services
from bureau.platform.subscribers.errors import InvalidSubscriberValue

from .conftest import Books, at

NOW = at("2026-10-02T09:00:00")


async def test_a_change_may_not_be_dated_into_an_invoiced_month(books: Books, assert_ledger_sound: Any) -> None:
    bob = await books.customer("bob", "dsl-10", "2026-09-01T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)
    async with books.unit() as conn:
        (service,) = (await services.services_of(conn, [bob.id]))[bob.id]
        with pytest.raises(InvalidSubscriberValue, match="invoiced up to 2026-10-01"):
            await services.change_service_state(conn, service.id, "suspended", at=at("2026-09-20T00:00:00"))
        moved = await services.change_service_state(conn, service.id, "suspended", at=at("2026-10-01T12:00:00"))
    assert moved.state.value == "suspended"

    # Cara was not invoiced for September: her activation may be dated into it, and the
    # September run, run again, bills her too.
    cara = await books.customer("cara", "dsl-10", "2026-09-10T00:00:00")
    await bill_run(books.unit, parse_period("2026-09"), now=NOW)
    async with books.unit() as conn:
        billed = {i.customer_number for i in await list_invoices(conn)}
    assert billed == {bob.number, cara.number}
    await assert_ledger_sound(books.tenant)
