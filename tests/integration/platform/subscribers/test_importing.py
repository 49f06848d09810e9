"""Bulk import of customers and logins from CSV: every row or none, errors by line."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bureau.platform.audit.tables import audit_log
from bureau.platform.crypto.passwords import verify_password
from bureau.platform.ledger.tables import entities
from bureau.platform.subscribers.customers import Address, create_customer, get_customer
from bureau.platform.subscribers.importing import ImportFailed, import_subscribers
from bureau.platform.subscribers.resellers import add_realm, allow_plan, create_reseller
from bureau.platform.subscribers.services import secret_context
from bureau.platform.subscribers.tables import customers, services

HEADER = (
    "code,name,email,phone,country,state,city,postal_code,address,prepaid,credit_limit,reseller,login,password,plan"
)


def row(n: int, *, email: str | None = None, login: str | None = None, code: str | None = None, **cells: str) -> str:
    values = {
        "code": code or f"cust{n}",
        "name": f"Customer {n}",
        "email": email or f"c{n}@example.com",
        "phone": "+1 555 0100",
        "country": "US",
        "state": "NY",
        "city": "Albany",
        "postal_code": "12207",
        "address": f"{n} Main St",
        "prepaid": "no",
        "credit_limit": "25.50",
        "reseller": "",
        "login": login or f"user{n}@demo.example",
        "password": f"pw-{n}-secret",
        "plan": "dsl-10",
    }
    values.update(cells)
    return ",".join(values[c] for c in HEADER.split(","))


def csv_of(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


@pytest.fixture
async def isp(shop):
    async with shop.unit() as conn:
        await add_realm(conn, shop.demo)
        await create_reseller(conn, code="northnet", name="NorthNet", realms=[shop.northnet])
        await allow_plan(conn, "northnet", "dsl-10")
    return shop


async def counts(shop) -> tuple[int, int, int, int]:
    async with shop.unit() as conn:
        return (
            await conn.scalar(select(func.count()).select_from(customers)),
            await conn.scalar(select(func.count()).select_from(services)),
            await conn.scalar(select(func.count()).select_from(entities)),
            await conn.scalar(select(func.count()).select_from(audit_log)),
        )


def in_realms_of(shop, text: str) -> str:
    """The file with the example realms (demo.example, northnet.example) swapped for the
    shop's own: the realm registry gives a realm to one tenant of the run's database only."""
    return text.replace("@demo.example", f"@{shop.demo}").replace("@northnet.example", f"@{shop.northnet}")


async def run(shop, text: str, *, dry_run: bool = False):
    async with shop.unit() as conn:
        return await import_subscribers(conn, shop.box, in_realms_of(shop, text), dry_run=dry_run)


async def refused(shop, text: str, *, dry_run: bool = False):
    with pytest.raises(ImportFailed) as caught:
        await run(shop, text, dry_run=dry_run)
    return caught.value.report


async def test_a_good_file_creates_every_customer_and_its_login(isp, assert_ledger_sound) -> None:
    report = await run(isp, csv_of(*(row(n) for n in range(1, 6))))
    assert (report.rows, report.valid, report.created, report.errors) == (5, 5, 5, ())
    async with isp.unit() as conn:
        third = await get_customer(conn, f"user3@{isp.demo}")
        stored = (await conn.execute(select(services).where(services.c.login == f"user3@{isp.demo}"))).one()
    assert (third.code, third.name, third.email, third.phone) == (
        "cust3",
        "Customer 3",
        "c3@example.com",
        "+1 555 0100",
    )
    assert (third.address.country, third.address.city, third.address.lines) == ("US", "Albany", ("3 Main St",))
    assert (third.prepaid, third.credit_limit_micros) == (False, 25_500_000)
    assert stored.state == "pending" and verify_password(stored.password_hash, "pw-3-secret")
    assert isp.box.decrypt(stored.password_secret, secret_context("radius_login", stored.login)) == b"pw-3-secret"
    assert (await counts(isp))[:2] == (5, 5)
    await assert_ledger_sound(isp.tenant)


async def test_three_bad_rows_among_fifty_are_each_reported_by_line_and_nothing_is_written(
    isp, assert_ledger_sound
) -> None:
    lines = [row(n) for n in range(1, 51)]
    lines[5] = row(6, email="bob@")  # line 7
    lines[19] = row(20, plan="no-such-plan")  # line 21
    lines[39] = row(40, credit_limit="ten")  # line 41
    before = await counts(isp)
    report = await refused(isp, csv_of(*lines))
    assert report.rows == 50 and report.created == 0 and report.errors_total == 3
    assert [(e.line, e.field) for e in report.errors] == [(7, "email"), (21, "plan"), (41, "credit_limit")]
    assert str(report.errors[0]) == "line 7, email: 'bob@' is not an address like 'alice@example.com'"
    assert "no-such-plan" in report.errors[1].message
    assert await counts(isp) == before
    await assert_ledger_sound(isp.tenant)


async def test_every_bad_field_of_a_row_is_reported(isp) -> None:
    report = await refused(isp, csv_of(row(1, country="usa", prepaid="maybe", login="nobody")))
    assert [(e.line, e.field) for e in report.errors] == [(2, "country"), (2, "prepaid"), (2, "login")]


async def test_a_dry_run_checks_every_row_and_writes_nothing(isp) -> None:
    before = await counts(isp)
    report = await run(isp, csv_of(*(row(n) for n in range(1, 4))), dry_run=True)
    assert (report.rows, report.valid, report.created, report.dry_run, report.ok) == (3, 3, 0, True, True)
    assert await counts(isp) == before


async def test_a_dry_run_reports_what_the_database_would_refuse(isp) -> None:
    async with isp.unit() as conn:
        await create_customer(conn, code="cust2", name="Taken", email="t@example.com", address=Address("US"))
    before = await counts(isp)
    report = await refused(isp, csv_of(row(1), row(2), row(3, login="user3@unknown.example")), dry_run=True)
    assert [(e.line, e.field) for e in report.errors] == [(3, None), (4, "login")]
    assert "'cust2' already exists" in report.errors[0].message
    assert "unknown.example" in report.errors[1].message
    assert await counts(isp) == before


async def test_duplicates_inside_the_file_name_both_lines(isp) -> None:
    text = csv_of(row(1), row(2, code="cust1"), row(3, login=f"user1@{isp.demo.title()}"), row(4))
    before = await counts(isp)
    report = await refused(isp, text)
    assert [str(e) for e in report.errors] == [
        "line 3, code: 'cust1' is also on line 2",
        f"line 4, login: 'user1@{isp.demo}' is also on line 2",
    ]
    assert await counts(isp) == before


async def test_reseller_plan_restrictions_are_enforced_per_row(isp) -> None:
    text = csv_of(
        row(1, reseller="northnet", login="a@northnet.example"),
        row(2, reseller="northnet", login="b@northnet.example", plan="gold-10"),
        row(3, reseller="northnet", login="c@demo.example"),
        row(4, reseller="southnet", login="d@northnet.example"),
        row(5, plan="gold-10"),
    )
    report = await refused(isp, text)
    assert [(e.line, e.field) for e in report.errors] == [(3, "plan"), (4, "login"), (5, "reseller")]
    assert "plan 'gold-10' is not sold by reseller 'northnet'; allowed: dsl-10" in report.errors[0].message
    async with isp.unit() as conn:
        assert await conn.scalar(select(func.count()).select_from(customers)) == 0


async def test_missing_and_unknown_columns_are_reported_on_the_header_line(isp) -> None:
    text = "code,name,emial,country,login,password,plan\ncust1,C,c@example.com,US,u@demo.example,pw,dsl-10\n"
    report = await refused(isp, text)
    assert [(e.line, e.field) for e in report.errors] == [(1, None), (1, None)]
    assert "missing column(s) email" in report.errors[0].message
    assert "unknown column(s) 'emial'" in report.errors[1].message


async def test_a_row_with_the_wrong_number_of_cells_is_reported(isp) -> None:
    report = await refused(isp, csv_of(row(1), "cust2,Two", row(3)))
    assert [str(e) for e in report.errors] == ["line 3: has 2 cells, the header has 15"]
