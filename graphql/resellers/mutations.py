"""Reseller mutations (filled in by issue 6)."""

from __future__ import annotations

import strawberry


@strawberry.type
class ResellerMutations:
    pass
