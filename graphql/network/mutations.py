"""Network mutations (ISP admins): add and remove NAS, add and remove realms.

A NAS secret goes in and never comes out: it is sealed with the installation's key by
the registry and no answer carries it. The NAS registry and the realm registry are
installation-wide, so an address or realm another ISP holds is refused in words that do
not say who holds it (the platform's own messages, which are neutral).
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from bureau.platform.nas import registry
from bureau.platform.subscribers import resellers
from bureau.platform.subscribers.errors import Duplicate, InvalidSubscriberValue
from bureau.platform.subscribers.errors import NotFound as SubscriberNotFound

from ..errors import FieldError, NotFound, ValidationError
from ..permissions import IsIspAdmin
from .types import Nas, Realm, RemovedNas, RemovedRealm

AddNasResult = Annotated[Nas | ValidationError, strawberry.union("AddNasResult")]
RemoveNasResult = Annotated[RemovedNas | NotFound, strawberry.union("RemoveNasResult")]
AddRealmResult = Annotated[Realm | ValidationError, strawberry.union("AddRealmResult")]
RemoveRealmResult = Annotated[RemovedRealm | NotFound | ValidationError, strawberry.union("RemoveRealmResult")]

# The registry names the add_nas argument it refused; the API names its own input field.
NAS_FIELDS = {
    "name": "name",
    "address": "address",
    "secret": "secret",
    "nas_identifier": "nasIdentifier",
    "nas_type": "nasType",
    "coa_port": "coaPort",
}


@strawberry.input
class AddNasInput:
    name: str = strawberry.field(description="Unique among the ISP's NAS, 1 to 100 characters.")
    address: str = strawberry.field(
        description="A host address or a network in CIDR form (host bits clear): 192.0.2.1, 192.0.2.0/24,"
        " 2001:db8::/64. It may overlap no other NAS in the installation."
    )
    secret: str = strawberry.field(
        description=f"The RADIUS shared secret, {registry.MIN_SECRET} to {registry.MAX_SECRET} octets. Write-only."
    )
    nas_identifier: str | None = strawberry.field(default=None, description="The NAS-Identifier it sends, if any.")
    nas_type: str = strawberry.field(default="other", description=f"One of {', '.join(registry.NAS_TYPES)}.")
    coa_port: int = strawberry.field(default=3799, description="Its Disconnect/CoA port, 1 to 65535.")
    require_message_authenticator: bool = strawberry.field(
        default=True, description="BlastRADIUS: drop Access-Requests without Message-Authenticator (keep true)."
    )
    limit_proxy_state: bool = strawberry.field(
        default=True,
        description="If the above is false: still drop a request without Message-Authenticator that has Proxy-State.",
    )


@strawberry.input
class AddRealmInput:
    name: str = strawberry.field(description='A domain name such as "northnet.example" (stored lower-cased).')
    reseller: str | None = strawberry.field(default=None, description="The owning reseller's code; null: the ISP.")
    strip_realm: bool = strawberry.field(default=False, description="Strip the realm from logins sent on to NASes.")


def _invalid(path: list[str], message: str) -> ValidationError:
    return ValidationError(message=message, fields=[FieldError(path=path, message=message)])


@strawberry.type
class NetworkMutations:
    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Register a NAS. Its secret is sealed with the installation's key and never shown again.",
    )
    async def add_nas(self, info: Info[Any, Any], input: AddNasInput) -> AddNasResult:
        box = info.context.box
        try:
            async with info.context.unit() as conn:
                made = await registry.add_nas(
                    conn,
                    box,
                    name=input.name,
                    address=input.address,
                    secret=input.secret,
                    nas_identifier=input.nas_identifier,
                    nas_type=input.nas_type,
                    coa_port=input.coa_port,
                    require_message_authenticator=input.require_message_authenticator,
                    limit_proxy_state=input.limit_proxy_state,
                )
        except registry.NasError as exc:
            field = NAS_FIELDS.get(exc.field or "")
            fields = [FieldError(path=["input", field], message=str(exc))] if field else []
            return ValidationError(message=str(exc), fields=fields)
        return Nas.of(made)

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Remove a NAS by name: the RADIUS proxy drops its datagrams from its next reload on.",
    )
    async def remove_nas(self, info: Info[Any, Any], name: str) -> RemoveNasResult:
        try:
            async with info.context.unit() as conn:
                await registry.remove_nas(conn, name)
        except registry.NasError as exc:  # the only refusal: no NAS of this ISP has that name
            return NotFound(message=str(exc))
        return RemovedNas(name=name)

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Register a realm for the ISP or one of its resellers; a realm has one owner installation-wide.",
    )
    async def add_realm(self, info: Info[Any, Any], input: AddRealmInput) -> AddRealmResult:
        try:
            async with info.context.unit() as conn:
                made = await resellers.add_realm(
                    conn, input.name, reseller=input.reseller, strip_realm=input.strip_realm
                )
        except SubscriberNotFound as exc:  # add_realm looks nothing else up
            return _invalid(["input", "reseller"], str(exc))
        except (InvalidSubscriberValue, Duplicate) as exc:
            return _invalid(["input", "name"], str(exc))
        return Realm.of(resellers.ListedRealm(made, input.reseller))

    @strawberry.mutation(
        permission_classes=[IsIspAdmin],
        description="Remove a realm. Refused while RADIUS logins that are not cancelled use it, or while it is"
        " proxied to downstream servers.",
    )
    async def remove_realm(self, info: Info[Any, Any], name: str) -> RemoveRealmResult:
        try:
            async with info.context.unit() as conn:
                gone = await resellers.remove_realm(conn, name)
                owner = None
                if gone.reseller_id is not None:
                    owner = (await resellers.get_reseller_by_id(conn, gone.reseller_id)).code
        except SubscriberNotFound as exc:
            return NotFound(message=str(exc))
        except InvalidSubscriberValue as exc:  # a malformed name, or a realm still in use
            return _invalid(["name"], str(exc))
        return RemovedRealm(name=gone.realm, reseller=owner)
