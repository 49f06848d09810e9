"""The month-end bill run: one invoice per customer with charges in a period.

`bill_run` walks the tenant's customers in id order, a batch per transaction. A batch
loads its customers' billable stretches (`service_periods`), their post-paid usage and
balances in a handful of set queries, prices every line (`charges.py`), posts one
journal entry per invoice, draws the batch's invoice numbers from the gapless counter,
writes the invoices and their lines, and moves the run's cursor past the batch, all in
that one transaction. So:

- it is idempotent: an invoice is unique per customer and period, and a customer
  already invoiced for the period is never priced again;
- it is resumable: a run killed at any instant (SIGKILL included) has committed whole
  batches only; run again, it continues at the cursor and issues exactly the invoices,
  with the same numbers, that an uninterrupted run would have;
- concurrent runners of one period take turns on the run row's lock and share the work.

A prepaid customer whose balance does not cover the invoice is skipped and reported
(nothing is posted for them); running the period again once the run has finished
starts a new pass that retries them and changes nothing for everyone else.

Invoices are dated the first day after the period; a post-paid invoice is due
`due_days` later. Opening balance is the previous invoice's balance due, payments and
credits are what moved the receivable since, and the balance due is the receivable
after this invoice. A prepaid invoice is paid from the prepaid balance as it is issued.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, any_, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.catalog.errors import InvalidTaxRate
from bureau.platform.catalog.plans import Billing
from bureau.platform.catalog.snapshot import all_plan_versions
from bureau.platform.catalog.tax import RatePart
from bureau.platform.catalog.taxes import Locale, tax_rates_for
from bureau.platform.catalog.versions import PlanVersion
from bureau.platform.invoicing.document import (
    Branding,
    Customer,
    InvalidInvoice,
    InvoiceDocument,
    tax_summary_of,
    totals_of,
)
from bureau.platform.money import format_amount
from bureau.platform.rating.errors import RatingError
from bureau.platform.rating.usage import Usage

from .. import outbox
from ..audit import log as audit
from ..catalog.tables import plans
from ..db.arrays import id_array
from ..ledger.entities import isp_entity
from ..ledger.errors import LedgerError
from ..ledger.posting import post_entries
from ..ledger.rules import NewEntry, NewPosting, credit
from ..ledger.tables import account_balances, accounts, entities
from ..subscribers.tables import customers, service_periods, services
from . import counters
from .charges import PricedLine, Stretch, charges_for, price
from .payments import apply_credit
from .period import Period, month_of, require_closed
from .sellers import customer_lines, load_sellers, snapshot
from .tables import bill_runs, invoice_lines, invoices, payments, usage_records

UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
Progress = Callable[[int, int], None]  # customers done, customers in all

DEFAULT_BATCH = 500
MAX_BATCH = 1000  # the ledger posts at most this many entries at once
DEFAULT_DUE_DAYS = 14
MAX_LISTED_RUNS = 120
BILL_MONTH_ACTOR = "bill_month"  # the worker's month-end job: bill_month(period) bills the month before period
RECEIVABLE = "1100"
MAIN = "1000"
AMOUNT_USED = "9000"
TAX_PAYABLE = "2100"
ROUNDING = "4090"
USED_CONTROL = "9900"
ISP_CODES = ("4000", "4010", "4020", ROUNDING, TAX_PAYABLE, USED_CONTROL)


@dataclass
class BillRunReport:
    period: str
    invoices: int = 0  # issued by this call
    gross_micros: int = 0
    customers: int = 0  # looked at by this call
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (customer number, why)
    resumed: bool = False
    new_pass: bool = False
    finished: bool = False
    already_finished: bool = False


@dataclass(frozen=True, slots=True)
class _Customer:
    id: int
    entity_id: int
    number: str
    name: str
    prepaid: bool
    currency: str
    reseller_id: int | None
    locale: tuple[str, str | None, str | None]
    address: tuple[str, ...]


@dataclass
class _Invoice:
    customer: _Customer
    lines: list[PricedLine]
    document: InvoiceDocument
    entry: NewEntry | None = None
    entry_id: int | None = None


@dataclass
class _Context:
    period: Period
    run_id: int
    currency: str
    due_days: int
    versions: dict[int, tuple[PlanVersion, ...]]
    plan_billing: dict[int, tuple[str, Billing]]
    isp_accounts: dict[str, int]
    isp_brand: Branding
    reseller_brands: dict[int, Branding]
    tax_cache: dict[tuple[str, str | None, str | None, str], tuple[RatePart, ...]] = field(default_factory=dict)


async def bill_run(
    units: UnitOfWork,
    period: Period,
    *,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
    due_days: int = DEFAULT_DUE_DAYS,
    progress: Progress | None = None,
) -> BillRunReport:
    """Bill `period` for the tenant that `units()` opens transactions on (see module)."""
    require_closed(period, now or datetime.now(UTC))
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be 1 to {MAX_BATCH}, got {batch_size}")
    report = BillRunReport(period.name)
    async with units() as conn:
        run_id, cursor = await _start(conn, period, report)
        total = (await conn.execute(select(func.count()).select_from(customers))).scalar_one()
        done = (await conn.execute(select(func.count()).where(customers.c.id <= cursor))).scalar_one()
        context = await _context(conn, period, run_id, due_days)
    if progress:
        progress(done, total)
    while True:
        async with units() as conn:
            looked = await _batch(conn, context, batch_size, report)
        if looked is None:
            break
        done += looked
        if progress:
            progress(min(done, total), total)
    report.finished = True
    return report


async def _start(conn: AsyncConnection, period: Period, report: BillRunReport) -> tuple[int, int]:
    """The run row of `period`: new, resumed where it stopped, or a new pass if finished."""
    row = (
        await conn.execute(
            pg_insert(bill_runs)
            .values(period_start=period.start, period_end=period.end)
            .on_conflict_do_nothing(index_elements=["period_start"])
            .returning(bill_runs.c.id)
        )
    ).first()
    if row is not None:
        await audit.record(conn, "billing.run.start", f"bill_run:{period.name}", run_id=row.id)
        return row.id, 0
    run = (
        await conn.execute(select(bill_runs).where(bill_runs.c.period_start == period.start).with_for_update())
    ).one()
    if run.status == "running":
        report.resumed = True
        return run.id, run.cursor_customer_id
    report.new_pass = True
    await conn.execute(
        update(bill_runs)
        .where(bill_runs.c.id == run.id)
        .values(status="running", cursor_customer_id=0, skipped=0, passes=bill_runs.c.passes + 1, finished_at=None)
    )
    await audit.record(conn, "billing.run.pass", f"bill_run:{period.name}", run_id=run.id, passes=run.passes + 1)
    return run.id, 0


async def _context(conn: AsyncConnection, period: Period, run_id: int, due_days: int) -> _Context:
    isp = await isp_entity(conn)
    rows = await conn.execute(
        select(accounts.c.code, accounts.c.id).where(accounts.c.entity_id == isp.id, accounts.c.code.in_(ISP_CODES))
    )
    isp_brand, reseller_brands = await load_sellers(conn)
    plan_rows = await conn.execute(select(plans.c.id, plans.c.name, plans.c.billing))
    return _Context(
        period=period,
        run_id=run_id,
        currency=isp.currency,
        due_days=due_days,
        versions=await all_plan_versions(conn),
        plan_billing={row.id: (row.name, Billing(row.billing)) for row in plan_rows},
        isp_accounts={row.code: row.id for row in rows},
        isp_brand=isp_brand,
        reseller_brands=reseller_brands,
    )


async def _batch(conn: AsyncConnection, ctx: _Context, size: int, report: BillRunReport) -> int | None:
    """Bill the next batch; the number of customers looked at, or None when done."""
    run = (await conn.execute(select(bill_runs).where(bill_runs.c.id == ctx.run_id).with_for_update())).one()
    if run.status == "finished":
        report.already_finished = not report.invoices and not report.customers
        return None
    batch = await _customers(conn, run.cursor_customer_id, size)
    if not batch:
        await conn.execute(
            update(bill_runs).where(bill_runs.c.id == ctx.run_id).values(status="finished", finished_at=func.now())
        )
        await audit.record(
            conn, "billing.run.finish", f"bill_run:{ctx.period.name}", invoices=run.invoices, skipped=run.skipped
        )
        return None
    report.customers += len(batch)
    ids = [c.id for c in batch]
    invoiced = set(
        (
            await conn.execute(
                select(invoices.c.customer_id).where(
                    invoices.c.customer_id.in_(ids), invoices.c.period_start == ctx.period.start
                )
            )
        ).scalars()
    )
    todo = [c for c in batch if c.id not in invoiced]
    stretches = await _stretches(conn, ctx, [c.id for c in todo])
    balances = await _balances(conn, [c.entity_id for c in todo])
    previous = await _previous_due(conn, ctx.period, [c.id for c in todo])
    drafts: list[_Invoice] = []
    skipped: list[tuple[str, str]] = []
    for customer in todo:
        try:
            theirs = stretches.get(customer.id, [])
            if isinstance(theirs, _Skip):
                raise theirs
            draft = await _draft(conn, ctx, customer, theirs, balances, previous)
        except (RatingError, InvalidTaxRate, InvalidInvoice, _Skip) as exc:
            skipped.append((customer.number, str(exc)))
            continue
        if draft is not None:
            drafts.append(draft)
    posted = await _post(conn, drafts, balances, skipped)
    await _write(conn, ctx, posted)
    report.invoices += len(posted)
    report.gross_micros += sum(d.document.totals.gross_micros for d in posted)
    report.skipped.extend(skipped)
    await conn.execute(
        update(bill_runs)
        .where(bill_runs.c.id == ctx.run_id)
        .values(
            cursor_customer_id=batch[-1].id,
            invoices=bill_runs.c.invoices + len(posted),
            skipped=bill_runs.c.skipped + len(skipped),
        )
    )
    return len(batch)


class _Skip(Exception):
    pass


async def _customers(conn: AsyncConnection, cursor: int, size: int) -> list[_Customer]:
    rows = await conn.execute(
        select(
            customers.c.id,
            customers.c.entity_id,
            customers.c.customer_number,
            customers.c.name,
            customers.c.country,
            customers.c.state,
            customers.c.city,
            customers.c.postal_code,
            customers.c.address_lines,
            customers.c.reseller_id,
            entities.c.prepaid,
            entities.c.currency,
        )
        .join(entities, entities.c.id == customers.c.entity_id)
        .where(customers.c.id > cursor)
        .order_by(customers.c.id)
        .limit(size)
    )
    return [
        _Customer(
            id=row.id,
            entity_id=row.entity_id,
            number=row.customer_number,
            name=row.name,
            prepaid=row.prepaid,
            currency=row.currency,
            reseller_id=row.reseller_id,
            locale=(row.country, row.state, row.city),
            address=customer_lines(row.address_lines, row.postal_code, row.city, row.state, row.country),
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class _Raw:
    id: int
    service_id: int
    login: str
    plan_id: int
    started_at: datetime
    ended_at: datetime | None
    first_start: datetime


async def _stretches(conn: AsyncConnection, ctx: _Context, customer_ids: list[int]) -> dict[int, list[Stretch] | _Skip]:
    """Each customer's stretches, or why the customer cannot be billed."""
    if not customer_ids:
        return {}
    start, end = ctx.period.starts_at, ctx.period.ends_at
    earlier = service_periods.alias("earlier")
    first = select(func.min(earlier.c.started_at)).where(earlier.c.service_id == services.c.id).scalar_subquery()
    overlap = and_(
        service_periods.c.started_at < end,
        or_(service_periods.c.ended_at.is_(None), service_periods.c.ended_at > start),
    )
    chosen = id_array("customer_ids")
    rows = (
        await conn.execute(
            select(
                service_periods.c.id,
                service_periods.c.service_id,
                services.c.customer_id,
                services.c.login,
                service_periods.c.plan_id,
                service_periods.c.started_at,
                service_periods.c.ended_at,
                first.label("first_start"),
            )
            .join(services, services.c.id == service_periods.c.service_id)
            .where(services.c.customer_id == any_(chosen), overlap)
            .order_by(services.c.customer_id, service_periods.c.service_id, service_periods.c.started_at),
            {"customer_ids": customer_ids},
        )
    ).all()
    usage = await _usage(conn, ctx, customer_ids, overlap) if rows else {}
    out: dict[int, list[Stretch] | _Skip] = {}
    for row in rows:
        raw = _Raw(row.id, row.service_id, row.login, row.plan_id, row.started_at, row.ended_at, row.first_start)
        found = out.setdefault(row.customer_id, [])
        if isinstance(found, _Skip):
            continue
        try:
            stretch = _stretch(ctx, raw, usage.get(row.id, Usage()))
        except _Skip as problem:
            out[row.customer_id] = problem
            continue
        if stretch is not None:
            found.append(stretch)
    return out


