"""`bureau up --demo`: the documented demo ISP of DESIGN.md §6, made idempotently.

Tenant `demo` (USD, realm demo.example) with reseller `northnet` (realm
northnet.example, allowed to sell dsl-10), the plans prepaid-hourly (1.20 an hour,
rated per second), prepaid-data (10.00 per GB) and dsl-10 (sign-up 15.00, 29.99 a
month, 10 GB included then 10.00 per GB, taxed by locale), and the customers alice
(prepaid-hourly, 10.00), carol (prepaid-data, 5.00) and bob (dsl-10, post-paid, sold
by northnet), each with an active RADIUS login. Opening balances are journal entries.

So that `bureau bill-run --tenant demo` has something to bill, bob's DSL line has been
active since the 10th of the last month that is over, used 12.5 GB in it (2.5 GB over
the allowance), and bob paid 20.00 by bank transfer on the 12th: his first invoice has
a sign-up fee, a prorated month, a usage line, sales tax and that payment.
Running it again changes nothing; never rename what is here (outside tests use it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bureau.platform.billing.payments import Method, record_payment
from bureau.platform.billing.period import Period, last_closed
from bureau.platform.billing.usage import record_usage
from bureau.platform.catalog import classes, plans, taxes, versions
from bureau.platform.catalog.components import PriceComponent, RecurringPeriod
from bureau.platform.catalog.errors import NotFound as CatalogNotFound
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.ledger import entities
from bureau.platform.ledger.errors import EntityNotFound
from bureau.platform.ledger.posting import post_entry
from bureau.platform.ledger.rules import NewEntry, credit, debit
from bureau.platform.money import parse_decimal_micros
from bureau.platform.nas import registry
from bureau.platform.provisioning import targets
from bureau.platform.rating.tariff import GIGABYTE, HOUR, UsageRate
from bureau.platform.rating.usage import Meter, Usage
from bureau.platform.subscribers import customers, resellers, services
from bureau.platform.subscribers.errors import NotFound as SubscriberNotFound
from bureau.tenants import apikeys, lifecycle, routing

T = TypeVar("T")

SLUG = "demo"
NAME = "Demo ISP"
CURRENCY = "USD"
REALM = "demo.example"
RESELLER = ("northnet", "NorthNet VISP", "northnet.example")
PRICES_FROM = datetime(2026, 1, 1, tzinfo=UTC)
DOLLAR = 1_000_000
TAX_CLASS = "standard"
PLANS = (
    # code, name, category, billing, components
    (
        "prepaid-hourly",
        "Prepaid hourly",
        "dialup",
        "prepaid",
        (PriceComponent.usage(UsageRate.flat(Meter.SECONDS, HOUR, 1_200_000)),),
    ),
    (
        "prepaid-data",
        "Prepaid data",
        "dialup",
        "prepaid",
        (PriceComponent.usage(UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10 * DOLLAR)),),
    ),
    (
        "dsl-10",
        "DSL 10",
        "dsl",
        "postpaid",
        (
            PriceComponent.signup_fee(15 * DOLLAR, tax_class=TAX_CLASS),
            PriceComponent.recurring(29_990_000, RecurringPeriod.MONTH, tax_class=TAX_CLASS),
            PriceComponent.usage(
                UsageRate.flat(Meter.OCTETS_TOTAL, GIGABYTE, 10 * DOLLAR, allowance=10 * GIGABYTE),
                tax_class=TAX_CLASS,
            ),
        ),
    ),
)
CATEGORIES = (("dialup", "Dial-up and prepaid"), ("dsl", "DSL"))
SALES_TAX = ("Sales tax", taxes.Locale("US"), 500)  # 5.00 %, exclusive
SUBSCRIBERS = (
    # login (also the customer's code), name, plan, prepaid, opening balance, sold by, password
    ("alice@demo.example", "Alice", "prepaid-hourly", True, "10.00", None, "alice-secret"),
    ("carol@demo.example", "Carol", "prepaid-data", True, "5.00", None, "carol-secret"),
    ("bob@northnet.example", "Bob", "dsl-10", False, "0", "northnet", "bob-secret"),
)
NAS = (("localhost", "127.0.0.1/32"), ("localhost6", "::1/128"))
NAS_SECRET = "testing123"  # noqa: S105 - the documented demo secret (DESIGN.md §6)
BOB_STARTED_DAY = 10
BOB_USAGE = ((10, 30), (15, 45), (22, 50))  # (day of month, GB x 10): 12.5 GB in all
BOB_PAID = 20 * DOLLAR
ADDRESS = customers.Address(country="US", state="CA", city="Springfield", postal_code="94000", lines=("1 Main St",))


EXTRA_SERVICES = (
    (services.ServiceKind.MAILBOX, "alice@demo.example"),
    (services.ServiceKind.DOMAIN, "alice-shop.example"),
)
TARGETS: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("unix", "unix", {"kinds": ["radius_login"]}),  # passwd and shadow of the RADIUS logins
    ("radius", "radius_users", {}),  # a FreeRADIUS users file
    ("mail", "sendmail", {}),  # virtusertable and sendmail.cw
    (
        "dns",
        "bind",
        {
            "primary_ns": "ns1.demo.example",
            "hostmaster": "hostmaster@demo.example",
            "address": "192.0.2.10",
            "mx_host": "mail.demo.example",
        },
    ),
)


@dataclass
class DemoReport:
    tenant: str = SLUG
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # made with the tenant; only their digests are kept


async def _once(report: DemoReport, what: str, find: Callable[[], Awaitable[T]], make: Callable[[], Awaitable[T]]) -> T:
    """`find()` it, or `make()` it when the lookup says it does not exist."""
    try:
        found = await find()
    except (CatalogNotFound, SubscriberNotFound, EntityNotFound, targets.TargetNotFound):
        made = await make()
        report.created.append(what)
        return made
    report.existing.append(what)
    return found


async def seed_demo(engine: AsyncEngine, box: SecretBox, *, now: datetime | None = None) -> DemoReport:
    """Create whatever of the demo is missing; `box` seals the RADIUS passwords."""
    report = DemoReport()
    month = last_closed(now or datetime.now(UTC))
    try:
        tenant = await lifecycle.get_tenant(engine, SLUG)
        report.existing.append(f"tenant {SLUG}")
    except lifecycle.TenantNotFound:
        tenant = await lifecycle.create_tenant(engine, SLUG, name=NAME, currency=CURRENCY, actor="demo")
        report.created.append(f"tenant {SLUG} ({NAME}, {CURRENCY})")
    async with routing.tenant_unit(engine, tenant.ref, actor="demo") as conn:
        await _catalog(conn, report)
        await _sellers(conn, report)
        await _subscribers(conn, report, box, month)
        await _past_month(conn, report, month)
        await _nas(conn, report, box)
        await _provisioning(conn, report, box)
    if f"tenant {SLUG} ({NAME}, {CURRENCY})" in report.created:
        await _api_keys(engine, report)
    return report


async def _api_keys(engine: AsyncEngine, report: DemoReport) -> None:
    """Keys for the operator, the demo ISP and the northnet reseller, made with the tenant
    (a key is shown once: a later start cannot print them again)."""
    wanted = (
        ("operator", {"scope": "operator"}),
        (f"ISP {SLUG}", {"scope": "isp", "tenant": SLUG}),
        (f"reseller {RESELLER[0]}", {"scope": "reseller", "tenant": SLUG, "reseller": RESELLER[0]}),
    )
    for label, scope in wanted:
        made = await apikeys.create_api_key(engine, name=f"demo {label}", actor="demo", **scope)
        report.keys[label] = made.token
        report.created.append(f"API key {made.key.key_id} ({label})")


async def _provisioning(conn: AsyncConnection, report: DemoReport, box: SecretBox) -> None:
    """Alice's mailbox and web domain, and file targets under <data folder>/exports/demo/,
    which the worker of `bureau up` fills within seconds (docs/provisioning.md)."""
    for kind, login in EXTRA_SERVICES:
        try:
            await services.find_service(conn, kind, login)
            report.existing.append(f"{kind.value} {login}")
        except SubscriberNotFound:
            service = await services.add_service(
                conn, box, customer="alice@demo.example", kind=kind, login=login, plan="prepaid-hourly"
            )
            await services.change_service_state(conn, service.id, services.ServiceState.ACTIVE)
            report.created.append(f"{kind.value} {login}")
    for name, format_name, options in TARGETS:
        await _once(
            report,
            f"export target {name} ({format_name})",
            partial(targets.get_target, conn, name),
            partial(targets.add_target, conn, name, format_name, options),
        )


async def _catalog(conn: AsyncConnection, report: DemoReport) -> None:
    for code, name in CATEGORIES:
        await _once(
            report,
            f"category {code}",
            partial(plans.get_category, conn, code),
            partial(plans.create_category, conn, code, name),
        )
    for code, name, category, billing, components in PLANS:

        async def make(
            code: str = code,
            name: str = name,
            category: str = category,
            billing: str = billing,
            components: tuple[PriceComponent, ...] = components,
        ) -> plans.Plan:
            plan = await plans.create_plan(conn, code, name, category=category, billing=billing)
            await versions.add_plan_version(conn, code, effective_from=PRICES_FROM, components=components)
            return plan

        await _once(report, f"plan {code}", partial(plans.get_plan, conn, code), make)
    tax_name, locale, rate_bp = SALES_TAX
    if not await taxes.tax_rates_for(conn, locale, TAX_CLASS, PRICES_FROM):
        await taxes.create_tax_rate(
            conn,
            name=tax_name,
            locale=locale,
            tax_class=TAX_CLASS,
            rate_bp=rate_bp,
            inclusive=False,
            effective_from=PRICES_FROM,
        )
        report.created.append(f"tax rate {tax_name} {rate_bp / 100:.2f}% ({locale.country})")
    await _once(
        report,
        "subscriber class residential",
        lambda: classes.get_subscriber_class(conn, "residential"),
        lambda: classes.create_subscriber_class(conn, "residential", "Residential"),
    )
    for code, *_ in PLANS:
        await classes.link_plan_to_class(conn, "residential", code)


async def _sellers(conn: AsyncConnection, report: DemoReport) -> None:
    await _once(
        report,
        f"realm {REALM}",
        lambda: resellers.get_realm(conn, REALM),
        lambda: resellers.add_realm(conn, REALM),
    )
    code, name, realm = RESELLER
    await _once(
        report,
        f"reseller {code}",
        lambda: resellers.get_reseller(conn, code),
        lambda: resellers.create_reseller(
            conn,
            code=code,
            name=name,
            branding=resellers.Branding(name=name, primary_colour="#0a7cff", support_email="help@northnet.example"),
            commission_bp=1000,
            realms=(realm,),
        ),
    )
    if await resellers.allow_plan(conn, code, "dsl-10"):
        report.created.append(f"reseller {code} may sell dsl-10")


def _since(prepaid: bool, month: Period) -> datetime:
    """When a demo login became active: the post-paid one on the 10th of the last month
    that is over (so its first invoice is prorated and has a sign-up fee)."""
    if prepaid:
        return month.starts_at
    return month.starts_at + timedelta(days=BOB_STARTED_DAY - 1)


async def _subscribers(conn: AsyncConnection, report: DemoReport, box: SecretBox, month: Period) -> None:
    isp = await entities.isp_entity(conn)
    opening = await entities.query_account(conn, isp.id, "3900")
    for login, name, plan, prepaid, amount, sold_by, password in SUBSCRIBERS:

        async def make_customer(
            login: str = login, name: str = name, prepaid: bool = prepaid, sold_by: str | None = sold_by
        ) -> customers.Customer:
            return await customers.create_customer(
                conn,
                code=login,
                name=name,
                email=f"{login.split('@')[0]}@mail.example",
                address=ADDRESS,
                reseller=sold_by,
                subscriber_class="residential",
                prepaid=prepaid,
            )

        await _once(report, f"customer {login}", partial(customers.get_customer, conn, login), make_customer)
        try:
            await services.find_service(conn, services.ServiceKind.RADIUS_LOGIN, login)
            report.existing.append(f"RADIUS login {login}")
        except SubscriberNotFound:
            service = await services.add_service(
                conn,
                box,
                customer=login,
                kind=services.ServiceKind.RADIUS_LOGIN,
                login=login,
                plan=plan,
                password=password,
            )
            await services.change_service_state(
                conn, service.id, services.ServiceState.ACTIVE, at=_since(prepaid, month)
            )
            report.created.append(f"RADIUS login {login} on {plan}")
        micros = parse_decimal_micros(amount)
        if micros:
            entity = await entities.find_entity(conn, login)
            main = await entities.query_account(conn, entity.id, "1000")
            posted = await post_entry(
                conn,
                NewEntry(
                    f"demo:opening:{login}",
                    f"Opening balance of {login}",
                    (debit(opening.id, micros, CURRENCY), credit(main.id, micros, CURRENCY)),
                ),
            )
            if not posted.replayed:
                report.created.append(f"opening balance {amount} {CURRENCY} for {login}")


async def _past_month(conn: AsyncConnection, report: DemoReport, month: Period) -> None:
    """bob's usage and payment in `month` (idempotent: keyed by the month)."""
    login = SUBSCRIBERS[2][0]
    service = await services.find_service(conn, services.ServiceKind.RADIUS_LOGIN, login)
    for number, (day, gigabytes_x10) in enumerate(BOB_USAGE, start=1):
        used = Usage(octets_in=gigabytes_x10 * GIGABYTE // 10 // 5, octets_out=gigabytes_x10 * GIGABYTE // 10 * 4 // 5)
        recorded = await record_usage(
            conn,
            service.id,
            source=f"demo:{month.name}:session-{number}",
            started_at=month.starts_at + timedelta(days=day - 1, hours=20),
            usage=used,
        )
        if not recorded.replayed:
            amount = f"{gigabytes_x10 // 10}.{gigabytes_x10 % 10} GB"
            report.created.append(f"usage of {login} on {month.name}-{day:02d}: {amount}")
    paid = await record_payment(
        conn,
        customer=login,
        amount_micros=BOB_PAID,
        method=Method.BANK_TRANSFER,
        idempotency_key=f"demo:{month.name}:bob-payment",
        received_at=month.starts_at + timedelta(days=11, hours=9),
        reference="Bank transfer BOB-1",
    )
    if not paid.replayed:
        report.created.append(f"payment of 20.00 {CURRENCY} by {login} on {month.name}-12")


async def _nas(conn: AsyncConnection, report: DemoReport, box: SecretBox) -> None:
    """The demo NAS: 127.0.0.1 and ::1, secret testing123, Disconnect/CoA port 3799."""
    known = {nas.name for nas in await registry.list_nas(conn)}
    for name, address in NAS:
        if name in known:
            report.existing.append(f"NAS {name}")
            continue
        try:
            await registry.add_nas(conn, box, name=name, address=address, secret=NAS_SECRET, coa_port=3799)
        except registry.NasError as exc:  # another tenant of this installation holds the address
            report.existing.append(f"NAS {name} not added: {exc}")
            continue
        report.created.append(f"NAS {name} ({address}, secret {NAS_SECRET})")
