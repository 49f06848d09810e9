"""`bureau customer …` and `bureau service …`: subscribers and their services.

Passwords are never taken as an argument (shell history, `ps`): they are read from a
hidden prompt, or from the first line of stdin with --password-stdin, and never printed.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.crypto.keys import secret_box
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.ledger.entities import isp_entity
from bureau.platform.money import format_amount
from bureau.platform.settings import SettingsError, load_settings
from bureau.platform.subscribers import customers, services

from ._common import amount_micros, fail, out, print_json, with_tenant

customer_app = typer.Typer(help="Create and show customers (subscriber accounts).", no_args_is_help=True)
service_app = typer.Typer(help="Add services to customers; change their state, plan or password.", no_args_is_help=True)

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable keys).")]
ServiceArg = Annotated[str, typer.Argument(help="Service id, or its login (e.g. alice@demo.example).")]
KindOpt = Annotated[services.ServiceKind, typer.Option("--kind", help="Service kind, when SERVICE is a login.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (for scripts).")
]


def _customer_dict(customer: customers.Customer, currency: str) -> dict[str, Any]:
    return {
        "id": customer.id,
        "entity_id": customer.entity_id,
        "number": customer.number,
        "code": customer.code,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "address": {
            "country": customer.address.country,
            "state": customer.address.state,
            "city": customer.address.city,
            "postal_code": customer.address.postal_code,
            "lines": list(customer.address.lines),
        },
        "subscriber_class": customer.subscriber_class,
        "reseller": customer.reseller,
        "prepaid": customer.prepaid,
        "credit_limit_micros": customer.credit_limit_micros,
        "currency": currency,
    }


def _service_dict(service: services.Service) -> dict[str, Any]:
    return {
        "id": service.id,
        "customer": service.customer_number,
        "kind": service.kind.value,
        "login": service.login,
        "plan": service.plan,
        "state": service.state.value,
        "quota_mb": service.quota_mb,
    }


def _box() -> SecretBox:
    try:
        return secret_box(load_settings())
    except SettingsError as exc:
        fail(str(exc))


def read_password(from_stdin: bool) -> str:
    """The new password: stdin's first line, or typed twice at a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            fail("--password-stdin: stdin held no password (an empty first line)")
        return password
    if not sys.stdin.isatty():
        fail("no terminal to ask for the password on: pipe it in with --password-stdin")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return value


async def _service_id(conn: AsyncConnection, ref: str, kind: services.ServiceKind) -> int:
    if ref.isascii() and ref.isdigit():
        return int(ref)
    return (await services.find_service(conn, kind, ref)).id


def _print_service(verb: str, service: services.Service, as_json: bool) -> None:
    if as_json:
        print_json(_service_dict(service))
    else:
        out.print(
            f"{verb} service {service.id}: {service.kind.value} {service.login} of {service.customer_number}, "
            f"plan {service.plan}, {service.state.value}",
            markup=False,
        )


# --- customer ---


@customer_app.command()
def create(
    code: Annotated[str, typer.Argument(help="Account code, e.g. alice (unique in the tenant).")],
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="Full name.")],
    email: Annotated[str, typer.Option(help="Contact email.")],
    country: Annotated[str, typer.Option(help="Billing country, ISO 3166-1 alpha-2 (the tax locale).")],
    state: Annotated[str | None, typer.Option(help="State or province.")] = None,
    city: Annotated[str | None, typer.Option(help="City.")] = None,
    postal_code: Annotated[str | None, typer.Option(help="Postal code.")] = None,
    address_line: Annotated[list[str] | None, typer.Option(help="Street address line (repeat, up to 4).")] = None,
    phone: Annotated[str | None, typer.Option(help="Contact phone.")] = None,
    reseller: Annotated[str | None, typer.Option(help="Code of the reseller that sells to this customer.")] = None,
    subscriber_class: Annotated[str | None, typer.Option("--class", help="Subscriber class code.")] = None,
    postpaid: Annotated[bool, typer.Option("--postpaid/--prepaid", help="Invoiced later, or funds first.")] = False,
    credit_limit: Annotated[str, typer.Option(help="Post-paid credit limit, e.g. 100.00.")] = "0",
    as_json: JsonFlag = False,
) -> None:
    """Create a customer: its subscriber account (books) with the next customer number."""
    limit = amount_micros(credit_limit, "--credit-limit")
    address = customers.Address(country, state, city, postal_code, tuple(address_line or ()))

    async def job(conn: AsyncConnection) -> tuple[customers.Customer, str]:
        made = await customers.create_customer(
            conn,
            code=code,
            name=name,
            email=email,
            address=address,
            phone=phone,
            reseller=reseller,
            subscriber_class=subscriber_class,
            prepaid=not postpaid,
            credit_limit_micros=limit,
        )
        return made, (await isp_entity(conn)).currency

    customer, currency = with_tenant(tenant, job)
    if as_json:
        print_json(_customer_dict(customer, currency))
    else:
        out.print(f"created customer {customer.number} ({customer.code}, {customer.name})", markup=False)


