"""Customer mutations: create (more come with the rest of issue 6)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.subscribers import customers as domain
from bureau.platform.subscribers.errors import NotFound as SubscriberNotFound
from bureau.platform.subscribers.resellers import get_reseller, get_reseller_by_id

from ..errors import EXPECTED, NotFound, PlanNotAllowed, ValidationError, failure
from ..permissions import CanManageCustomers
from ..scalars import BigInt
from .types import Customer

CreateCustomerResult = Annotated[
    Customer | ValidationError | NotFound | PlanNotAllowed, strawberry.union("CreateCustomerResult")
]


@strawberry.input
class AddressInput:
    country: str
    state: str | None = None
    city: str | None = None
    postal_code: str | None = None
    lines: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class CreateCustomerInput:
    code: str = strawberry.field(description="The customer's account code, unique in the tenant.")
    name: str
    email: str
    address: AddressInput
    phone: str | None = None
    reseller: str | None = strawberry.field(
        default=None, description="The selling reseller's code; a reseller key defaults to its own."
    )
    subscriber_class: str | None = None
    prepaid: bool = True
    credit_limit_micros: BigInt = BigInt(0)


async def _seller(info: Info[Any, Any], conn: Any, wanted: str | None) -> str | None:
    """The reseller a new customer is sold by: a reseller key may name itself or one below it."""
    caller = info.context.caller
    allowed = await info.context.resellers(conn)
    if allowed is None:
        return wanted
    if wanted is None:
        return (await get_reseller_by_id(conn, caller.reseller_id)).code
    if (await get_reseller(conn, wanted)).id not in allowed:  # as if it did not exist
        raise SubscriberNotFound(f"no reseller has code {wanted!r}")
    return wanted


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(permission_classes=[CanManageCustomers], description="Create a customer and its accounts.")
    async def create_customer(self, info: Info[Any, Any], input: CreateCustomerInput) -> CreateCustomerResult:
        a = input.address
        try:
            async with info.context.unit() as conn:
                made = await domain.create_customer(
                    conn,
                    code=input.code,
                    name=input.name,
                    email=input.email,
                    address=domain.Address(a.country, a.state, a.city, a.postal_code, tuple(a.lines)),
                    phone=input.phone,
                    reseller=await _seller(info, conn, input.reseller),
                    subscriber_class=input.subscriber_class,
                    prepaid=input.prepaid,
                    credit_limit_micros=input.credit_limit_micros,
                )
                return Customer.of(made, info.context.currency)
        except EXPECTED as exc:
            return failure(exc, given=input)
