"""Vouchers through /graphql alone, on a priced tenant: a batch created (its codes shown
once), sold, redeemed onto a prepaid customer, refused a second time, voided; admin
mutations refused to other roles; batches of another tenant or reseller answered as
missing; sound books after every money-moving test."""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.graphql.permissions import CanHandleMoney, IsIspAdmin
from bureau.platform.subscribers import resellers
from bureau.platform.vouchers.tables import voucher_attempts
from tests.integration.graphql.conftest import Api, key_maker, served
from tests.integration.platform.billing.conftest import Books, make_books

DOLLAR = 1_000_000
CODE = re.compile(r"^[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){3}$")
BATCH = "id name faceValue { micros currency formatted } total { micros } count expiresAt reseller status soldAt"
COUNTS = "counts { created sold unredeemed redeemed void expired }"
CREATE = f"""
mutation($input: CreateVoucherBatchInput!) {{ createVoucherBatch(input: $input) {{
  __typename ... on NewVoucherBatch {{ batch {{ {BATCH} {COUNTS} }} codes {{ serial code }} csv }}
  ... on ValidationError {{ message fields {{ path message }} }} ... on NotFound {{ message }} }} }}"""
SELL = f"""
mutation($id: ID!) {{ sellVoucherBatch(id: $id) {{
  __typename ... on VoucherBatch {{ {BATCH} {COUNTS} }}
  ... on NotFound {{ message }} ... on ValidationError {{ message }} }} }}"""
VOID = SELL.replace("sellVoucherBatch", "voidVoucherBatch")
REDEEM = """
mutation($input: RedeemVoucherInput!) { redeemVoucher(input: $input) {
  __typename ... on VoucherRedemption { serial batchId customer value { micros formatted } replayed }
  ... on NotFound { message } ... on ValidationError { message fields { path message } } } }"""
ONE = f"""
query($id: ID!) {{ voucherBatch(id: $id) {{
  __typename ... on VoucherBatch {{ {BATCH} {COUNTS} }} ... on NotFound {{ message }} }} }}"""
PDF = """
mutation($input: CreateVoucherBatchInput!) { createVoucherBatch(input: $input) {
  ... on NewVoucherBatch { batch { id } pdfBase64 } } }"""
PAGE = """
query($first: Int!, $after: String) { voucherBatches(first: $first, after: $after) {
  edges { cursor node { id name reseller counts { created } } } pageInfo { hasNextPage endCursor } } }"""
BALANCE = "query($ref: String!) { customer(ref: $ref) { ... on Customer { balance { micros } } } }"


@dataclass
class Shop:
    books: Books
    isp: Api
    care: Api
    reader: Api
    finance: Api
    north: Api  # a reseller key (admin role) of reseller "north"
    other: Api  # an ISP admin key of another tenant