@customer_app.command()
def show(
    ref: Annotated[str, typer.Argument(help="Customer number (C000001), account code or a service login.")],
    tenant: TenantOpt,
    as_json: JsonFlag = False,
) -> None:
    """Show a customer's details (balances: `bureau account show`)."""

    async def job(conn: AsyncConnection) -> tuple[customers.Customer, str]:
        return await customers.get_customer(conn, ref), (await isp_entity(conn)).currency

    customer, currency = with_tenant(tenant, job)
    info = _customer_dict(customer, currency)
    if as_json:
        print_json(info)
        return
    out.print(f"[bold]{escape(customer.name)}[/bold] ({customer.number}, account {customer.code})")
    a = customer.address
    place = ", ".join(p for p in (*a.lines, a.postal_code, a.city, a.state, a.country) if p)
    billing = (
        "prepaid"
        if customer.prepaid
        else f"post-paid, credit limit {format_amount(customer.credit_limit_micros, currency)}"
    )
    rows = {
        "email": customer.email,
        "phone": customer.phone or "—",
        "address": place,
        "class": customer.subscriber_class or "—",
        "sold by": f"reseller {customer.reseller}" if customer.reseller else "the ISP",
        "billing": billing,
    }
    for key, value in rows.items():
        out.print(f"{key:>8}: {value}", markup=False)


# --- service ---


@service_app.command()
def add(
    customer: Annotated[str, typer.Argument(help="Customer number, account code or login.")],
    tenant: TenantOpt,
    login: Annotated[str, typer.Option(help="Login (user@realm for a RADIUS login) or mailbox/site/domain name.")],
    plan: Annotated[str, typer.Option(help="Plan code (for a reseller's customer, one it may sell).")],
    kind: Annotated[services.ServiceKind, typer.Option(help="Service kind.")] = services.ServiceKind.RADIUS_LOGIN,
    quota_mb: Annotated[int | None, typer.Option(help="Disk quota in MB.")] = None,
    no_password: Annotated[bool, typer.Option("--no-password", help="A service without a password.")] = False,
    password_stdin: PasswordStdin = False,
    as_json: JsonFlag = False,
) -> None:
    """Add a pending service; its password is asked for (hidden) unless --no-password."""
    if no_password and password_stdin:
        fail("--no-password and --password-stdin contradict each other; give one")
    box = _box()  # a bad key setting stops the command before the password is asked for
    password = None if no_password else read_password(password_stdin)
    service = with_tenant(
        tenant,
        lambda conn: services.add_service(
            conn, box, customer=customer, kind=kind, login=login, plan=plan, password=password, quota_mb=quota_mb
        ),
    )
    _print_service("added", service, as_json)


@service_app.command("state")
def state_(
    service: ServiceArg,
    state: Annotated[services.ServiceState, typer.Argument(help="The state to move to.")],
    tenant: TenantOpt,
    kind: KindOpt = services.ServiceKind.RADIUS_LOGIN,
    as_json: JsonFlag = False,
) -> None:
    """Move a service to another state: pending → active ⇄ suspended, any → cancelled (final)."""

    async def job(conn: AsyncConnection) -> services.Service:
        return await services.change_service_state(conn, await _service_id(conn, service, kind), state)

    _print_service("changed", with_tenant(tenant, job), as_json)


@service_app.command("plan")
def plan_(
    service: ServiceArg,
    plan: Annotated[str, typer.Argument(help="The new plan's code.")],
    tenant: TenantOpt,
    kind: KindOpt = services.ServiceKind.RADIUS_LOGIN,
    as_json: JsonFlag = False,
) -> None:
    """Put a service on another plan (one its customer's reseller may sell)."""

    async def job(conn: AsyncConnection) -> services.Service:
        return await services.change_plan(conn, await _service_id(conn, service, kind), plan)

    _print_service("changed", with_tenant(tenant, job), as_json)


@service_app.command("password")
def password_(
    service: ServiceArg,
    tenant: TenantOpt,
    kind: KindOpt = services.ServiceKind.RADIUS_LOGIN,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a service's password (asked for hidden, or --password-stdin); it is never printed."""
    box = _box()
    password = read_password(password_stdin)

    async def job(conn: AsyncConnection) -> int:
        service_id = await _service_id(conn, service, kind)
        await services.reset_password(conn, box, service_id, password)
        return service_id

    out.print(f"password of service {with_tenant(tenant, job)} changed", markup=False)
