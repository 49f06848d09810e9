"""Provisioning queries: the tenant's export targets, its provisioning jobs and its stored
reconciliation runs.

Provisioning is the ISP's back office: any ISP key reads it, reseller keys are refused
by permission. Everything is read in the caller's tenant unit, so another tenant's
targets, jobs and runs do not exist here.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from bureau.platform.provisioning import listing
from bureau.platform.provisioning.targets import Target, TargetNotFound, get_target, list_targets

from ..errors import NotFound
from ..pagination import DEFAULT_PAGE, Connection, after_key, connection, page_size
from ..permissions import IsIspStaff
from .types import ProvisioningJob, ProvisioningJobState, ProvisioningTarget, Reconciliation

ProvisioningTargetResult = Annotated[ProvisioningTarget | NotFound, strawberry.union("ProvisioningTargetResult")]
JOB_CURSOR = "provisioning_job"
RECONCILIATION_CURSOR = "reconciliation"


async def shown(conn: AsyncConnection, found: list[Target]) -> list[ProvisioningTarget]:
    """Targets as the API shows them, with their times and latest exports (one read for all)."""
    details = await listing.target_details(conn, [target.id for target in found])
    return [ProvisioningTarget.of(target, details[target.id]) for target in found]


@strawberry.type
class ProvisioningQueries:
    @strawberry.field(permission_classes=[IsIspStaff], description="The tenant's export targets, by name.")
    async def provisioning_targets(self, info: Info[Any, Any]) -> list[ProvisioningTarget]:
        async with info.context.unit() as conn:
            return await shown(conn, await list_targets(conn))

    @strawberry.field(permission_classes=[IsIspStaff], description="One export target by name.")
    async def provisioning_target(self, info: Info[Any, Any], name: str) -> ProvisioningTargetResult:
        try:
            async with info.context.unit() as conn:
                (target,) = await shown(conn, [await get_target(conn, name)])
                return target
        except TargetNotFound as exc:
            return NotFound(message=str(exc))

    @strawberry.field(
        permission_classes=[IsIspStaff],
        description="The tenant's provisioning jobs (export and reconcile messages for the workers), newest first.",
    )
    async def provisioning_jobs(
        self,
        info: Info[Any, Any],
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        state: ProvisioningJobState | None = None,
    ) -> Connection[ProvisioningJob]:
        size = page_size(first)
        key = after_key(JOB_CURSOR, after)
        wanted = listing.JobState(state.value) if state is not None else None
        async with info.context.unit() as conn:
            page = await listing.job_page(conn, before_id=key, limit=size + 1, state=wanted)
        return connection(page, size, JOB_CURSOR, lambda job: job.id, ProvisioningJob.of)

    @strawberry.field(
        permission_classes=[IsIspStaff],
        description="Stored reconciliation runs (the nightly job's and those started on request), newest first.",
    )
    async def reconciliations(
        self, info: Info[Any, Any], first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[Reconciliation]:
        size = page_size(first)
        key = after_key(RECONCILIATION_CURSOR, after)
        async with info.context.unit() as conn:
            page = await listing.reconciliation_page(conn, before_id=key, limit=size + 1)
        return connection(page, size, RECONCILIATION_CURSOR, lambda run: run.id, Reconciliation.of)
