"""Expected catalog outcomes a caller may show to a person.

Each says what was wrong and what is allowed. A raised CatalogError means the unit of
work it happened in must be rolled back; nothing of the refused change is committed.
"""

from __future__ import annotations


class CatalogError(ValueError):
    """Base of the catalog's expected, user-facing errors."""


class InvalidCatalogValue(CatalogError):
    """A code, name, status, date or other field that is not acceptable."""


class DuplicateCode(CatalogError):
    """A category, plan or subscriber class with that code already exists."""


class NotFound(CatalogError):
    """No category, plan or subscriber class has that code."""


class InvalidComponent(CatalogError):
    """A price component (or the set of a version's components) is not well formed."""


class OverlappingPeriod(CatalogError):
    """A new plan version or tax rate would overlap or rewrite one already in place."""


class NoVersionInEffect(CatalogError):
    """A plan has no version in effect at the time asked about."""


class InvalidTaxRate(CatalogError):
    """A tax rate or a locale that is not well formed."""
