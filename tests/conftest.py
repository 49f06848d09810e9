"""Shared fixtures: a real PostgreSQL for the whole run, migrated once.

The server is the embedded one (a fresh cluster in a temporary folder) unless
BUREAU_TEST_DATABASE_URL names a server to use; either way the run gets a database of
its own, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.crypto.unix_crypt import sha512_crypt
from bureau.platform.db.embedded import EmbeddedPostgres
from bureau.platform.db.engine import create_engine
from bureau.platform.provisioning.accounts import Account, AccountState
from bureau.tenants import lifecycle, migrate

TenantFactory = Callable[..., Awaitable[lifecycle.Tenant]]


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Admin URL of a PostgreSQL server for this test run."""
    given = os.environ.get("BUREAU_TEST_DATABASE_URL")
    if given:
        yield given
        return
    folder: Path = tmp_path_factory.mktemp("pg")
    with EmbeddedPostgres(folder) as server:
        yield server.admin_url


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A database created for this run (and dropped after it)."""
    name = f"bureau_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url)
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    yield url
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the run's database, with the shared schema migrated."""
    eng = create_engine(database_url, pool_size=20)
    report = await migrate.migrate_all(eng)
    assert report.ok, report.failed
    yield eng
    await eng.dispose()


@pytest.fixture
async def make_tenant(engine: AsyncEngine) -> TenantFactory:
    """Create a tenant with a unique slug (prefix it by the test's purpose)."""

    async def make(prefix: str = "t", *, currency: str = "USD", name: str | None = None) -> lifecycle.Tenant:
        slug = f"{prefix}_{uuid.uuid4().hex[:8]}"
        return await lifecycle.create_tenant(
            engine, slug, name=name or f"Tenant {slug}", currency=currency, actor="test"
        )

    return make


LedgerCheck = Callable[[lifecycle.Tenant], Awaitable[None]]


@pytest.fixture
def assert_ledger_sound(engine: AsyncEngine) -> LedgerCheck:
    """The ledger invariants every money-moving test ends with: every entry balances
    and matches its content hash, every balance equals the sum of its postings, and
    no guarded (prepaid) balance is below its floor."""
    from bureau.platform.ledger.check import check_ledger
    from bureau.tenants.routing import tenant_unit

    async def check(tenant: lifecycle.Tenant) -> None:
        async with tenant_unit(engine, tenant.ref) as conn:
            report = await check_ledger(conn)
        assert report.ok, report.problems

    return check


# --- Provisioning accounts: the one builder of the unit and integration provisioning tests ---
# Test modules import these names with `from tests.conftest import HASH, MakeAccount`.

MakeAccount = Callable[..., Account]
# SHA-512 crypt(3) of "Hello world!" with salt "saltstring": the first example of the specification.
HASH = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"


def build_account(
    login: str,
    *,
    kind: str = "radius_login",
    service_id: int = 1,
    suspended: bool = False,
    name: str = "Alice Example",
    email: str = "alice@example.net",
    plan: str = "basic",
    password: str | None = None,
    password_crypt: str | None = HASH,
    quota_mb: int | None = None,
    customer_id: int = 7,
) -> Account:
    """An account with its uid at 10 000 + service id; a `password`, when given, replaces
    `password_crypt` by its SHA-512 crypt with salt "salt<service id>"."""
    return Account(
        service_id=service_id,
        customer_id=customer_id,
        kind=kind,
        login=login,
        state=AccountState.SUSPENDED if suspended else AccountState.ACTIVE,
        uid=10_000 + service_id,
        name=name,
        email=email,
        plan=plan,
        password_crypt=password_crypt if password is None else sha512_crypt(password, f"salt{service_id}"),
        quota_mb=quota_mb,
    )


@pytest.fixture(scope="session")  # stateless, so hypothesis tests may use it too
def account() -> MakeAccount:
    """`build_account`: each test states only what matters to it."""
    return build_account
