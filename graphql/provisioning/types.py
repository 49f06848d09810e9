"""Export targets, provisioning jobs and reconciliation runs as the API shows them (built
from domain values). A target's secret is write-only: the API says whether one is set,
never what it is, sealed or not."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from bureau.platform.provisioning.listing import ExportRun, Job, Run, StoredFinding, TargetDetails
from bureau.platform.provisioning.targets import Target

from ..errors import FieldError, ValidationError
from ..pagination import InvalidCursor

DEFAULT_FINDINGS = 100
MAX_FINDINGS = 1_000  # as many as a run stores (reconcile.MAX_FINDINGS)


@strawberry.enum(description="What reconciliation does with an account a target holds that billing does not.")
class UnbilledPolicy(enum.Enum):
    REMOVE = "remove"
    FLAG = "flag"


@strawberry.enum(description="Where a provisioning job is; what it did is in the targets' exports and reconciliations.")
class ProvisioningJobState(enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    DONE = "done"
    FAILED = "failed"


@strawberry.enum
class ProvisioningJobKind(enum.Enum):
    EXPORT = "export"
    RECONCILE = "reconcile"


# The values of reconcile.Finding, written out: importing reconcile loads every directory
# client (ldap3 among them) into the schema; a test keeps the two equal.
@strawberry.enum
class ReconciliationFindingKind(enum.Enum):
    MISSING = "missing"
    UNBILLED = "unbilled"
    DIFFERING = "differing"
    SESSION_NOT_ACTIVE = "session of a service that is not active"


@strawberry.type(description="One export of a target, as recorded when it finished.")
class ProvisioningExport:
    started_at: datetime
    finished_at: datetime
    outcome: str = strawberry.field(description="written (files or entries changed) or unchanged.")
    accounts: int = strawberry.field(description="Accounts the target was given.")
    error: str | None

    @classmethod
    def of(cls, run: ExportRun) -> ProvisioningExport:
        return cls(
            started_at=run.started_at,
            finished_at=run.finished_at,
            outcome=run.outcome,
            accounts=run.accounts,
            error=run.error,
        )


@strawberry.type(description="An export target: where the tenant's services are provisioned, and how.")
class ProvisioningTarget:
    name: str
    format: str = strawberry.field(description="unix, bsd, radius_users, postfix, bind, ldap, radius_sql, webhook, …")
    folder: str = strawberry.field(description="Its folder under the tenant's exports root.")
    options: JSON = strawberry.field(description="The format's options (never a secret).")
    enabled: bool
    on_unbilled: UnbilledPolicy
    has_secret: bool = strawberry.field(description="Whether a secret (bind password, signing key) is set; write-only.")
    created_at: datetime
    updated_at: datetime
    last_export: ProvisioningExport | None = strawberry.field(description="The latest recorded export; null: none yet.")

    @classmethod
    def of(cls, target: Target, details: TargetDetails) -> ProvisioningTarget:
        return cls(
            name=target.name,
            format=target.format,
            folder=target.folder,
            options=cast(JSON, dict(target.options)),
            enabled=target.enabled,
            on_unbilled=UnbilledPolicy(target.on_unbilled.value),
            has_secret=target.sealed_secret is not None,
            created_at=details.created_at,
            updated_at=details.updated_at,
            last_export=ProvisioningExport.of(details.last_export) if details.last_export else None,
        )


@strawberry.type(description="A target that was removed (its files stay where they are).")
class RemovedProvisioningTarget:
    name: str


@strawberry.type(
    description="A provisioning job: a message in the tenant's outbox for the workers. An export job exports every"
    " enabled target, or the one in `target`; a reconcile job compares every enabled target (and the RADIUS"
    " sessions) with billing."
)
class ProvisioningJob:
    id: strawberry.ID
    kind: ProvisioningJobKind
    state: ProvisioningJobState = strawberry.field(
        description="PENDING: waiting for the relay; SENT: handed to the workers, not finished; DONE: a worker ran it"
        " to the end; FAILED: its latest run failed (see error; a failure retrying may fix is retried)."
    )
    target: str | None = strawberry.field(
        description="The one target an export job exports; null: every enabled target (and for reconcile jobs)."
    )
    period: str | None = strawberry.field(description="A scheduled job's period (e.g. 2026-12-02), or on-request.")
    created_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None = strawberry.field(description="When its latest run finished (DONE or FAILED).")
    error: str | None = strawberry.field(description="What went wrong, for a FAILED job.")

    @classmethod
    def of(cls, job: Job) -> ProvisioningJob:
        period = job.args.get("period")
        return cls(
            id=strawberry.ID(str(job.id)),
            kind=ProvisioningJobKind(job.kind.value),
            state=ProvisioningJobState(job.state.value),
            target=job.target,
            period=period if isinstance(period, str) else None,
            created_at=job.created_at,
            sent_at=job.sent_at,
            finished_at=job.finished_at,
            error=job.error,
        )


@strawberry.type(description="One thing a reconciliation found.")
class ReconciliationFinding:
    kind: ReconciliationFindingKind
    key: str = strawberry.field(description="The account (login, Unix name, address, domain) or the session's id.")
    detail: str

    @classmethod
    def of(cls, found: StoredFinding) -> ReconciliationFinding:
        return cls(kind=ReconciliationFindingKind(found.finding), key=found.key, detail=found.detail)


@strawberry.type(description="A stored reconciliation of one target, or of the RADIUS sessions.")
class Reconciliation:
    id: strawberry.ID
    subject: str = strawberry.field(description="The target's name, or radius-sessions.")
    target: str | None = strawberry.field(description="The target's name; null for the RADIUS sessions.")
    ran_at: datetime
    missing: int = strawberry.field(description="Billed and active or suspended, but not on the target.")
    unbilled: int = strawberry.field(description="On the target, but not billed.")
    differing: int = strawberry.field(
        description="On both with different attributes; for radius-sessions, live sessions of services not active."
    )
    fixed: bool = strawberry.field(description="Whether the run exported the target again to fix what it found.")
    note: str | None
    stored_findings: int = strawberry.field(description=f"Findings stored with the run (at most {MAX_FINDINGS}).")
    found: strawberry.Private[tuple[StoredFinding, ...]]

    @strawberry.field(description=f"The findings, in stored order: up to `first` (1 to {MAX_FINDINGS}).")
    def findings(self, first: int = DEFAULT_FINDINGS) -> list[ReconciliationFinding]:
        if not 1 <= first <= MAX_FINDINGS:
            raise InvalidCursor(f"first must be from 1 to {MAX_FINDINGS}, got {first}")
        return [ReconciliationFinding.of(found) for found in self.found[:first]]

    @classmethod
    def of(cls, run: Run) -> Reconciliation:
        return cls(
            id=strawberry.ID(str(run.id)),
            subject=run.subject,
            target=run.target,
            ran_at=run.ran_at,
            missing=run.missing,
            unbilled=run.unbilled,
            differing=run.differing,
            fixed=run.fixed,
            note=run.note,
            stored_findings=len(run.findings),
            found=run.findings,
        )


def invalid_argument(argument: str, message: str) -> ValidationError:
    """A ValidationError naming the one top-level argument that was wrong."""
    return ValidationError(message=message, fields=[FieldError(path=[argument], message=message)])
