"""Bureau's actors. Each is a thin wrapper over one service (STYLE.md): it takes ids and
primitives, finds the tenant with `current_tenant()` where it needs one, and calls the
service. Import this module before `app.build` so that the worker knows them all."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
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
from bureau.platform.provisioning.jobs import record_done, record_failure
from bureau.platform.provisioning.reconcile import reconcile_all
from bureau.platform.provisioning.targets import TargetError
from bureau.platform.sessions.control import reap
from bureau.platform.settings import exports_root
from bureau.platform.vouchers.batches import expire_vouchers as expire_batches
from bureau.tenants.routing import TenantRef, tenant_unit

from . import runtime
from .registry import actor
from .relay import relayed_from
from .retries import PermanentFailure
from .tenancy import current_tenant, send_for_tenant

PROVISIONING_QUEUE = "provisioning"
SCHEDULED_QUEUE = "scheduled"
STALE_SESSION = timedelta(seconds=3 * 300)  # three missed Interim-Updates at the RADIUS server's default interval
MAX_EXPIRY_ROUNDS = 100

log = logging.getLogger(__name__)


@actor()
def ping() -> None:
    """Does nothing: for benchmarks and checks that a broker and a worker are alive."""


class ExportFailed(RuntimeError):
    """Some targets could not be exported now; the job is retried."""

    def __init__(self, tenant: str, summary: str) -> None:
        super().__init__(f"tenant {tenant}: {summary}")
        self.summary = summary  # each failed target and its error, as the job's outcome shows it


class ExportRefused(PermanentFailure):
    """The state cannot be exported to some targets as they are configured; a retry would not help."""

    def __init__(self, tenant: str, summary: str) -> None:
        super().__init__(f"tenant {tenant}: {summary}")
        self.summary = summary


@actor(queue_name=PROVISIONING_QUEUE, actor_name=EXPORT_ACTOR)
def export_tenant(target: str | None = None) -> None:
    """Export every enabled target of the message's tenant (or only `target`, if it is
    still enabled) from the current state.

    Idempotent: targets are exported whole from the state at the time the job runs, each
    in its own transaction. If one fails, the others are still exported and the job
    fails afterwards: a target that is down (a directory that does not answer) is
    retried with the job; a state that cannot be rendered (two services mapping to one
    Unix name, say) will not render on a retry either, and goes to the dead letters at once.
    The job's outcome is recorded under its outbox id (`jobs.py`).
    """
    tenant = current_tenant()
    job = relayed_from()
    settings = runtime.runtime().settings
    box, root = secret_box(settings), exports_root(settings, tenant.slug)
    commands = settings.provisioning_commands
    with _outcome_on_failure(tenant, job):
        results = runtime.run(
            lambda engine: export_each(
                partial(tenant_unit, engine, tenant, actor="worker"),
                box,
                root,
                commands_dir=commands,
                only=target,
                job=job,
            )
        )
        failed = [r for r in results if isinstance(r, Failed)]
        if not failed:
            return
        summary = "; ".join(f"{f.target}: {f.error}" for f in failed)
        if all(isinstance(f.error, (FormatError, TargetError, OptionsError)) for f in failed):
            raise ExportRefused(tenant.slug, summary)
        raise ExportFailed(tenant.slug, summary) from failed[0].error


@contextmanager
def _outcome_on_failure(tenant: TenantRef, job: int | None) -> Iterator[None]:
    """Record the job (an outbox id; None: not relayed, nothing to record) as failed when
    its actor raises, in a transaction of its own: the work's was rolled back."""
    try:
        yield
    except Exception as error:
        if job is not None:
            _record_failure(tenant, job, error)
        raise


def _record_failure(tenant: TenantRef, job: int, error: Exception) -> None:
    """Target errors are shown as they are (they name the target, never its secret);
    anything else only by its kind, the details being the operator's (logs, dead letters)."""
    if isinstance(error, (ExportFailed, ExportRefused)):
        shown = error.summary
    else:
        shown = f"unexpected error ({type(error).__name__}); the operator's logs have the details"

    async def record(engine: AsyncEngine) -> None:
        async with tenant_unit(engine, tenant, actor="worker") as conn:
            await record_failure(conn, job, shown)

    try:
        runtime.run(record)
    except Exception:  # the job's own failure matters more: it goes on to retries and dead letters
        log.exception("could not record the failure of job %s of tenant %s", job, tenant.slug)


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
    """Nightly (or on request): compare every target with billing and fix what the
    targets' policies allow. The job's outcome is recorded under its outbox id."""
    tenant = current_tenant()
    job = relayed_from()
    settings = runtime.runtime().settings
    box, root = secret_box(settings), exports_root(settings, tenant.slug)

    async def work(engine: AsyncEngine) -> None:
        async with tenant_unit(engine, tenant, actor="scheduler") as conn:
            await reconcile_all(conn, box, root, fix=True, commands_dir=settings.provisioning_commands)
            if job is not None:
                await record_done(conn, job)

    with _outcome_on_failure(tenant, job):
        runtime.run(work)


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
