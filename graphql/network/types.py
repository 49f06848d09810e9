"""NAS and realms as the API shows them (built from domain values).

A NAS's shared secret is write-only: no type here has a field for it, so no query can
ask for it, whatever the caller's role.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from bureau.platform.nas.registry import NasClient
from bureau.platform.subscribers.resellers import ListedRealm


@strawberry.type(description="A RADIUS client (NAS) of the ISP. Its shared secret is write-only and never shown.")
class Nas:
    id: strawberry.ID
    name: str
    address: str = strawberry.field(description='Its address or range in CIDR form: "192.0.2.1/32", "2001:db8::/64".')
    nas_identifier: str | None = strawberry.field(description="The NAS-Identifier it sends, if one was given.")
    nas_type: str = strawberry.field(description="other, mikrotik, cisco, juniper, chillispot or freeradius.")
    coa_port: int = strawberry.field(description="Where it takes Disconnect and CoA requests (UDP).")
    require_message_authenticator: bool = strawberry.field(
        description="BlastRADIUS: Access-Requests without Message-Authenticator are dropped."
    )
    limit_proxy_state: bool = strawberry.field(
        description="When Message-Authenticator is not required: still drop a request without it that has Proxy-State."
    )
    created_at: datetime

    @classmethod
    def of(cls, client: NasClient) -> Nas:
        if client.created_at is None:  # read from the registry, so always set: a bug otherwise
            raise RuntimeError(f"NAS {client.id} has no creation time")
        return cls(
            id=strawberry.ID(str(client.id)),
            name=client.name,
            address=client.address,
            nas_identifier=client.nas_identifier,
            nas_type=client.nas_type,
            coa_port=client.coa_port,
            require_message_authenticator=client.require_message_authenticator,
            limit_proxy_state=client.limit_proxy_state,
            created_at=client.created_at,
        )


@strawberry.type(description="A NAS that was removed: its datagrams are now dropped as from an unknown client.")
class RemovedNas:
    name: str


@strawberry.type(description='A realm: routes logins "user@realm" to this ISP and, if it has one, a reseller.')
class Realm:
    name: str = strawberry.field(description='Lower-case domain name, e.g. "northnet.example".')
    reseller: str | None = strawberry.field(description="The code of the reseller that owns it; null: the ISP itself.")
    strip_realm: bool = strawberry.field(description="Whether the realm is stripped from logins sent on to NASes.")

    @classmethod
    def of(cls, listed: ListedRealm) -> Realm:
        return cls(name=listed.realm.realm, reseller=listed.reseller_code, strip_realm=listed.realm.strip_realm)


@strawberry.type(description="A realm that was removed: its logins are no longer routed to this ISP.")
class RemovedRealm:
    name: str
    reseller: str | None
