"""NAS and realms through /graphql alone, on real PostgreSQL: a NAS added by an ISP admin
is listed without its secret, stored sealed and found by the RADIUS proxy's routing;
bad input names its field; realms are added, listed (scoped for reseller keys) and
removed, but not while logins use them; another tenant's NAS and realms are answered as
missing and left alone; reseller and read-only keys are refused what is not theirs."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.graphql.permissions import IsIspAdmin, IsIspStaff
from bureau.platform.nas import downstream, registry
from bureau.platform.subscribers import customers, resellers, services
from bureau.platform.subscribers.registry import realm_registry
from bureau.platform.subscribers.tables import realms
from bureau.tenants import apikeys
from bureau.tenants.nas import load_nas_routes
from bureau.tenants.realms import route_realm
from bureau.tenants.routing import tenant_unit
from tests.integration.graphql.conftest import Api
from tests.integration.platform.billing.conftest import ADDRESS, Books, make_books

NAS = "id name address nasIdentifier nasType coaPort requireMessageAuthenticator limitProxyState createdAt"
ADD_NAS = f"""
mutation($input: AddNasInput!) {{ addNas(input: $input) {{
  __typename ... on Nas {{ {NAS} }} ... on ValidationError {{ message fields {{ path message }} }} }} }}"""
REMOVE_NAS = """
mutation($name: String!) { removeNas(name: $name) {
  __typename ... on RemovedNas { name } ... on NotFound { message } } }"""
NASES = f"""
query($first: Int!, $after: String) {{ nases(first: $first, after: $after) {{
  edges {{ cursor node {{ {NAS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
ADD_REALM = """
mutation($input: AddRealmInput!) { addRealm(input: $input) {
  __typename ... on Realm { name reseller stripRealm } ... on ValidationError { message fields { path message } } } }"""
REMOVE_REALM = """
mutation($name: String!) { removeRealm(name: $name) {
  __typename ... on RemovedRealm { name reseller } ... on NotFound { message }
  ... on ValidationError { message fields { path message } } } }"""
REALMS = """
query($first: Int!, $after: String) { realms(first: $first, after: $after) {
  edges { node { name reseller stripRealm } } pageInfo { hasNextPage endCursor } } }"""
SECRET = "s3cret-for-the-bng"
_blocks = itertools.count()


@dataclass
class Net:
    books: Books
    engine: AsyncEngine
    other: Any  # another tenant, with a NAS "core" and a realm of its own
    other_net: str
    other_realm: str
    isp: Api
    reader: Api
    care: Api
    north: Api  # a reseller key (admin role) of reseller "north"
    stranger: Api  # an ISP admin key of the other tenant

    def net(self) -> str:
        """A /28 inside 198.18.0.0/15 no other NAS of the run holds (the registry is
        installation-wide); hosts .1 to .14."""
        n = next(_blocks)
        return f"198.{18 + n // 4096}.{n // 16 % 256}.{n % 16 * 16}/28"

    async def nas_rows(self, tenant_id: int) -> list[Any]:
        async with self.engine.connect() as conn:
            query = select(registry.nas_clients).where(registry.nas_clients.c.tenant_id == tenant_id)
            return list(await conn.execute(query.order_by(registry.nas_clients.c.id)))

    async def realm_names(self, tenant: Any) -> list[str]:
        async with tenant_unit(self.engine, tenant.ref, actor="test") as conn:
            return list(await conn.scalars(select(realms.c.realm).order_by(realms.c.realm)))


@pytest.fixture
async def net(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[Net]:
    books = await make_books(engine, make_tenant, "gqnet")
    other = await make_tenant("gqnetb")
    box = books.box
    async with books.unit() as conn:
        await resellers.create_reseller(conn, code="north", name="North", realms=(f"north.{books.realm}",))
        await resellers.create_reseller(
            conn, code="north-sub", name="Sub", parent="north", realms=(f"sub.{books.realm}",)
        )
        await resellers.create_reseller(conn, code="south", name="South", realms=(f"south.{books.realm}",))
    slug = books.tenant.slug

    async def key(role: str, scope: str = "isp", tenant: str = slug, reseller: str | None = None) -> str:
        made = await apikeys.create_api_key(
            engine, name=f"{scope}-{role}", scope=scope, role=role, tenant=tenant, reseller=reseller, actor="test"
        )
        return made.token

    app = create_app(engine, box=box)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bureau.test") as client:
        world = Net(
            books,
            engine,
            other,
            other_net="",
            other_realm=f"isp-{other.slug.rpartition('_')[2]}.example",
            isp=Api(client, await key("admin")),
            reader=Api(client, await key("read_only")),
            care=Api(client, await key("care")),
            north=Api(client, await key("admin", "reseller", reseller="north")),
            stranger=Api(client, await key("admin", tenant=other.slug)),
        )
        world.other_net = world.net()
        async with tenant_unit(engine, other.ref, actor="test") as conn:
            await registry.add_nas(conn, box, name="core", address=world.other_net, secret="other-tenant-secret")
            await resellers.add_realm(conn, world.other_realm)
        yield world


def host(block: str, n: int) -> str:
    """The n-th address of `block` ("198.18.0.16/28", 3 → "198.18.0.19")."""
    return str(ipaddress.ip_network(block)[n])


def nas_input(name: str, address: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "address": address, "secret": SECRET} | more


async def add_nas(api: Api, name: str, address: str, **more: Any) -> dict[str, Any]:
    made: dict[str, Any] = (await api(ADD_NAS, input=nas_input(name, address, **more)))["addNas"]
    return made


async def listed_nases(api: Api, first: int = 100) -> list[dict[str, Any]]:
    nodes, after = [], None
    while True:
        page = (await api(NASES, first=first, after=after))["nases"]
        nodes.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def listed_realms(api: Api, first: int = 100) -> list[dict[str, Any]]:
    nodes, after = [], None
    while True:
        page = (await api(REALMS, first=first, after=after))["realms"]
        nodes.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def test_a_nas_added_through_the_api_is_listed_without_its_secret_sealed_and_routed(net: Net) -> None:
    block = net.net()
    more = {"nasIdentifier": "bng-1", "nasType": "mikrotik", "coaPort": 1700, "limitProxyState": False}
    answer = await net.isp.raw(ADD_NAS, input=nas_input("bng-1", block, **more))
    assert SECRET not in str(answer), "the secret is write-only"
    made = answer["data"]["addNas"]
    assert made["__typename"] == "Nas", made
    assert {k: v for k, v in made.items() if k not in ("id", "createdAt", "__typename")} == {
        "name": "bng-1",
        "address": block,
        "nasIdentifier": "bng-1",
        "nasType": "mikrotik",
        "coaPort": 1700,
        "requireMessageAuthenticator": True,
        "limitProxyState": False,
    }
    single = (await add_nas(net.isp, "wifi", f"2001:db8:ff{next(_blocks) % 256:02x}::7"))["address"]
    assert single.endswith("::7/128")

    rows = await net.nas_rows(net.books.tenant.id)
    assert [row.name for row in rows] == ["bng-1", "wifi"]
    assert all(SECRET.encode() not in row.secret_sealed for row in rows), "stored sealed, not in plain text"
    assert SECRET not in str(list(rows[0]))

    listed = await listed_nases(net.reader, first=1)  # any ISP staff key reads; paged one at a time
    assert [n["name"] for n in listed] == ["bng-1", "wifi"]
    assert listed[0] == {k: v for k, v in made.items() if k != "__typename"}
    assert SECRET not in str(await net.reader.raw(NASES, first=10))

    table = await load_nas_routes(net.engine, net.books.box)
    route = table.find(host(block, 5))
    assert route is not None and route.tenant == net.books.tenant.ref
    assert (route.secret, route.client.name, route.client.coa_port) == (SECRET.encode(), "bng-1", 1700)
    assert route.client.nas_type == "mikrotik" and route.client.limit_proxy_state is False

    removed = (await net.isp(REMOVE_NAS, name="bng-1"))["removeNas"]
    assert removed == {"__typename": "RemovedNas", "name": "bng-1"}
    assert [n["name"] for n in await listed_nases(net.isp)] == ["wifi"]
    table = await load_nas_routes(net.engine, net.books.box)
    assert not [r for r in table.routes if r.client.name == "bng-1" and r.tenant == net.books.tenant.ref]
    again = (await net.isp(REMOVE_NAS, name="bng-1"))["removeNas"]
    assert again == {"__typename": "NotFound", "message": "this ISP has no NAS named 'bng-1'"}


async def test_bad_nas_input_is_refused_with_the_field_that_was_wrong(net: Net) -> None:
    block = net.net()
    assert (await add_nas(net.isp, "core", host(block, 1)))["__typename"] == "Nas"
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"address": "198.18.250.1/24"}, "address", "not an IP address or a network"),
        ({"address": "nas.example"}, "address", "not an IP address"),
        ({"secret": "short"}, "secret", "8 to 128 octets"),
        ({"secret": "x" * 129}, "secret", "8 to 128 octets"),
        ({"name": "  "}, "name", "1 to 100 characters"),
        ({"name": "n" * 101}, "name", "1 to 100 characters"),
        ({"name": "core"}, "name", "already has a NAS named 'core'"),
        ({"nasType": "toaster"}, "nasType", "is not one of other, mikrotik"),
        ({"coaPort": 0}, "coaPort", "1 to 65535, got 0"),
        ({"coaPort": 65536}, "coaPort", "1 to 65535, got 65536"),
        ({"nasIdentifier": ""}, "nasIdentifier", "1 to 253 octets"),
        ({"nasIdentifier": "i" * 254}, "nasIdentifier", "1 to 253 octets"),
        ({"address": block}, "address", "overlaps a NAS already registered"),
    ]
    for change, field, words in cases:
        given = nas_input("edge", host(block, 9)) | change
        refused = (await net.isp(ADD_NAS, input=given))["addNas"]
        assert refused["__typename"] == "ValidationError", (change, refused)
        assert words in refused["message"], (change, refused)
        assert refused["fields"] == [{"path": ["input", field], "message": refused["message"]}], change
    assert [row.name for row in await net.nas_rows(net.books.tenant.id)] == ["core"], "nothing was written"


async def test_an_address_another_tenant_holds_is_refused_without_naming_that_tenant(net: Net) -> None:
    for address in (
        host(net.other_net, 3),
        net.other_net,
        str(ipaddress.ip_network(net.other_net).supernet(new_prefix=27)),
    ):
        refused = (await net.isp(ADD_NAS, input=nas_input("edge", address)))["addNas"]
        assert refused["__typename"] == "ValidationError", refused
        assert refused["fields"][0]["path"] == ["input", "address"]
        assert "overlaps a NAS already registered" in refused["message"]
        for secret_of_theirs in (net.other.slug, net.other.name, "other-tenant-secret", "core"):
            assert secret_of_theirs not in str(refused)
    assert await net.nas_rows(net.books.tenant.id) == []


async def test_another_tenants_nas_and_realm_are_answered_as_missing_and_left_alone(net: Net) -> None:
    before = await net.nas_rows(net.other.id)
    assert [n["name"] for n in await listed_nases(net.isp)] == []
    mine = (await add_nas(net.isp, "mine", net.net()))["name"]
    assert [n["name"] for n in await listed_nases(net.isp)] == [mine]
    assert [n["name"] for n in await listed_nases(net.stranger)] == ["core"]

    theirs = (await net.isp(REMOVE_NAS, name="core"))["removeNas"]
    missing = (await net.isp(REMOVE_NAS, name="no-such-nas"))["removeNas"]
    assert theirs == {"__typename": "NotFound", "message": "this ISP has no NAS named 'core'"}
    assert missing["message"].replace("no-such-nas", "core") == theirs["message"]
    assert await net.nas_rows(net.other.id) == before

    names = [r["name"] for r in await listed_realms(net.isp)]
    assert net.other_realm not in names and net.books.realm in names
    theirs = (await net.isp(REMOVE_REALM, name=net.other_realm))["removeRealm"]
    missing = (await net.isp(REMOVE_REALM, name="nowhere.example"))["removeRealm"]
    assert theirs["__typename"] == "NotFound" and missing["__typename"] == "NotFound"
    assert missing["message"].replace("nowhere.example", net.other_realm) == theirs["message"]
    assert net.other.slug not in theirs["message"]
    assert await net.realm_names(net.other) == [net.other_realm]
    route = await route_realm(net.engine, net.other_realm)
    assert route is not None and route.tenant == net.other.ref

    taken = (await net.isp(ADD_REALM, input={"name": net.other_realm.upper()}))["addRealm"]
    assert taken["__typename"] == "ValidationError"
    assert taken["fields"] == [{"path": ["input", "name"], "message": taken["message"]}]
    assert "already registered" in taken["message"] and net.other.slug not in taken["message"]
    assert (await route_realm(net.engine, net.other_realm)) == route


async def test_reseller_keys_are_refused_nas_and_see_only_their_subtrees_realms(net: Net) -> None:
    await add_nas(net.isp, "core", net.net())
    assert await net.north.refused(NASES, first=10) == IsIspStaff.message
    assert await net.north.refused(ADD_NAS, input=nas_input("sneaky", net.net())) == IsIspAdmin.message
    assert await net.north.refused(REMOVE_NAS, name="core") == IsIspAdmin.message
    assert await net.north.refused(ADD_REALM, input={"name": "mine.example", "reseller": "north"}) == IsIspAdmin.message
    assert await net.north.refused(REMOVE_REALM, name=f"north.{net.books.realm}") == IsIspAdmin.message
    assert [row.name for row in await net.nas_rows(net.books.tenant.id)] == ["core"]

    seen = await listed_realms(net.north, first=1)
    assert seen == [
        {"name": f"north.{net.books.realm}", "reseller": "north", "stripRealm": False},
        {"name": f"sub.{net.books.realm}", "reseller": "north-sub", "stripRealm": False},
    ]
    everything = {(r["name"], r["reseller"]) for r in await listed_realms(net.reader, first=2)}
    assert everything == {
        (net.books.realm, None),
        (f"north.{net.books.realm}", "north"),
        (f"sub.{net.books.realm}", "north-sub"),
        (f"south.{net.books.realm}", "south"),
    }


async def test_read_only_and_care_keys_cannot_change_nas_or_realms(net: Net) -> None:
    await add_nas(net.isp, "core", net.net())
    for api in (net.reader, net.care):
        assert [n["name"] for n in await listed_nases(api)] == ["core"]
        assert await api.refused(ADD_NAS, input=nas_input("more", net.net())) == IsIspAdmin.message
        assert await api.refused(REMOVE_NAS, name="core") == IsIspAdmin.message
        assert await api.refused(ADD_REALM, input={"name": "more.example"}) == IsIspAdmin.message
        assert await api.refused(REMOVE_REALM, name=net.books.realm) == IsIspAdmin.message
    assert [row.name for row in await net.nas_rows(net.books.tenant.id)] == ["core"]
    assert "more.example" not in await net.realm_names(net.books.tenant)


async def test_a_realm_is_added_routed_and_removed_but_not_while_logins_or_proxies_use_it(
    net: Net, assert_ledger_sound: Any
) -> None:
    name = f"West.{net.books.realm}"
    made = (await net.isp(ADD_REALM, input={"name": name, "reseller": "north", "stripRealm": True}))["addRealm"]
    assert made == {"__typename": "Realm", "name": name.lower(), "reseller": "north", "stripRealm": True}
    route = await route_realm(net.engine, name)
    assert route is not None and route.tenant == net.books.tenant.ref and route.reseller_code == "north"
    assert {"name": name.lower(), "reseller": "north", "stripRealm": True} in await listed_realms(net.north)

    for given, field, words in [
        ({"name": name}, "name", "already registered"),
        ({"name": "not a realm!"}, "name", "must be a domain name"),
        ({"name": f"east.{net.books.realm}", "reseller": "nobody"}, "reseller", "no reseller has code 'nobody'"),
    ]:
        refused = (await net.isp(ADD_REALM, input=given))["addRealm"]
        assert refused["__typename"] == "ValidationError" and words in refused["message"], refused
        assert refused["fields"] == [{"path": ["input", field], "message": refused["message"]}]
    assert f"east.{net.books.realm}" not in await net.realm_names(net.books.tenant)

    login = f"pat@{name.lower()}"
    async with net.books.unit() as conn:
        await resellers.allow_plan(conn, "north", "box-monthly")
        await customers.create_customer(
            conn, code=login, name="Pat", email="pat@mail.example", address=ADDRESS, reseller="north"
        )
        service = await services.add_service(
            conn,
            net.books.box,
            customer=login,
            kind="radius_login",
            login=login,
            plan="box-monthly",
            password="pw-123456",
        )
    in_use = (await net.isp(REMOVE_REALM, name=name))["removeRealm"]
    assert in_use["__typename"] == "ValidationError", in_use
    assert in_use["message"] == (
        f"realm {name.lower()!r} is still used by 1 RADIUS login(s) ({login}); cancel those services first"
    )
    assert in_use["fields"] == [{"path": ["name"], "message": in_use["message"]}]
    assert await route_realm(net.engine, name) is not None

    async with net.books.unit() as conn:
        await services.change_service_state(conn, service.id, "cancelled")
        await downstream.add_downstream(
            conn, net.books.box, realm=name.lower(), host="192.0.2.44", secret="downstream-1"
        )
    proxied = (await net.isp(REMOVE_REALM, name=name))["removeRealm"]
    assert proxied["__typename"] == "ValidationError" and "proxied to 1 downstream server(s)" in proxied["message"]
    async with net.books.unit() as conn:
        await downstream.remove_downstream(conn, name.lower(), "192.0.2.44")

    gone = (await net.isp(REMOVE_REALM, name=name.upper()))["removeRealm"]
    assert gone == {"__typename": "RemovedRealm", "name": name.lower(), "reseller": "north"}
    assert await route_realm(net.engine, name) is None
    assert name.lower() not in await net.realm_names(net.books.tenant)
    assert name.lower() not in [r["name"] for r in await listed_realms(net.isp)]
    async with net.engine.connect() as conn:
        claimed = await conn.scalar(select(func.count()).where(realm_registry.c.realm == name.lower()))
    assert claimed == 0
    again = (await net.isp(ADD_REALM, input={"name": name}))["addRealm"]  # free again, now for the ISP itself
    assert again == {"__typename": "Realm", "name": name.lower(), "reseller": None, "stripRealm": False}
    await assert_ledger_sound(net.books.tenant)


async def test_nas_secrets_need_the_servers_key(engine: AsyncEngine, make_tenant: Any) -> None:
    """Without a secret key the server cannot seal a NAS secret: refused, nothing written."""
    tenant = await make_tenant("gqnetk")
    token = (
        await apikeys.create_api_key(engine, name="k", scope="isp", role="admin", tenant=tenant.slug, actor="test")
    ).token
    app = create_app(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bureau.test") as client:
        refused = await Api(client, token).refused(ADD_NAS, input=nas_input("core", "198.19.255.1"))
    assert "no secret key" in refused
    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).where(registry.nas_clients.c.tenant_id == tenant.id))
    assert count == 0
