"""The NAS registry: one owner per address range in the installation, secrets sealed,
lookups by source address."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import select

from bureau.platform.crypto.secretbox import SecretBox
from bureau.platform.nas.registry import NasError, add_nas, list_nas, nas_clients, remove_nas
from bureau.tenants.nas import load_nas_routes
from bureau.tenants.routing import tenant_unit

BOX = SecretBox(SecretBox.generate_key())
_nets = itertools.count(1)


def _net() -> str:
    """A /24 no other test in the run uses (the registry is installation-wide)."""
    return f"10.{200 + next(_nets) // 250}.{next(_nets) % 250}.0/24"


async def test_nas_is_registered_sealed_and_found_by_source_address(engine: Any, make_tenant: Any) -> None:
    tenant = await make_tenant("nas")
    net = _net()
    async with tenant_unit(engine, tenant.ref) as conn:
        made = await add_nas(conn, BOX, name="core", address=net, secret="testing123", coa_port=3799)
        await add_nas(conn, BOX, name="edge", address="2001:db8:77::/64", secret="another-secret")
        listed = [n.name for n in await list_nas(conn)]
        stored = (await conn.execute(select(nas_clients.c.secret_sealed).where(nas_clients.c.id == made.id))).scalar()
    assert listed == ["core", "edge"]
    assert b"testing123" not in stored
    table = await load_nas_routes(engine, BOX)
    host = net.replace(".0/24", ".9")
    route = table.find(host)
    assert route is not None and route.tenant == tenant.ref and route.secret == b"testing123"
    assert table.find("2001:db8:77::1") is not None
    assert table.find("198.51.100.1") is None
    assert table.find("not an address") is None
    async with tenant_unit(engine, tenant.ref) as conn:
        await remove_nas(conn, "edge")
        with pytest.raises(NasError, match="no NAS named"):
            await remove_nas(conn, "edge")


async def test_an_overlapping_range_is_refused_without_naming_its_owner(engine: Any, make_tenant: Any) -> None:
    first = await make_tenant("nas")
    second = await make_tenant("nas")
    net = _net()
    async with tenant_unit(engine, first.ref) as conn:
        await add_nas(conn, BOX, name="core", address=net, secret="testing123")
    with pytest.raises(NasError, match="overlaps") as refused:
        async with tenant_unit(engine, second.ref) as conn:
            await add_nas(conn, BOX, name="mine", address=net.replace(".0/24", ".5"), secret="testing123")
    assert first.slug not in str(refused.value)


@pytest.mark.parametrize(
    ("address", "secret", "message"),
    [
        ("10.1.2.3/24", "testing123", "not an IP address"),
        ("nope", "testing123", "not an IP"),
        ("10.9.9.9", "short", "8 to"),
    ],
)
async def test_bad_nas_values_are_refused(
    engine: Any, make_tenant: Any, address: str, secret: str, message: str
) -> None:
    tenant = await make_tenant("nas")
    with pytest.raises(NasError, match=message):
        async with tenant_unit(engine, tenant.ref) as conn:
            await add_nas(conn, BOX, name="x", address=address, secret=secret)
