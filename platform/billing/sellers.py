"""Who issues a customer's invoice: the reseller that sold the account, or the ISP.

The seller's branding and the customer's address are copied into the invoice when it is
issued (`snapshot`), so that a reseller's new logo or a customer's move never changes an
invoice already sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.invoicing.document import Branding, Customer

from ..ledger.tables import entities
from ..subscribers.resellers import Branding as ResellerBranding
from ..subscribers.tables import resellers

DEFAULT_COLOUR = "#1f4e79"


def isp_branding(name: str, attributes: Mapping[str, Any]) -> Branding:
    """The ISP's own branding, from its ledger entity (name and `branding` attributes)."""
    given = attributes.get("branding", {})
    if not isinstance(given, Mapping):
        given = {}
    return Branding(
        name=str(given.get("name") or name),
        address_lines=tuple(str(line) for line in given.get("address_lines", ())),
        colour=str(given.get("colour") or DEFAULT_COLOUR),
        support_contact=str(given.get("support_contact") or f"{name} customer care"),
        logo_url=given.get("logo_url"),
        tax_id=given.get("tax_id"),
    )


def reseller_branding(name: str, branding: ResellerBranding, isp: Branding) -> Branding:
    contact = " · ".join(part for part in (branding.support_email, branding.support_phone) if part)
    return Branding(
        name=branding.name or name,
        address_lines=(),
        colour=branding.primary_colour or isp.colour,
        support_contact=contact or isp.support_contact,
        logo_url=branding.logo_url,
        tax_id=None,
    )


async def load_sellers(conn: AsyncConnection) -> tuple[Branding, dict[int, Branding]]:
    """The ISP's branding, and each reseller's by `resellers.id`."""
    isp_row = (await conn.execute(select(entities.c.name, entities.c.attributes).where(entities.c.kind == "isp"))).one()
    isp = isp_branding(isp_row.name, isp_row.attributes)
    rows = await conn.execute(
        select(resellers.c.id, resellers.c.branding, entities.c.name).join(
            entities, entities.c.id == resellers.c.entity_id
        )
    )
    return isp, {row.id: reseller_branding(row.name, ResellerBranding.from_json(row.branding), isp) for row in rows}


def customer_lines(
    lines: Sequence[str], postal_code: str | None, city: str | None, state: str | None, country: str
) -> tuple[str, ...]:
    place = " ".join(part for part in (postal_code, city) if part)
    tail = ", ".join(part for part in (place, state, country) if part)
    return (*lines, tail)


def snapshot(seller: Branding, customer: Customer) -> dict[str, Any]:
    return {
        "seller": {
            "name": seller.name,
            "address_lines": list(seller.address_lines),
            "colour": seller.colour,
            "support_contact": seller.support_contact,
            "logo_url": seller.logo_url,
            "tax_id": seller.tax_id,
        },
        "customer": {
            "name": customer.name,
            "account_code": customer.account_code,
            "address_lines": list(customer.address_lines),
        },
    }


def from_snapshot(document: Mapping[str, Any]) -> tuple[Branding, Customer]:
    seller, customer = document["seller"], document["customer"]
    return (
        Branding(
            name=seller["name"],
            address_lines=tuple(seller["address_lines"]),
            colour=seller["colour"],
            support_contact=seller["support_contact"],
            logo_url=seller["logo_url"],
            tax_id=seller["tax_id"],
        ),
        Customer(
            name=customer["name"],
            account_code=customer["account_code"],
            address_lines=tuple(customer["address_lines"]),
        ),
    )
