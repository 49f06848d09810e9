"""Columns that many tenant tables share, declared once."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, func


def created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def updated_at() -> Column[object]:
    return Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now())