def _stretch(ctx: _Context, raw: _Raw, usage: Usage) -> Stretch | None:
    period = ctx.period
    begins = max(raw.started_at, period.starts_at)
    ends = min(raw.ended_at or period.ends_at, period.ends_at)
    if ends < begins:
        return None
    name, billing = ctx.plan_billing[raw.plan_id]
    version = _version_at(ctx.versions.get(raw.plan_id, ()), begins)
    if version is None:
        raise _Skip(f"plan {name!r} has no version in effect at {begins.isoformat()}")
    return Stretch(
        service_id=raw.service_id,
        login=raw.login,
        plan_name=name,
        postpaid=billing is Billing.POSTPAID,
        version=version,
        active_from=begins.astimezone(UTC).date(),
        active_to=ends.astimezone(UTC).date(),
        signup=raw.started_at == raw.first_start and period.starts_at <= raw.first_start < period.ends_at,
        usage=usage,
    )


def _version_at(versions: Sequence[PlanVersion], when: datetime) -> PlanVersion | None:
    found = None
    for version in versions:  # in order of effective_from
        if version.effective_from <= when and (version.effective_to is None or when < version.effective_to):
            found = version
    return found


async def _usage(conn: AsyncConnection, ctx: _Context, customer_ids: list[int], overlap: Any) -> dict[int, Usage]:
    """Usage recorded in each stretch (within the period), by service_periods.id."""
    start, end = ctx.period.starts_at, ctx.period.ends_at
    inside = and_(
        usage_records.c.service_id == service_periods.c.service_id,
        usage_records.c.started_at >= func.greatest(service_periods.c.started_at, literal(start)),
        usage_records.c.started_at < func.least(func.coalesce(service_periods.c.ended_at, literal(end)), literal(end)),
    )
    chosen = id_array("customer_ids")
    base = (
        select(service_periods.c.id)
        .join(services, services.c.id == service_periods.c.service_id)
        .join(usage_records, inside)
        .where(services.c.customer_id == any_(chosen), overlap)
        .group_by(service_periods.c.id)
    )
    rows = await conn.execute(
        base.add_columns(
            func.sum(usage_records.c.seconds), func.sum(usage_records.c.octets_in), func.sum(usage_records.c.octets_out)
        ),
        {"customer_ids": customer_ids},
    )
    totals = {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in rows}
    bands: dict[int, dict[str, int]] = defaultdict(dict)
    if any(rate.band for versions in ctx.versions.values() for v in versions for rate in v.rates):
        band = func.jsonb_each_text(usage_records.c.band_seconds).table_valued("key", "value").lateral("band")
        band_rows = await conn.execute(
            select(service_periods.c.id, band.c.key, func.sum(band.c.value.cast(BigInteger)))
            .join(services, services.c.id == service_periods.c.service_id)
            .join(usage_records, inside)
            .join(band, literal(True))
            .where(services.c.customer_id == any_(chosen), overlap)
            .group_by(service_periods.c.id, band.c.key),
            {"customer_ids": customer_ids},
        )
        for stretch_id, name, seconds in band_rows:
            bands[stretch_id][name] = int(seconds)
    return {
        stretch_id: Usage(seconds, octets_in, octets_out, bands.get(stretch_id, {}))
        for stretch_id, (seconds, octets_in, octets_out) in totals.items()
    }


