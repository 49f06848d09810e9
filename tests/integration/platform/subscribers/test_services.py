"""Services: logins and realms, the state machine, plans and passwords, on real PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bureau.platform.audit.tables import audit_log
from bureau.platform.catalog.errors import NotFound as PlanNotFound
from bureau.platform.crypto.passwords import verify_password
from bureau.platform.crypto.secretbox import SecretBox, SecretBoxError
from bureau.platform.subscribers.customers import Address, create_customer
from bureau.platform.subscribers.errors import (
    Duplicate,
    InvalidStateChange,
    InvalidSubscriberValue,
    NotFound,
    PlanNotAllowedForReseller,
    RealmMismatch,
)
from bureau.platform.subscribers.resellers import add_realm, allow_plan, create_reseller
from bureau.platform.subscribers.services import (
    ServiceState,
    add_service,
    change_plan,
    change_service_state,
    get_service,
    reset_password,
    secret_context,
)
from bureau.platform.subscribers.tables import services

PASSWORD = "Tr0ub4dor&3"


@pytest.fixture
async def alice(shop):
    """Alice, an ISP customer, and Bob, a NorthNet customer, with their realms."""
    async with shop.unit() as conn:
        await add_realm(conn, shop.demo)
        await create_reseller(conn, code="northnet", name="NorthNet", realms=[shop.northnet])
        await allow_plan(conn, "northnet", "dsl-10")
        await create_customer(conn, code="alice", name="Alice", email="alice@example.com", address=Address("US"))
        await create_customer(
            conn, code="bob", name="Bob", email="bob@example.com", address=Address("US"), reseller="northnet"
        )
    return shop


async def add_login(shop, customer: str = "alice", login: str | None = None, plan: str = "dsl-10"):
    """Add a RADIUS login, by default alice@ the shop's own realm (see `Shop.demo`)."""
    async with shop.unit() as conn:
        return await add_service(
            conn, shop.box, customer=customer, kind="radius_login", login=login or f"alice@{shop.demo}", plan=plan,
            password=PASSWORD,
        )  # fmt: skip


async def test_a_password_is_stored_hashed_and_sealed_never_in_plain(alice, assert_ledger_sound) -> None:
    service = await add_login(alice)
    async with alice.unit() as conn:
        row = (await conn.execute(select(services).where(services.c.id == service.id))).one()
        audit_text = str((await conn.execute(select(audit_log.c.details))).scalars().all())
    assert row.password_hash.startswith("$argon2id$") and verify_password(row.password_hash, PASSWORD)
    assert PASSWORD not in row.password_hash
    assert PASSWORD.encode() not in row.password_secret
    assert PASSWORD not in str(row._mapping.values())
    assert PASSWORD not in audit_text
    context = secret_context("radius_login", f"alice@{alice.demo}")
    assert alice.box.decrypt(row.password_secret, context) == PASSWORD.encode()
    with pytest.raises(SecretBoxError):
        SecretBox(SecretBox.generate_key(), key_id=1).decrypt(row.password_secret, context)
    await assert_ledger_sound(alice.tenant)


async def test_a_new_service_is_pending_on_its_plan_with_the_realm_lower_cased(alice, assert_ledger_sound) -> None:
    service = await add_login(alice, login=f"alice@{alice.demo.title()}")
    assert (service.login, service.plan, service.state) == (f"alice@{alice.demo}", "dsl-10", ServiceState.PENDING)
    async with alice.unit() as conn:
        assert await get_service(conn, service.id) == service
    await assert_ledger_sound(alice.tenant)


async def test_a_login_is_taken_once_per_kind(alice) -> None:
    await add_login(alice)
    with pytest.raises(Duplicate, match=rf"radius_login 'alice@{re.escape(alice.demo)}' is already taken"):
        await add_login(alice, login=f"alice@{alice.demo.title()}")
    async with alice.unit() as conn:
        mailbox = await add_service(
            conn, alice.box, customer="alice", kind="mailbox", login=f"alice@{alice.demo}", plan="dsl-10"
        )
    assert mailbox.kind == "mailbox"


async def test_a_login_in_another_resellers_realm_is_refused(alice) -> None:
    with pytest.raises(RealmMismatch) as refused:
        await add_login(alice, customer="bob", login=f"bob@{alice.demo}")
    assert str(refused.value) == (
        f"realm {alice.demo!r} belongs to the ISP itself, but customer C000002 is sold by reseller 'northnet'; "
        "use a realm of reseller 'northnet'"
    )
    with pytest.raises(RealmMismatch, match="belongs to reseller 'northnet', but customer C000001"):
        await add_login(alice, login=f"alice@{alice.northnet}")
    assert (await add_login(alice, customer="bob", login=f"bob@{alice.northnet}")).customer_number == "C000002"


