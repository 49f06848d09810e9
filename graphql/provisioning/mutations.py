"""Provisioning mutations (ISP admin keys): configure export targets, and queue an export
or a reconciliation for the workers.

Nothing is exported or reconciled inline: a request is a message in the tenant's outbox,
written in the request's transaction exactly as a service change (export) or the nightly
scheduler (reconcile) writes it, and relayed to the same actors. An unsent message for
the same work stands for a new one (the outbox coalesces), so asking twice queues once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.scalars import JSON
from strawberry.types import Info

from bureau.platform import outbox
from bureau.platform.provisioning.changes import EXPORT_ACTOR
from bureau.platform.provisioning.listing import RECONCILE_ACTOR, pending_job
from bureau.platform.provisioning.targets import (
    TargetError,
    TargetNotFound,
    add_target,
    check_folder,
    check_format,
    check_name,
    get_target,
    known_formats,
    list_targets,
    remove_target,
    set_target_enabled,
)

from ..errors import NotFound, ValidationError
from ..errors import invalid as refused_input
from ..permissions import IsIspAdmin
from .queries import shown
from .types import ProvisioningJob, ProvisioningTarget, RemovedProvisioningTarget, UnbilledPolicy, invalid

# The args and coalescing key of a reconciliation asked for by a person; the nightly
# job's are its period (platform/scheduled.py), so the two never stand for each other.
ON_REQUEST = "on-request"

AddProvisioningTargetResult = Annotated[
    ProvisioningTarget | ValidationError, strawberry.union("AddProvisioningTargetResult")
]
ProvisioningTargetChange = Annotated[ProvisioningTarget | NotFound, strawberry.union("ProvisioningTargetChange")]
RemoveProvisioningTargetResult = Annotated[
    RemovedProvisioningTarget | NotFound, strawberry.union("RemoveProvisioningTargetResult")
]
StartProvisioningResult = Annotated[
    ProvisioningJob | NotFound | ValidationError, strawberry.union("StartProvisioningResult")
]


@strawberry.input
class AddProvisioningTargetInput:
    name: str = strawberry.field(description="1 to 40 lower-case letters, digits, '_' or '-', starting with a letter.")
    format: str = strawberry.field(
        description="unix, bsd, erpcd, radius_users, sendmail, qmail, postfix, bind; "
        "ldap, radius_sql, command, webhook."
    )
    options: JSON | None = strawberry.field(default=None, description="The format's options as a JSON object.")
    folder: str | None = strawberry.field(
        default=None,
        description="Relative folder under the tenant's exports root, 1 to 4 parts (default: the name).",
    )
    on_unbilled: UnbilledPolicy = UnbilledPolicy.REMOVE
    secret: str | None = strawberry.field(
        default=None, description="Bind password or signing key: stored sealed, never shown again."
    )


def _options(given: AddProvisioningTargetInput) -> Mapping[str, Any]:
    """The options as given (any JSON: check_format refuses what is not an object)."""
    return cast(Mapping[str, Any], given.options if given.options is not None else {})


async def _refusal(conn: AsyncConnection, given: AddProvisioningTargetInput) -> ValidationError | None:
    """The first input field the platform would refuse, named by its path; None when each
    is acceptable (add_target checks them all again, in its own words)."""
    try:
        check_name(given.name)
    except TargetError as exc:
        return invalid("input.name", str(exc))
    if given.format not in known_formats():
        return invalid("input.format", f"unknown export format {given.format!r}; known: {', '.join(known_formats())}")
    try:
        check_format(given.format, _options(given))
    except TargetError as exc:
        return invalid("input.options", str(exc))
    folder = given.folder if given.folder is not None else given.name
    try:
        check_folder(folder)
    except TargetError as exc:
        return invalid("input.folder", str(exc))
    if given.secret is not None and not given.secret:
        return invalid("input.secret", "a target secret must be non-empty text; leave it out for no secret")
    from bureau.platform.provisioning.directories import DIRECTORIES  # loads ldap3 &c.: only when asked

    if given.secret is None and given.format in DIRECTORIES and DIRECTORIES[given.format].needs_secret:
        return invalid("input.secret", f"a {given.format} target needs a secret (a bind password or signing key)")
    for target in await list_targets(conn):
        if target.name == given.name:
            return invalid("input.name", f"a target named {given.name!r} already exists; each target needs its own")
        if target.folder == folder:
            return invalid("input.folder", f"target {target.name!r} already writes to folder {folder!r}")
    return None


@strawberry.type
class ProvisioningMutations:
    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Configure an export target (enabled); its first export is queued with it.",
    )
    async def add_provisioning_target(
        self, info: Info[Any, Any], input: AddProvisioningTargetInput
    ) -> AddProvisioningTargetResult:
        box = info.context.box if input.secret is not None else None
        try:
            async with info.context.unit() as conn:
                refused = await _refusal(conn, input)
                if refused is not None:
                    return refused
                made = await add_target(
                    conn,
                    input.name,
                    input.format,
                    _options(input),
                    folder=input.folder,
                    on_unbilled=input.on_unbilled.value,
                    secret=input.secret,
                    box=box,
                )
                (target,) = await shown(conn, [made])
                return target
        except TargetError as exc:  # a race the checks above could not see (a name taken meanwhile)
            return refused_input(exc, given=input)

    @strawberry.mutation(permission_classes=[IsIspAdmin], description="Export to this target again (queues an export).")
    async def enable_provisioning_target(self, info: Info[Any, Any], name: str) -> ProvisioningTargetChange:
        return await _set_enabled(info, name, True)

    @strawberry.mutation(permission_classes=[IsIspAdmin], description="Stop exporting to this target (its files stay).")
    async def disable_provisioning_target(self, info: Info[Any, Any], name: str) -> ProvisioningTargetChange:
        return await _set_enabled(info, name, False)

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Forget a target, its export history and reconciliations; the files it wrote stay.",
    )
    async def remove_provisioning_target(self, info: Info[Any, Any], name: str) -> RemoveProvisioningTargetResult:
        try:
            async with info.context.unit() as conn:
                await remove_target(conn, name)
        except TargetNotFound as exc:
            return NotFound(message=str(exc))
        return RemovedProvisioningTarget(name=name)

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Queue an export of every enabled target (the workers run it). `target` names one that must be"
        " among them; the job exports them all, as after any service change.",
    )
    async def start_provisioning(self, info: Info[Any, Any], target: str | None = None) -> StartProvisioningResult:
        try:
            async with info.context.unit() as conn:
                if target is not None:
                    if not (await get_target(conn, target)).enabled:
                        message = f"target {target!r} is disabled; enable it first (enableProvisioningTarget)"
                        return invalid("target", message)
                elif not await list_targets(conn, enabled_only=True):
                    return ValidationError(
                        message="no export target is enabled: add one (addProvisioningTarget) or enable one", fields=[]
                    )
                return await _queue(conn, EXPORT_ACTOR)
        except TargetNotFound as exc:
            return NotFound(message=str(exc))

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Queue a reconciliation of every enabled target and the RADIUS sessions, as the nightly job does"
        " (fixing what each target's policy allows); results appear in `reconciliations`.",
    )
    async def start_reconciliation(self, info: Info[Any, Any]) -> ProvisioningJob:
        async with info.context.unit() as conn:
            return await _queue(conn, RECONCILE_ACTOR, {"period": ON_REQUEST}, key=ON_REQUEST)


async def _set_enabled(info: Info[Any, Any], name: str, enabled: bool) -> ProvisioningTargetChange:
    try:
        async with info.context.unit() as conn:
            (target,) = await shown(conn, [await set_target_enabled(conn, name, enabled)])
            return target
    except TargetNotFound as exc:
        return NotFound(message=str(exc))


async def _queue(
    conn: AsyncConnection, actor: str, args: dict[str, Any] | None = None, *, key: str = ""
) -> ProvisioningJob:
    """Put the message in the outbox and answer with it (or with the unsent one that stands for it)."""
    await outbox.enqueue(conn, actor, args, key=key)
    job = await pending_job(conn, actor, key)
    if job is None:
        raise RuntimeError(f"the outbox holds no unsent {actor} message right after queueing one")
    return ProvisioningJob.of(job)
