"""Statements run straight on the driver inside a tenant unit (real PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Text, any_, bindparam, func, insert, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import IntegrityError

from bureau.platform.db import direct
from bureau.platform.db.arrays import id_array
from bureau.platform.ledger.tables import entities
from bureau.platform.sessions.tables import accounting_packets
from bureau.tenants.routing import tenant_unit

_entities_by_id = select(entities.c.id, entities.c.code).where(entities.c.id == any_(id_array("ids")))
_packet = (
    insert(accounting_packets)
    .from_select(
        ["nas_id", "received_at", "status_type", "attributes", "outcome"],
        select(
            bindparam("nas_id", type_=BigInteger),
            func.now(),
            literal_column("1"),
            func.unnest(bindparam("attributes", type_=ARRAY(JSONB))),
            bindparam("outcome", type_=Text),
        ),
    )
    .returning(accounting_packets.c.id, accounting_packets.c.attributes)
)
_duplicate_isp = insert(entities).from_select(
    ["kind", "code", "name", "currency", "prepaid"],
    select(entities.c.kind, entities.c.code, entities.c.name, entities.c.currency, entities.c.prepaid).where(
        entities.c.kind == literal_column("'isp'")
    ),
)


async def test_a_direct_statement_reads_the_tenants_own_rows_by_name_and_position(engine, make_tenant) -> None:
    one, other = await make_tenant("direct_a"), await make_tenant("direct_b")
    async with tenant_unit(engine, one.ref) as conn:
        mine = [row[0] for row in (await conn.execute(select(entities.c.id))).all()]
        rows = await direct.fetch(conn, _entities_by_id, {"ids": mine})
        assert sorted(row["id"] for row in rows) == sorted(mine)
        assert {row[1] for row in rows} == {row["code"] for row in rows}
    async with tenant_unit(engine, other.ref) as conn:  # the same ids in another schema: its own rows
        theirs = {row["id"] for row in await direct.fetch(conn, _entities_by_id, {"ids": mine})}
        assert theirs == {row[0] for row in (await conn.execute(select(entities.c.id))).all()} & set(mine)


async def test_a_direct_write_is_part_of_the_units_transaction(engine, make_tenant) -> None:
    tenant = await make_tenant("direct_tx")
    with pytest.raises(RuntimeError, match="undo"):
        async with tenant_unit(engine, tenant.ref) as conn:
            (row,) = await direct.fetch(conn, _packet, {"nas_id": 7, "attributes": [{"a": [1, "x"]}], "outcome": "t"})
            assert row["attributes"] == {"a": [1, "x"]}  # JSONB through SQLAlchemy's processors and codec
            raise RuntimeError("undo")
    async with tenant_unit(engine, tenant.ref) as conn:  # rolled back with the unit
        assert (await conn.execute(select(func.count()).select_from(accounting_packets))).scalar_one() == 0
        await direct.fetch(conn, _packet, {"nas_id": 7, "attributes": [{}, {}], "outcome": "kept"})
    async with tenant_unit(engine, tenant.ref) as conn:  # the first statement of a unit begins it
        assert (await conn.execute(select(func.count()).select_from(accounting_packets))).scalar_one() == 2


async def test_a_driver_error_is_raised_as_sqlalchemys_and_the_unit_rolls_back(engine, make_tenant) -> None:
    tenant = await make_tenant("direct_err")
    with pytest.raises(IntegrityError, match="duplicate key"):
        async with tenant_unit(engine, tenant.ref) as conn:
            await direct.fetch(conn, _packet, {"nas_id": 1, "attributes": [{}], "outcome": "lost"})
            await direct.fetch(conn, _duplicate_isp, {})
    async with tenant_unit(engine, tenant.ref) as conn:
        assert (await conn.execute(select(func.count()).select_from(accounting_packets))).scalar_one() == 0


def test_an_expanding_in_list_is_refused_with_the_reason(engine) -> None:
    statement = select(entities.c.id).where(entities.c.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="expanding IN list; bind an array"):
        direct.compile_for(statement, engine.dialect, frozenset({(None, "x")}))
