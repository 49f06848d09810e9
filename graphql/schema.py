"""The schema: root types composed from one class per domain, with limits and masking."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig

from .billing.dunning import DunningMutations, DunningQueries
from .billing.invoice_actions import InvoiceActionMutations, InvoiceActionQueries
from .billing.mutations import BillingMutations
from .billing.queries import BillingQueries
from .billing.refund_queries import RefundQueries
from .billing.runs import BillRunMutations, BillRunQueries
from .catalog.mutations import CatalogMutations
from .catalog.queries import CatalogQueries
from .customers.mutations import CustomerMutations
from .customers.queries import CustomerQueries
from .documents import CachedDocuments, DocumentCache
from .errors import MaskUnexpected
from .journal.mutations import JournalMutations
from .journal.queries import JournalQueries
from .keys.resolvers import KeyMutations, KeyQueries
from .network.mutations import NetworkMutations
from .network.queries import NetworkQueries
from .operator.mutations import OperatorMutations
from .operator.queries import OperatorQueries
from .provisioning.mutations import ProvisioningMutations
from .provisioning.queries import ProvisioningQueries
from .reports.queries import ReportsQueries
from .resellers.mutations import ResellerMutations
from .resellers.queries import ResellerQueries
from .scalars import SCALARS
from .services.mutations import ServiceMutations
from .sessions.mutations import SessionMutations
from .sessions.queries import SessionQueries
from .subscriptions.resolvers import Subscription
from .vouchers.mutations import VoucherMutations
from .vouchers.queries import VoucherQueries

MAX_DEPTH = 10
MAX_TOKENS = 2_000
MAX_ALIASES = 15


@strawberry.type
class Query(
    OperatorQueries,
    CustomerQueries,
    BillingQueries,
    CatalogQueries,
    ResellerQueries,
    SessionQueries,
    KeyQueries,
    DunningQueries,
    VoucherQueries,
    JournalQueries,
    BillRunQueries,
    InvoiceActionQueries,
    NetworkQueries,
    ProvisioningQueries,
    ReportsQueries,
    RefundQueries,
):
    pass


@strawberry.type
class Mutation(
    OperatorMutations,
    CustomerMutations,
    ServiceMutations,
    BillingMutations,
    CatalogMutations,
    ResellerMutations,
    SessionMutations,
    KeyMutations,
    DunningMutations,
    VoucherMutations,
    JournalMutations,
    BillRunMutations,
    InvoiceActionMutations,
    NetworkMutations,
    ProvisioningMutations,
):
    pass


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    documents = DocumentCache()
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: CachedDocuments(documents),
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        MaskUnexpected,
    ]
    if not introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS),
    )
