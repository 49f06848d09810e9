"""Bureau's actors. Each is a thin wrapper over one service (STYLE.md): it takes ids and
primitives, finds the tenant with `current_tenant()` where it needs one, and calls the
service. Import this module before `app.build` so that the worker knows them all."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.platform.crypto.keys import secret_box
from bureau.platform.provisioning.changes import EXPORT_ACTOR
from bureau.platform.provisioning.export import export_all
from bureau.platform.provisioning.formats.base import FormatError
from bureau.platform.provisioning.targets import TargetError
from bureau.platform.settings import exports_root
from bureau.tenants.routing import tenant_unit

from . import runtime
from .registry import actor
from .retries import PermanentFailure
from .tenancy import current_tenant

PROVISIONING_QUEUE = "provisioning"


@actor()
def ping() -> None:
    """Does nothing: for benchmarks and checks that a broker and a worker are alive."""


@actor(queue_name=PROVISIONING_QUEUE, actor_name=EXPORT_ACTOR)
def export_tenant() -> None:
    """Export every enabled target of the message's tenant from the current state.

    Idempotent: files are rendered whole from the state at the time the job runs. A
    state that cannot be rendered (two services mapping to one Unix name, say) will not
    render on a retry either: it goes to the dead letters at once.
    """
    tenant = current_tenant()
    settings = runtime.runtime().settings
    box, root = secret_box(settings), exports_root(settings, tenant.slug)

    async def job(engine: AsyncEngine) -> None:
        async with tenant_unit(engine, tenant, actor="worker") as conn:
            await export_all(conn, box, root)

    try:
        runtime.run(job)
    except (FormatError, TargetError) as exc:
        raise PermanentFailure(f"tenant {tenant.slug}: {exc}") from exc