async def test_a_login_in_an_unknown_realm_or_without_one_is_refused(alice) -> None:
    known = re.escape(f"known realms: {alice.demo}, {alice.northnet}")
    with pytest.raises(NotFound, match=rf"realm 'nowhere.example' is not known; {known}"):
        await add_login(alice, login="alice@nowhere.example")
    with pytest.raises(InvalidSubscriberValue, match="must be user@realm"):
        await add_login(alice, login="alice")


async def test_a_radius_login_needs_a_password_and_an_existing_plan(alice) -> None:
    with pytest.raises(InvalidSubscriberValue, match="needs a password"):
        async with alice.unit() as conn:
            await add_service(
                conn, alice.box, customer="alice", kind="radius_login", login=f"a@{alice.demo}", plan="dsl-10"
            )
    with pytest.raises(PlanNotFound, match="no plan has code 'platinum'"):
        await add_login(alice, plan="platinum")
    with pytest.raises(InvalidSubscriberValue, match="service kind 'ssh'"):
        async with alice.unit() as conn:
            await add_service(conn, alice.box, customer="alice", kind="ssh", login="alice", plan="dsl-10")


async def test_the_service_state_machine_allows_only_its_moves(alice) -> None:
    service = await add_login(alice)
    async with alice.unit() as conn:
        for state in ("active", "suspended", "active", "suspended"):
            assert (await change_service_state(conn, service.id, state)).state == state
    with pytest.raises(InvalidStateChange) as refused:
        async with alice.unit() as conn:
            await change_service_state(conn, service.id, "pending")
    assert str(refused.value) == (
        f"service {service.id} (alice@{alice.demo}) cannot move from suspended to pending; allowed: active, cancelled"
    )
    async with alice.unit() as conn:
        await change_service_state(conn, service.id, ServiceState.CANCELLED)
    with pytest.raises(InvalidStateChange, match="allowed: none \\(cancelled is final\\)"):
        async with alice.unit() as conn:
            await change_service_state(conn, service.id, "active")
    async with alice.unit() as conn:
        moves = (
            (await conn.execute(select(audit_log.c.details).where(audit_log.c.action == "subscribers.service.state")))
            .scalars()
            .all()
        )
    assert [m["after"] for m in moves] == ["active", "suspended", "active", "suspended", "cancelled"]


async def test_a_pending_service_cannot_be_suspended(alice) -> None:
    service = await add_login(alice)
    with pytest.raises(InvalidStateChange, match="from pending to suspended; allowed: active, cancelled"):
        async with alice.unit() as conn:
            await change_service_state(conn, service.id, "suspended")


async def test_a_plan_change_obeys_the_reseller_and_not_after_cancellation(alice) -> None:
    bobs = await add_login(alice, customer="bob", login=f"bob@{alice.northnet}")
    with pytest.raises(
        PlanNotAllowedForReseller, match="plan 'gold-10' is not sold by reseller 'northnet'; allowed: dsl-10"
    ):
        async with alice.unit() as conn:
            await change_plan(conn, bobs.id, "gold-10")
    async with alice.unit() as conn:
        await allow_plan(conn, "northnet", "gold-10")
        assert (await change_plan(conn, bobs.id, "gold-10")).plan == "gold-10"
        await change_service_state(conn, bobs.id, "cancelled")
    with pytest.raises(InvalidStateChange, match="is cancelled; its plan cannot change"):
        async with alice.unit() as conn:
            await change_plan(conn, bobs.id, "dsl-10")


async def test_a_password_reset_replaces_hash_and_secret(alice) -> None:
    service = await add_login(alice)
    async with alice.unit() as conn:
        before = (await conn.execute(select(services).where(services.c.id == service.id))).one()
        await reset_password(conn, alice.box, service.id, "n3w-password")
        after = (await conn.execute(select(services).where(services.c.id == service.id))).one()
        details = (
            await conn.execute(
                select(audit_log.c.details).where(audit_log.c.action == "subscribers.service.reset_password")
            )
        ).scalar_one()
    assert verify_password(after.password_hash, "n3w-password") and not verify_password(after.password_hash, PASSWORD)
    assert after.password_secret != before.password_secret
    assert alice.box.decrypt(after.password_secret, secret_context("radius_login", service.login)) == b"n3w-password"
    assert "n3w-password" not in str(details)


async def test_a_service_locked_while_another_transaction_changes_its_plan_is_still_found(alice) -> None:
    """FOR UPDATE on the joined read would re-check the row against the old plan and lose it
    ("no service has id N"); the row is locked on its own first."""
    import asyncio

    service = await add_login(alice)
    changing = alice.unit()
    conn = await changing.__aenter__()
    try:
        await change_plan(conn, service.id, "gold-10")  # holds the row lock, not committed yet

        async def read() -> object:
            async with alice.unit() as other:
                return await get_service(other, service.id, for_update=True)

        waiting = asyncio.create_task(read())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # blocked on the lock
    finally:
        await changing.__aexit__(None, None, None)  # commit the plan change
    found = await asyncio.wait_for(waiting, 10)
    assert found.plan == "gold-10"
