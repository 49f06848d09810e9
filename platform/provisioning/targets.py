"""Export targets of a tenant: where its services are provisioned, and how.

A target names a format (`formats.FORMATS`), the format's options (JSON, checked here
so that a bad option is refused when it is configured, not at 3 a.m. in a worker), the
folder its files go to (relative: under the tenant's own exports root, which the
operator sets, so one tenant can never write into another's folder or anywhere else on
the host), and what to do with an account the target holds that billing does not.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..audit import log as audit
from ..crypto.secretbox import SecretBox
from .changes import targets_changed
from .formats.base import FORMATS, FormatError, OptionsError, options_from
from .tables import export_runs, export_targets, reconciliations

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_FOLDER_PART = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
MAX_FOLDER_DEPTH = 4


class TargetError(ValueError):
    """A target that cannot be configured or exported as asked; says what was wrong.

    `field` names the value at fault, so that an API can point at its own input field:
    an attribute of the target as `add_target` takes it (`name`, `format`, `options`,
    `folder`, `on_unbilled`, `secret`), or `target` where a function takes a target's
    name; None when no single value is to blame."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TargetNotFound(TargetError):
    """No target of this tenant has that name or id."""


class OnUnbilled(enum.StrEnum):
    """What reconciliation does with an account a target holds that billing does not."""

    REMOVE = "remove"
    FLAG = "flag"


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    name: str
    format: str
    options: Mapping[str, Any]
    folder: str
    enabled: bool
    on_unbilled: OnUnbilled
    sealed_secret: bytes | None = field(default=None, repr=False)  # open with `target_secret`


def _target(row: Row[Any]) -> Target:
    return Target(
        row.id,
        row.name,
        row.format,
        dict(row.options),
        row.folder,
        row.enabled,
        OnUnbilled(row.on_unbilled),
        row.secret,
    )


def _secret_context(name: str) -> bytes:
    """Binds a sealed target secret to its target: it opens for no other row."""
    return f"export-target:{name}".encode()


def target_secret(box: SecretBox, target: Target) -> str | None:
    """The target's secret (an LDAP bind password, a webhook key) in clear, or None."""
    if target.sealed_secret is None:
        return None
    return box.decrypt(target.sealed_secret, _secret_context(target.name)).decode()


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise TargetError(
            f"target name {name!r} must be 1 to 40 lower-case letters, digits, '_' or '-', starting with a letter",
            "name",
        )
    return name


def check_folder(folder: object) -> str:
    """A relative folder under the tenant's exports root, e.g. "unix" or "mail/sendmail"."""
    parts = folder.split("/") if isinstance(folder, str) else []
    if not parts or len(parts) > MAX_FOLDER_DEPTH or not all(_FOLDER_PART.fullmatch(p) for p in parts):
        raise TargetError(
            f"target folder {folder!r} must be a relative path of 1 to {MAX_FOLDER_DEPTH} parts, each of "
            "lower-case letters, digits, '_', '.' or '-' and not starting with '.'",
            "folder",
        )
    return folder  # type: ignore[return-value]


def known_formats() -> list[str]:
    from .directories import DIRECTORIES  # imports the directory clients: only when asked

    return sorted([*FORMATS, *DIRECTORIES])


def _needs_secret(format_name: str) -> bool:
    from .directories import DIRECTORIES

    return format_name in DIRECTORIES and DIRECTORIES[format_name].needs_secret


