"""Provisioning mutations (ISP admin keys): configure export targets, and queue an export
or a reconciliation for the workers.

Nothing is exported or reconciled inline: a request is a message in the tenant's outbox
(`platform/provisioning/jobs.py`), written in the request's transaction exactly as a
service change (export) or the nightly scheduler (reconcile) writes it, and relayed to
the same actors. An unsent message for the same work stands for a new one (the outbox
coalesces), so asking twice queues once.

A refused target names the value at fault (`TargetError.field`); the answer points at
the input field or argument of that name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from bureau.platform.provisioning import jobs
from bureau.platform.provisioning.targets import (
    TargetError,
    TargetNotFound,
    add_target,
    remove_target,
    set_target_enabled,
)

from ..errors import NotFound, ValidationError, invalid
from ..permissions import IsIspAdmin
from .queries import shown
from .types import ProvisioningJob, ProvisioningTarget, RemovedProvisioningTarget, UnbilledPolicy, invalid_argument

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


def _refused(exc: TargetError, given: AddProvisioningTargetInput) -> ValidationError:
    """The ValidationError for a target refused as configured: at the input field the
    platform names, else at the one its message is about (`errors.invalid`)."""
    return invalid(exc, to_camel_case(exc.field) if exc.field else None, given=given)


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
        except TargetError as exc:
            return _refused(exc, input)

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
        description="Queue an export of every enabled target, or of the enabled one named `target` only (the workers"
        " run it). An unsent export of the same target, or of every target, stands for a second request.",
    )
    async def start_provisioning(self, info: Info[Any, Any], target: str | None = None) -> StartProvisioningResult:
        try:
            async with info.context.unit() as conn:
                return ProvisioningJob.of(await jobs.queue_export(conn, target))
        except TargetNotFound as exc:
            return NotFound(message=str(exc))
        except TargetError as exc:  # the target is disabled (field "target"), or none is enabled
            if exc.field:
                return invalid_argument(to_camel_case(exc.field), str(exc))
            return invalid(exc)

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Queue a reconciliation of every enabled target and the RADIUS sessions, as the nightly job does"
        " (fixing what each target's policy allows); results appear in `reconciliations`.",
    )
    async def start_reconciliation(self, info: Info[Any, Any]) -> ProvisioningJob:
        async with info.context.unit() as conn:
            return ProvisioningJob.of(await jobs.queue_reconciliation(conn))


async def _set_enabled(info: Info[Any, Any], name: str, enabled: bool) -> ProvisioningTargetChange:
    try:
        async with info.context.unit() as conn:
            (target,) = await shown(conn, [await set_target_enabled(conn, name, enabled)])
            return target
    except TargetNotFound as exc:
        return NotFound(message=str(exc))
