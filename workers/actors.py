"""Bureau's actors. Each is a thin wrapper over one service (STYLE.md): it takes ids and
primitives, finds the tenant with `current_tenant()` where it needs one, and calls the
service. Import this module before `app.build` so that the worker knows them all."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.billing.dunning import run_dunning
from bureau.platform.billing.period import parse_period, require_closed
from bureau.platform.billing.run import BILL_MONTH_ACTOR, bill_run
from bureau.platform.crypto.keys import secret_box
from bureau.platform.provisioning.changes import EXPORT_ACTOR
from bureau.platform.provisioning.export import Failed, export_each
from bureau.platform.provisioning.formats.base import FormatError, OptionsError
from bureau.platform.provisioning.reconcile import reconcile_all
from bureau.platform.provisioning.targets import TargetError
from bureau.platform.sessions.control import reap
from bureau.platform.settings import exports_root
from bureau.platform.vouchers.batches import expire_vouchers as expire_batches
from bureau.tenants.routing import tenant_unit

from . import runtime
from .registry import actor
from .retries import PermanentFailure
from .tenancy import current_tenant, send_for_tenant

PROVISIONING_QUEUE = "provisioning"
SCHEDULED_QUEUE = "scheduled"
STALE_SESSION = timedelta(seconds=3 * 300)  # three missed Interim-Updates at the RADIUS server's default interval
MAX_EXPIRY_ROUNDS = 100


@actor()
def ping() -> None:
    """Does nothing: for benchmarks and checks that a broker and a worker are alive."""


@actor(queue_name=PROVISIONING_QUEUE, actor_name=EXPORT_ACTOR)
def export_tenant() -> None:
    """Export every enabled target of the message's tenant from the current state.

    Idempotent: targets are exported whole from the state at the time the job runs, each
    in its own transaction. If one fails, the others are still exported and the job
    fails afterwards: a target that is down (a directory that does not answer) is
    retried with the job; a state that cannot be rendered (two services mapping to one
    Unix name, say) will not render on a retry either, and goes to the dead letters at once.
    """
    tenant = current_tenant()
    settings = runtime.runtime().settings
    box, root = secret_box(settings), exports_root(settings, tenant.slug)
    commands = settings.provisioning_commands
    results = runtime.run(
        lambda engine: export_each(
            partial(tenant_unit, engine, tenant, actor="worker"), box, root, commands_dir=commands
        )
    )
    failed = [r for r in results if isinstance(r, Failed)]
    if not failed:
        return
    summary = "; ".join(f"{f.target}: {f.error}" for f in failed)
    if all(isinstance(f.error, (FormatError, TargetError, OptionsError)) for f in failed):
        raise PermanentFailure(f"tenant {tenant.slug}: {summary}")
    raise ExportFailed(f"tenant {tenant.slug}: {summary}") from failed[0].error


class ExportFailed(RuntimeError):
    """Some targets could not be exported now; the job is retried."""


@actor(queue_name=SCHEDULED_QUEUE)
def reap_sessions(period: str) -> None:
    """Abort the tenant's RADIUS sessions that stopped reporting (charged as reported)."""
    tenant = current_tenant()

    async def job(engine: AsyncEngine) -> None:
        async with tenant_unit(engine, tenant, actor="scheduler") as conn:
            await reap(conn, datetime.now(UTC), idle=STALE_SESSION)

    runtime.run(job)


@actor(queue_name=SCHEDULED_QUEUE)
def expire_vouchers(period: str) -> None:
    """Expire the tenant's vouchers past their date (breakage to revenue), batch by batch."""
    tenant = current_tenant()

    async def job(engine: AsyncEngine) -> None:
        for _ in range(MAX_EXPIRY_ROUNDS):
            async with tenant_unit(engine, tenant, actor="scheduler") as conn:
                if not (await expire_batches(conn, datetime.now(UTC))).more:
                    return

    runtime.run(job)


@actor(queue_name=SCHEDULED_QUEUE)
def reconcile_tenant(period: str) -> None:
    """Nightly: compare every target with billing and fix what the targets' policies allow."""
    tenant = current_tenant()
    settings = runtime.runtime().settings
    box, root = secret_box(settings), exports_root(settings, tenant.slug)

    async def job(engine: AsyncEngine) -> None:
        async with tenant_unit(engine, tenant, actor="scheduler") as conn:
            await reconcile_all(conn, box, root, fix=True, commands_dir=settings.provisioning_commands)

    runtime.run(job)


@actor(queue_name=SCHEDULED_QUEUE, actor_name=BILL_MONTH_ACTOR, time_limit=6 * 3_600_000)
def bill_month(period: str) -> None:
    """Month-end: bill the month before `period` ("2026-12" bills November). Billing months
    are UTC months; a tenant east of UTC reaches its local month-end first, so the job
    waits (re-sent with a delay) until the month is over in UTC too."""
    tenant = current_tenant()
    month = parse_period(period).previous()
    now = datetime.now(UTC)
    if now < month.ends_at:
        send_for_tenant(bill_month, tenant, period, delay=int((month.ends_at - now).total_seconds() * 1000) + 1000)
        return
    require_closed(month, now)
    runtime.run(lambda engine: bill_run(partial(tenant_unit, engine, tenant, actor="scheduler"), month))


@actor(queue_name=SCHEDULED_QUEUE, time_limit=3_600_000)
def dun_customers(period: str) -> None:
    """Daily: take the dunning steps due on the tenant's local date `period` (reminders,
    suspensions); payments restore services as they are recorded, not here only."""
    tenant = current_tenant()
    today = date.fromisoformat(period)
    runtime.run(lambda engine: run_dunning(partial(tenant_unit, engine, tenant, actor="scheduler"), today))