async def _balances(conn: AsyncConnection, entity_ids: list[int]) -> dict[tuple[int, str], tuple[int, int]]:
    """(account id, balance on its normal side) by (entity id, code) for the customer accounts."""
    if not entity_ids:
        return {}
    rows = await conn.execute(
        select(accounts.c.entity_id, accounts.c.code, accounts.c.id, func.sum(account_balances.c.balance))
        .join(account_balances, account_balances.c.account_id == accounts.c.id)
        .where(
            accounts.c.entity_id == any_(id_array("entity_ids")),
            accounts.c.code.in_((MAIN, RECEIVABLE, AMOUNT_USED)),
        )
        .group_by(accounts.c.entity_id, accounts.c.code, accounts.c.id),
        {"entity_ids": entity_ids},
    )
    return {(row[0], row[1]): (row[2], int(row[3])) for row in rows}


async def _previous_due(conn: AsyncConnection, period: Period, customer_ids: list[int]) -> dict[int, int]:
    if not customer_ids:
        return {}
    rows = await conn.execute(
        select(invoices.c.customer_id, invoices.c.balance_due_micros)
        .where(
            invoices.c.customer_id == any_(id_array("customer_ids")),
            invoices.c.period_start < period.start,
        )
        .ext(distinct_on(invoices.c.customer_id))
        .order_by(invoices.c.customer_id, invoices.c.period_start.desc()),
        {"customer_ids": customer_ids},
    )
    return {row[0]: int(row[1]) for row in rows}