@pytest.fixture
async def shop(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[Shop]:
    books = await make_books(engine, make_tenant, "gqvch")
    other = await make_tenant("gqvchb")
    async with books.unit() as conn:
        await resellers.create_reseller(conn, code="north", name="North", realms=(f"north.{books.realm}",))
        await resellers.allow_plan(conn, "north", "box-monthly")
    slug = books.tenant.slug

    key = key_maker(engine, slug)
    async with served(engine, books.box) as client:
        yield Shop(
            books,
            isp=Api(client, await key("admin")),
            care=Api(client, await key("care")),
            reader=Api(client, await key("read_only")),
            finance=Api(client, await key("finance")),
            north=Api(client, await key("admin", "reseller", reseller="north")),
            other=Api(client, await key("admin", tenant=other.slug)),
        )


def batch_input(name: str = "Ten dollar cards", *, count: int = 3, **more: Any) -> dict[str, Any]:
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    return {"name": name, "valueMicros": 10 * DOLLAR, "count": count, "expiresAt": expires} | more


async def create(api: Api, **more: Any) -> dict[str, Any]:
    made: dict[str, Any] = (await api(CREATE, input=batch_input(**more)))["createVoucherBatch"]
    assert made["__typename"] == "NewVoucherBatch", made
    return made


async def balance(api: Api, number: str) -> int:
    micros: int = (await api(BALANCE, ref=number))["customer"]["balance"]["micros"]
    return micros


async def test_create_sell_redeem_and_void_through_the_api(shop: Shop, assert_ledger_sound: Any) -> None:
    pat = await shop.books.customer("pat", "box-monthly", "2026-11-01T00:00:00", prepaid=True)
    sam = await shop.books.customer("sam", "box-monthly", "2026-11-01T00:00:00", prepaid=True)
    made = await create(shop.isp)
    batch, codes = made["batch"], made["codes"]
    assert (batch["count"], batch["status"], batch["soldAt"], batch["reseller"]) == (3, "active", None, None)
    assert batch["faceValue"] == {"micros": 10 * DOLLAR, "currency": "USD", "formatted": "10.00 USD"}
    assert batch["total"]["micros"] == 30 * DOLLAR
    assert batch["counts"] == {"created": 3, "sold": 0, "unredeemed": 3, "redeemed": 0, "void": 0, "expired": 0}
    assert [c["serial"] for c in codes] == [f"V{batch['id']}-{n:06d}" for n in (1, 2, 3)]
    assert all(CODE.match(c["code"]) for c in codes) and len({c["code"] for c in codes}) == 3
    rows = list(csv.reader(io.StringIO(made["csv"])))
    assert rows[0] == ["serial", "code", "value", "currency", "expires_at"]
    assert [(r[0], r[1], r[2], r[3]) for r in rows[1:]] == [(c["serial"], c["code"], "10.00", "USD") for c in codes]
    shown = await shop.reader(ONE, id=batch["id"])
    assert not any(c["code"] in str(shown) for c in codes), "a batch never shows its codes again"

    first = {"customer": pat.number, "code": codes[0]["code"].lower().replace("-", " ")}
    unsold = (await shop.finance(REDEEM, input=first))["redeemVoucher"]
    assert unsold["__typename"] == "ValidationError"
    assert unsold["message"] == f"voucher {codes[0]['serial']} has not been sold yet; ask the seller to activate it"
    assert unsold["fields"] == [{"path": ["input", "code"], "message": unsold["message"]}]

    sold = (await shop.isp(SELL, id=batch["id"]))["sellVoucherBatch"]
    assert sold["__typename"] == "VoucherBatch" and sold["soldAt"] is not None
    assert sold["counts"]["sold"] == 3
    again = (await shop.isp(SELL, id=batch["id"]))["sellVoucherBatch"]
    assert again["soldAt"] == sold["soldAt"], "selling a sold batch changes nothing"

    before = await balance(shop.isp, pat.number)
    redeemed = (await shop.finance(REDEEM, input=first))["redeemVoucher"]
    assert redeemed == {
        "__typename": "VoucherRedemption",
        "serial": codes[0]["serial"],
        "batchId": batch["id"],
        "customer": pat.number,
        "value": {"micros": 10 * DOLLAR, "formatted": "10.00 USD"},
        "replayed": False,
    }
    assert await balance(shop.isp, pat.number) == before + 10 * DOLLAR
    replayed = (await shop.isp(REDEEM, input=first))["redeemVoucher"]
    assert replayed["replayed"] is True
    assert await balance(shop.isp, pat.number) == before + 10 * DOLLAR, "a replay credits nothing"

    sam_before = await balance(shop.isp, sam.number)
    taken = (await shop.isp(REDEEM, input={"customer": sam.number, "code": codes[0]["code"]}))["redeemVoucher"]
    assert taken["__typename"] == "ValidationError"
    assert taken["message"] == f"voucher {codes[0]['serial']} has already been redeemed"
    assert await balance(shop.isp, sam.number) == sam_before
    async with shop.books.unit() as conn:  # the refusal was committed, so throttling counts it
        failed = select(func.count()).select_from(voucher_attempts).where(voucher_attempts.c.success.is_(False))
        assert (await conn.execute(failed)).scalar_one() == 2  # pat's unsold attempt, sam's

    voided = (await shop.isp(VOID, id=batch["id"]))["voidVoucherBatch"]
    assert voided["status"] == "void"
    assert voided["counts"] == {"created": 3, "sold": 3, "unredeemed": 0, "redeemed": 1, "void": 2, "expired": 0}
    cancelled = (await shop.isp(REDEEM, input={"customer": sam.number, "code": codes[1]["code"]}))["redeemVoucher"]
    assert cancelled["message"] == f"voucher {codes[1]['serial']} was cancelled and cannot be redeemed"
    resold = (await shop.isp(SELL, id=batch["id"]))["sellVoucherBatch"]
    assert (resold["status"], resold["soldAt"]) == ("void", sold["soldAt"]), "a sold batch is returned unchanged"
    assert (await shop.isp(ONE, id=batch["id"]))["voucherBatch"]["counts"]["redeemed"] == 1
    nobody = (await shop.isp(REDEEM, input={"customer": "nobody", "code": codes[2]["code"]}))["redeemVoucher"]
    assert nobody["__typename"] == "NotFound"
    await assert_ledger_sound(shop.books.tenant)


async def test_batches_page_by_key_and_refuse_bad_input(shop: Shop, assert_ledger_sound: Any) -> None:
    ids = [(await create(shop.isp, name=f"Batch {n}", count=1))["batch"]["id"] for n in range(2)]
    printed = (await shop.isp(PDF, input=batch_input("Batch 2", count=2)))["createVoucherBatch"]
    assert base64.b64decode(printed["pdfBase64"]).startswith(b"%PDF-")
    ids.append(printed["batch"]["id"])
    page = (await shop.reader(PAGE, first=2))["voucherBatches"]
    assert [e["node"]["id"] for e in page["edges"]] == ids[:2] and page["pageInfo"]["hasNextPage"]
    rest = (await shop.reader(PAGE, first=2, after=page["pageInfo"]["endCursor"]))["voucherBatches"]
    assert [e["node"]["id"] for e in rest["edges"]] == ids[2:] and not rest["pageInfo"]["hasNextPage"]
    assert await shop.reader.refused(PAGE, first=101) == "first must be from 1 to 100, got 101"

    too_many = (await shop.isp(CREATE, input=batch_input(count=10_001)))["createVoucherBatch"]
    assert too_many["__typename"] == "ValidationError" and too_many["fields"][0]["path"] == ["input", "count"]
    past = batch_input(expiresAt="2020-01-01T00:00:00+00:00")
    expired = (await shop.isp(CREATE, input=past))["createVoucherBatch"]
    assert (expired["__typename"], expired["fields"]) == ("ValidationError", [])
    assert expired["message"] == "expiry 2020-01-01T00:00:00+00:00 is not in the future"
    naive = (await shop.isp(CREATE, input=batch_input(expiresAt="2099-01-01T00:00:00")))["createVoucherBatch"]
    assert naive["message"] == "expiry must be a datetime with a time zone"
    unknown = (await shop.isp(CREATE, input=batch_input(reseller="nobody")))["createVoucherBatch"]
    assert unknown == {"__typename": "NotFound", "message": "no reseller has code 'nobody'"}
    assert len((await shop.isp(PAGE, first=10))["voucherBatches"]["edges"]) == 3, "nothing refused was written"
    assert (await shop.isp(VOID, id=ids[0]))["voidVoucherBatch"]["status"] == "void"
    unsellable = (await shop.isp(SELL, id=ids[0]))["sellVoucherBatch"]
    assert unsellable == {"__typename": "ValidationError",
                          "message": f"voucher batch {ids[0]} (Batch 0) was voided and cannot be sold"}  # fmt: skip
    await assert_ledger_sound(shop.books.tenant)


async def test_only_isp_admins_administer_batches_and_money_roles_redeem(shop: Shop, assert_ledger_sound: Any) -> None:
    pat = await shop.books.customer("pat", "box-monthly", "2026-11-01T00:00:00", prepaid=True)
    made = await create(shop.isp)
    batch_id = made["batch"]["id"]
    for api in (shop.care, shop.reader, shop.finance, shop.north):
        assert await api.refused(CREATE, input=batch_input()) == IsIspAdmin.message
        assert await api.refused(SELL, id=batch_id) == IsIspAdmin.message
        assert await api.refused(VOID, id=batch_id) == IsIspAdmin.message
    redeem = {"customer": pat.number, "code": made["codes"][0]["code"]}
    for api in (shop.care, shop.reader):
        assert await api.refused(REDEEM, input=redeem) == CanHandleMoney.message
    shown = (await shop.reader(ONE, id=batch_id))["voucherBatch"]
    assert (shown["soldAt"], shown["status"]) == (None, "active"), "nothing refused was written"
    assert len((await shop.reader(PAGE, first=10))["voucherBatches"]["edges"]) == 1
    await assert_ledger_sound(shop.books.tenant)


async def test_other_tenants_and_resellers_see_a_batch_as_missing(shop: Shop, assert_ledger_sound: Any) -> None:
    theirs = (await create(shop.isp))["batch"]
    north = (await create(shop.isp, name="North cards", reseller="north"))["batch"]
    assert north["reseller"] == "north"
    hidden = (await shop.other(ONE, id=theirs["id"]))["voucherBatch"]
    missing = (await shop.other(ONE, id="999999"))["voucherBatch"]
    assert hidden == {"__typename": "NotFound", "message": f"voucher batch {theirs['id']} does not exist"}
    assert missing == {"__typename": "NotFound", "message": "voucher batch 999999 does not exist"}
    assert (await shop.other(ONE, id="not-an-id"))["voucherBatch"]["__typename"] == "NotFound"
    assert (await shop.other(PAGE, first=10))["voucherBatches"]["edges"] == []
    sold = (await shop.other(SELL, id=theirs["id"]))["sellVoucherBatch"]
    assert sold == hidden
    assert (await shop.isp(ONE, id=theirs["id"]))["voucherBatch"]["soldAt"] is None, "the other tenant sold nothing"

    own = (await shop.north(ONE, id=north["id"]))["voucherBatch"]
    assert (own["__typename"], own["reseller"]) == ("VoucherBatch", "north")
    isp_own = (await shop.north(ONE, id=theirs["id"]))["voucherBatch"]
    assert isp_own == {"__typename": "NotFound", "message": f"voucher batch {theirs['id']} does not exist"}
    listed = (await shop.north(PAGE, first=10))["voucherBatches"]["edges"]
    assert [e["node"]["id"] for e in listed] == [north["id"]]
    assert [e["node"]["id"] for e in (await shop.isp(PAGE, first=10))["voucherBatches"]["edges"]] == [
        theirs["id"],
        north["id"],
    ]
    await assert_ledger_sound(shop.books.tenant)


async def test_a_reseller_key_redeems_onto_its_own_customers_only(shop: Shop, assert_ledger_sound: Any) -> None:
    realm = f"north.{shop.books.realm}"
    nora = await shop.books.customer("nora", "box-monthly", "2026-11-01T00:00:00", prepaid=True, reseller="north",
                                     realm=realm)  # fmt: skip
    pat = await shop.books.customer("pat", "box-monthly", "2026-11-01T00:00:00", prepaid=True)
    made = await create(shop.isp, reseller="north")
    await shop.isp(SELL, id=made["batch"]["id"])
    code = made["codes"][0]["code"]
    hidden = (await shop.north(REDEEM, input={"customer": pat.number, "code": code}))["redeemVoucher"]
    assert hidden == {"__typename": "NotFound", "message": f"no customer has number, code or login {pat.number!r}"}
    before = await balance(shop.north, nora.number)
    done = (await shop.north(REDEEM, input={"customer": nora.number, "code": code}))["redeemVoucher"]
    assert (done["__typename"], done["customer"]) == ("VoucherRedemption", nora.number)
    assert await balance(shop.north, nora.number) == before + 10 * DOLLAR
    counts = (await shop.north(ONE, id=made["batch"]["id"]))["voucherBatch"]["counts"]
    assert (counts["redeemed"], counts["unredeemed"]) == (1, 2)
    await assert_ledger_sound(shop.books.tenant)