def check_format(format_name: object, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    from .directories import DIRECTORIES

    if not isinstance(format_name, str) or format_name not in known_formats():
        raise TargetError(f"unknown export format {format_name!r}; known: {', '.join(known_formats())}", "format")
    if not isinstance(options, Mapping):
        raise TargetError(f"target options must be a JSON object, got {type(options).__name__}", "options")
    try:
        if format_name in DIRECTORIES:
            DIRECTORIES[format_name].options_from(options)
        else:
            options_from(format_name, options)
    except (FormatError, OptionsError) as error:
        raise TargetError(f"options for format {format_name!r}: {error}", "options") from None
    return format_name, dict(options)


def _on_unbilled(value: str) -> OnUnbilled:
    try:
        return OnUnbilled(value)
    except ValueError:
        raise TargetError(f"on_unbilled must be 'remove' or 'flag', got {value!r}", "on_unbilled") from None


async def add_target(
    conn: AsyncConnection,
    name: str,
    format_name: str,
    options: Mapping[str, Any] | None = None,
    *,
    folder: str | None = None,
    on_unbilled: str = OnUnbilled.REMOVE,
    secret: str | None = None,
    box: SecretBox | None = None,
) -> Target:
    """Configure a new export target (enabled). A `secret` (bind password, API key) is
    stored sealed by `box`, never in the options. Each value is checked in that order
    (name, format and options, folder, on_unbilled, secret); the first one refused
    raises a TargetError naming it."""
    checked_name = check_name(name)
    checked_format, checked_options = check_format(format_name, options or {})
    checked_folder = check_folder(folder if folder is not None else name)
    policy = _on_unbilled(on_unbilled)
    if secret is not None and (not isinstance(secret, str) or not secret):
        raise TargetError("a target secret must be non-empty text; leave it out for no secret", "secret")
    if secret is None and _needs_secret(checked_format):
        raise TargetError(f"a {checked_format} target needs a secret (a bind password or signing key)", "secret")
    if secret is not None and box is None:
        raise ValueError("add_target was given a secret without the box to seal it")  # a caller's bug
    values = {
        "name": checked_name,
        "format": checked_format,
        "options": checked_options,
        "folder": checked_folder,
        "on_unbilled": policy.value,
        "secret": None if secret is None or box is None else box.encrypt(secret.encode(), _secret_context(name)),
    }
    try:
        async with conn.begin_nested():
            row = (await conn.execute(export_targets.insert().values(values).returning(*export_targets.c))).one()
    except IntegrityError as error:
        taken = "folder" if "folder" in str(error.orig) else "name"
        what = f"named {name!r}" if taken == "name" else f"writing to folder {values['folder']!r}"
        raise TargetError(f"a target {what} already exists; each target needs its own", taken) from None
    await audit.record(conn, "target.add", f"target:{row.id}", name=name, format=checked_format)
    await targets_changed(conn)
    return _target(row)


async def list_targets(conn: AsyncConnection, *, enabled_only: bool = False) -> list[Target]:
    query = select(export_targets).order_by(export_targets.c.name)
    if enabled_only:
        query = query.where(export_targets.c.enabled)
    return [_target(row) for row in (await conn.execute(query)).all()]


async def get_target(conn: AsyncConnection, name: str, *, for_update: bool = False) -> Target:
    query = select(export_targets).where(export_targets.c.name == name)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        raise TargetNotFound(f"no export target named {name!r}")
    return _target(row)


async def set_target_enabled(conn: AsyncConnection, name: str, enabled: bool) -> Target:
    row = (
        await conn.execute(
            update(export_targets)
            .where(export_targets.c.name == name)
            .values(enabled=enabled, updated_at=func.now())
            .returning(*export_targets.c)
        )
    ).one_or_none()
    if row is None:
        raise TargetNotFound(f"no export target named {name!r}")
    await audit.record(conn, "target.enable" if enabled else "target.disable", f"target:{row.id}")
    if enabled:
        await targets_changed(conn)
    return _target(row)


async def remove_target(conn: AsyncConnection, name: str) -> None:
    """Forget a target, its runs and reconciliations; the files it wrote stay where they are."""
    target = await get_target(conn, name, for_update=True)
    await conn.execute(delete(export_runs).where(export_runs.c.target_id == target.id))
    await conn.execute(delete(reconciliations).where(reconciliations.c.target_id == target.id))
    await conn.execute(delete(export_targets).where(export_targets.c.id == target.id))
    await audit.record(conn, "target.remove", f"target:{target.id}", name=name)