async def _rates(conn: AsyncConnection, ctx: _Context, customer: _Customer, tax_class: str) -> tuple[RatePart, ...]:
    key = (*customer.locale, tax_class)
    found = ctx.tax_cache.get(key)
    if found is None:
        country, state, city = customer.locale
        rates = await tax_rates_for(conn, Locale(country, state, city), tax_class, ctx.period.starts_at)
        found = ctx.tax_cache[key] = tuple(rate.part for rate in rates)
    return found


async def _draft(
    conn: AsyncConnection,
    ctx: _Context,
    customer: _Customer,
    stretches: Sequence[Stretch],
    balances: Mapping[tuple[int, str], tuple[int, int]],
    previous: Mapping[int, int],
) -> _Invoice | None:
    charges = charges_for(stretches, ctx.period)
    if not charges:
        return None
    if customer.currency != ctx.currency:
        raise _Skip(f"account currency {customer.currency} is not the tenant's {ctx.currency}")
    priced = [price(c, await _rates(conn, ctx, customer, c.tax_class), ctx.currency) for c in charges]
    lines = tuple(p.line for p in priced)
    totals = totals_of(lines)
    if customer.prepaid:
        _, balance = balances[(customer.entity_id, MAIN)]
        if balance < totals.gross_micros:
            raise _Skip(
                f"prepaid balance {format_amount(balance, ctx.currency)} does not cover the invoice of "
                f"{format_amount(totals.gross_micros, ctx.currency)}; top up and run the period again"
            )
        opening, paid, due = 0, totals.gross_micros, 0
    else:
        _, owed = balances[(customer.entity_id, RECEIVABLE)]
        opening = previous.get(customer.id, 0)
        paid, due = opening - owed, owed + totals.gross_micros
    document = InvoiceDocument(
        number="INV-000000",  # the real number is drawn once the batch is posted
        issue_date=ctx.period.end,
        period_start=ctx.period.start,
        period_end=ctx.period.end,
        due_date=ctx.period.end + timedelta(days=0 if customer.prepaid else ctx.due_days),
        currency=ctx.currency,
        seller=ctx.reseller_brands[customer.reseller_id] if customer.reseller_id else ctx.isp_brand,
        customer=Customer(customer.name, customer.number, customer.address),
        lines=lines,
        tax_summary=tax_summary_of(lines),
        totals=totals,
        opening_balance_micros=opening,
        payments_received_micros=paid,
        balance_due_micros=due,
    )
    return _Invoice(customer, priced, document, _entry(ctx, customer, priced, totals.gross_micros, balances))


