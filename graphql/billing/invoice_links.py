"""The download behind an invoice PDF link: GET /invoices/<number>.pdf?t=<token>.

It holds no API key, so the token is everything: it names the tenant, and its MAC
(`platform.billing.links`) binds that tenant, the invoice number and the expiry. Any
failure (no secret key configured, a bad, tampered or expired token, a suspended
tenant, an invoice that is not there) is the same bare 404, so a prober learns nothing
of which it was.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bureau.platform.billing.errors import InvoiceNotFound
from bureau.platform.billing.invoices import invoice_document
from bureau.platform.billing.links import check_token, link_key
from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.invoicing.render import invoice_pdf
from bureau.tenants.routing import TenantRef, tenant_unit
from bureau.tenants.tables import tenants

ACTOR = "invoice-pdf-link"


def _missing() -> Response:
    return PlainTextResponse("Not Found", status_code=404, headers={"Cache-Control": "no-store"})


async def _active_tenant(engine: AsyncEngine, tenant_id: int) -> TenantRef | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(tenants.c.id, tenants.c.slug).where(tenants.c.id == tenant_id, tenants.c.status == "active")
            )
        ).first()
    return TenantRef(row.id, row.slug) if row is not None else None


def invoice_pdf_route(engine: AsyncEngine, box: SecretBox | None) -> Route:
    """The route; without a secret key no link can be checked, so every request is a 404."""
    key = link_key(box) if box is not None else None

    async def download(request: Request) -> Response:
        number: str = request.path_params["number"]
        tenant_id = check_token(key, number, request.query_params.get("t", "")) if key is not None else None
        tenant = await _active_tenant(engine, tenant_id) if tenant_id is not None else None
        if tenant is None:
            return _missing()
        try:
            async with tenant_unit(engine, tenant, actor=ACTOR) as conn:
                document = await invoice_document(conn, number)
        except InvoiceNotFound:
            return _missing()
        pdf = await run_in_threadpool(invoice_pdf, document)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{number}.pdf"', "Cache-Control": "private, no-store"},
        )

    return Route("/invoices/{number}.pdf", download, methods=["GET"], name="invoice_pdf")