def _entry(
    ctx: _Context,
    customer: _Customer,
    priced: Sequence[PricedLine],
    gross: int,
    balances: Mapping[tuple[int, str], tuple[int, int]],
) -> NewEntry | None:
    unit = ctx.currency
    isp = ctx.isp_accounts
    sums: dict[int, int] = defaultdict(int)  # account id -> credit amount (negative: debit)
    for line in priced:
        sums[isp[line.charge.account_code]] += line.revenue_micros
        sums[isp[TAX_PAYABLE]] += line.line.tax_micros
        sums[isp[ROUNDING]] += line.rounding_micros
    paying = balances[(customer.entity_id, MAIN if customer.prepaid else RECEIVABLE)][0]
    sums[paying] -= gross
    sums[balances[(customer.entity_id, AMOUNT_USED)][0]] -= gross
    sums[isp[USED_CONTROL]] += gross
    postings: list[NewPosting] = [credit(account, amount, unit) for account, amount in sorted(sums.items()) if amount]
    if not postings:
        return None
    return NewEntry(
        idempotency_key=f"invoice:{ctx.period.name}:{customer.id}",
        description=f"Invoice for {ctx.period.name}, {customer.number}",
        postings=tuple(postings),
        metadata={"period": ctx.period.name, "customer": customer.number},
    )


async def _post(
    conn: AsyncConnection,
    drafts: list[_Invoice],
    balances: Mapping[tuple[int, str], tuple[int, int]],
    skipped: list[tuple[str, str]],
) -> list[_Invoice]:
    """Post the drafts' entries; on a ledger refusal, retry one by one and skip the refused."""
    entries = [d.entry for d in drafts if d.entry is not None]
    if not entries:
        return drafts
    try:
        async with conn.begin_nested():
            posted = await post_entries(conn, entries)
    except LedgerError:
        return await _post_one_by_one(conn, drafts, skipped)
    _link(drafts, [p.id for p in posted])
    return drafts


async def _post_one_by_one(
    conn: AsyncConnection, drafts: list[_Invoice], skipped: list[tuple[str, str]]
) -> list[_Invoice]:
    kept = []
    for draft in drafts:
        if draft.entry is None:
            kept.append(draft)
            continue
        try:
            async with conn.begin_nested():
                (posted,) = await post_entries(conn, [draft.entry])
        except LedgerError as exc:
            skipped.append((draft.customer.number, str(exc)))
            continue
        _link([draft], [posted.id])
        kept.append(draft)
    return kept


def _link(drafts: list[_Invoice], entry_ids: list[int]) -> None:
    ids = iter(entry_ids)
    for draft in drafts:
        if draft.entry is not None:
            draft.entry_id = next(ids)


async def _write(conn: AsyncConnection, ctx: _Context, drafts: list[_Invoice]) -> None:
    if not drafts:
        return
    first = await counters.draw(conn, counters.INVOICE, len(drafts))
    rows = []
    for offset, draft in enumerate(drafts):
        doc = draft.document
        seq = first + offset
        rows.append(
            {
                "seq": seq,
                "number": counters.format_number(counters.INVOICE, seq),
                "customer_id": draft.customer.id,
                "reseller_id": draft.customer.reseller_id,
                "bill_run_id": ctx.run_id,
                "period_start": doc.period_start,
                "period_end": doc.period_end,
                "issue_date": doc.issue_date,
                "due_date": doc.due_date,
                "currency": doc.currency,
                "prepaid": draft.customer.prepaid,
                "net_micros": doc.totals.net_micros,
                "tax_micros": doc.totals.tax_micros,
                "gross_micros": doc.totals.gross_micros,
                "opening_balance_micros": doc.opening_balance_micros,
                "payments_received_micros": doc.payments_received_micros,
                "balance_due_micros": doc.balance_due_micros,
                "paid_micros": doc.totals.gross_micros if draft.customer.prepaid else 0,
                "entry_id": draft.entry_id,
                "document": snapshot(doc.seller, doc.customer),
            }
        )
    inserted = await conn.execute(insert(invoices).returning(invoices.c.id, sort_by_parameter_order=True), rows)
    invoice_ids = [row[0] for row in inserted]
    await _lines(conn, drafts, invoice_ids)
    in_credit = (
        await conn.execute(
            select(payments.c.customer_id)
            .where(
                payments.c.customer_id == any_(id_array("customer_ids")),
                payments.c.unallocated_micros > 0,
            )
            .distinct(),
            {"customer_ids": [d.customer.id for d in drafts if not d.customer.prepaid]},
        )
    ).scalars()
    for customer_id in sorted(in_credit):
        await apply_credit(conn, customer_id)


async def _lines(conn: AsyncConnection, drafts: list[_Invoice], invoice_ids: list[int]) -> None:
    await conn.execute(
        insert(invoice_lines),
        [
            {
                "invoice_id": invoice_id,
                "position": position,
                "service_id": priced.charge.service_id,
                "kind": priced.charge.kind,
                "description": priced.line.description,
                "quantity": str(priced.line.quantity),
                "unit": priced.line.unit,
                "unit_price_micros": priced.line.unit_price_micros,
                "net_micros": priced.line.net_micros,
                "tax_rate_bp": priced.line.tax_rate_bp,
                "tax_micros": priced.line.tax_micros,
                "gross_micros": priced.line.gross_micros,
                "account_code": priced.charge.account_code,
            }
            for invoice_id, draft in zip(invoice_ids, drafts, strict=True)
            for position, priced in enumerate(draft.lines, start=1)
        ],
    )


@dataclass(frozen=True, slots=True)
class BillRunState:
    """A bill run as its table row records it: how far it got."""

    period: str
    status: str  # running | finished
    started_at: datetime
    finished_at: datetime | None
    passes: int
    invoices: int
    skipped: int


async def bill_run_states(conn: AsyncConnection, *, limit: int = 24) -> list[BillRunState]:
    """The latest bill runs, newest period first (at most `limit`, capped)."""
    query = select(bill_runs).order_by(bill_runs.c.period_start.desc()).limit(min(max(limit, 1), MAX_LISTED_RUNS))
    rows = await conn.execute(query)
    return [
        BillRunState(
            period=row.period_start.strftime("%Y-%m"),
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            passes=row.passes,
            invoices=row.invoices,
            skipped=row.skipped,
        )
        for row in rows
    ]


async def queue_bill_run(conn: AsyncConnection, period: Period, now: datetime) -> None:
    """Ask a worker to bill `period` (closed by `now`), through the outbox in the caller's
    transaction. The month-end job takes the month after the one it bills."""
    require_closed(period, now)
    await outbox.enqueue(conn, BILL_MONTH_ACTOR, {"period": month_of(period.end).name}, key=f"api:{period.name}")
