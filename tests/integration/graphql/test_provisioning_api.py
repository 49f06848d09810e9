"""Provisioning through /graphql alone, on a priced tenant: file targets added, listed,
disabled, enabled and removed; folders outside the tenant's exports root and other bad
input refused field by field; a target's secret sealed and never shown; provisioning
jobs listed from the outbox and queued (never run inline) by startProvisioning and
startReconciliation, an export of one target among them, and shown done or failed once a
worker has run them; stored reconciliations shown with their findings; another tenant's
targets, jobs and runs answered as missing; reseller, read-only and care keys refused
the writes. The books are checked after the tests whose customers post charges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.graphql.permissions import IsIspAdmin, IsIspStaff
from bureau.graphql.provisioning.types import ReconciliationFindingKind
from bureau.platform import outbox
from bureau.platform.provisioning import export, jobs, reconcile, targets
from bureau.platform.provisioning.changes import EXPORT_ACTOR
from bureau.platform.provisioning.listing import RECONCILE_ACTOR
from bureau.platform.provisioning.tables import export_targets, reconciliations
from bureau.platform.scheduled import queue_due
from bureau.platform.scheduling import JOBS, time_zone
from bureau.platform.subscribers import resellers
from bureau.tenants import apikeys
from tests.integration.graphql.conftest import Api
from tests.integration.platform.billing.conftest import Books, make_books

EXPORT = "lastExport { outcome accounts error }"
TARGET = f"name format folder options enabled onUnbilled hasSecret createdAt updatedAt {EXPORT}"
ADD = f"""
mutation($input: AddProvisioningTargetInput!) {{ addProvisioningTarget(input: $input) {{
  __typename ... on ProvisioningTarget {{ {TARGET} }}
  ... on ValidationError {{ message fields {{ path message }} }} }} }}"""
TARGETS = f"{{ provisioningTargets {{ {TARGET} }} }}"
ONE = f"""
query($name: String!) {{ provisioningTarget(name: $name) {{
  __typename ... on ProvisioningTarget {{ {TARGET} }} ... on NotFound {{ message }} }} }}"""
ENABLE = """
mutation($name: String!) { enableProvisioningTarget(name: $name) {
  __typename ... on ProvisioningTarget { name enabled } ... on NotFound { message } } }"""
DISABLE = ENABLE.replace("enableProvisioningTarget", "disableProvisioningTarget")
REMOVE = """
mutation($name: String!) { removeProvisioningTarget(name: $name) {
  __typename ... on RemovedProvisioningTarget { name } ... on NotFound { message } } }"""
JOB = "id kind state target period createdAt sentAt finishedAt error"
JOBS_PAGE = f"""
query($first: Int!, $after: String, $state: ProvisioningJobState) {{
  provisioningJobs(first: $first, after: $after, state: $state) {{
    edges {{ cursor node {{ {JOB} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
START = f"""
mutation($target: String) {{ startProvisioning(target: $target) {{
  __typename ... on ProvisioningJob {{ {JOB} }} ... on NotFound {{ message }}
  ... on ValidationError {{ message fields {{ path message }} }} }} }}"""
RECONCILE = f"mutation {{ startReconciliation {{ {JOB} }} }}"
RUNS = """
query($first: Int!, $after: String, $findings: Int!) { reconciliations(first: $first, after: $after) {
  edges { cursor node { id subject target ranAt missing unbilled differing fixed note storedFindings
    findings(first: $findings) { kind key detail } } }
  pageInfo { hasNextPage endCursor } } }"""
UNIX = {"name": "unix", "format": "unix", "options": {"kinds": ["radius_login"]}, "folder": "unix/main"}


@dataclass
class Office:
    books: Books
    isp: Api  # ISP admin
    reader: Api  # ISP read-only
    care: Api  # ISP customer care
    north: Api  # a reseller key (admin role) of reseller "north"
    other: Api  # an ISP admin key of another tenant
    other_books: Books


@pytest.fixture
async def office(engine: AsyncEngine, make_tenant: Any) -> AsyncIterator[Office]:
    books = await make_books(engine, make_tenant, "gqprov")
    other = await make_books(engine, make_tenant, "gqprovb")
    async with books.unit() as conn:
        await resellers.create_reseller(conn, code="north", name="North", realms=(f"north.{books.realm}",))

    async def key(role: str, tenant: str, scope: str = "isp", reseller: str | None = None) -> str:
        made = await apikeys.create_api_key(
            engine, name=f"{scope}-{role}", scope=scope, role=role, tenant=tenant, reseller=reseller, actor="test"
        )
        return made.token

    slug = books.tenant.slug
    app = create_app(engine, box=books.box)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bureau.test") as client:
        yield Office(
            books,
            isp=Api(client, await key("admin", slug)),
            reader=Api(client, await key("read_only", slug)),
            care=Api(client, await key("care", slug)),
            north=Api(client, await key("admin", slug, "reseller", "north")),
            other=Api(client, await key("admin", other.tenant.slug)),
            other_books=other,
        )


async def add(api: Api, **given: Any) -> dict[str, Any]:
    answer: dict[str, Any] = (await api(ADD, input=given))["addProvisioningTarget"]
    return answer


async def relay_everything(books: Books) -> None:
    """What the relay does to the outbox (its own functions): every message marked sent."""
    async with books.unit() as conn:
        await outbox.mark_sent(conn, await outbox.claim(conn))


async def outbox_rows(books: Books) -> list[tuple[int, str, dict[str, Any], bool]]:
    async with books.unit() as conn:
        rows = await conn.execute(select(outbox.outbox).order_by(outbox.outbox.c.id))
        return [(row.id, row.actor, dict(row.args), row.sent_at is None) for row in rows]


async def target_rows(books: Books) -> list[tuple[str, str, bool]]:
    async with books.unit() as conn:
        rows = await conn.execute(select(export_targets).order_by(export_targets.c.name))
        return [(row.name, row.folder, row.enabled) for row in rows]


def failure(answer: dict[str, Any]) -> tuple[str, list[list[str]]]:
    assert answer["__typename"] == "ValidationError", answer
    return answer["message"], [f["path"] for f in answer["fields"]]


async def test_a_file_target_is_added_listed_disabled_enabled_and_removed(
    office: Office, tmp_path: Path, assert_ledger_sound: Any
) -> None:
    made = await add(office.isp, **UNIX, onUnbilled="FLAG")
    assert made["__typename"] == "ProvisioningTarget", made
    assert (made["name"], made["format"], made["folder"], made["options"]) == (
        "unix",
        "unix",
        "unix/main",
        {"kinds": ["radius_login"]},
    )
    assert (made["enabled"], made["onUnbilled"], made["hasSecret"], made["lastExport"]) == (True, "FLAG", False, None)
    assert datetime.fromisoformat(made["createdAt"]) <= datetime.now(UTC)
    await add(office.isp, name="radius", format="radius_users")  # folder defaults to the name

    listed = (await office.reader(TARGETS))["provisioningTargets"]
    assert [(t["name"], t["folder"], t["enabled"]) for t in listed] == [
        ("radius", "radius", True),
        ("unix", "unix/main", True),
    ]

    # The worker's export (run here directly, into a tmp exports root) shows as the last export.
    await office.books.customer("pat", "box-monthly", "2026-11-01T00:00:00", prepaid=True)
    async with office.books.unit() as conn:
        await export.export_all(conn, office.books.box, tmp_path)
    shown = (await office.isp(ONE, name="unix"))["provisioningTarget"]
    assert shown["lastExport"] == {"outcome": "written", "accounts": 1, "error": None}
    assert (tmp_path / "unix" / "main" / "passwd").read_text().startswith(f"pat.{office.books.realm}:")

    assert (await office.isp(DISABLE, name="unix"))["disableProvisioningTarget"] == {
        "__typename": "ProvisioningTarget",
        "name": "unix",
        "enabled": False,
    }
    assert ("unix", "unix/main", False) in await target_rows(office.books)
    assert (await office.isp(ENABLE, name="unix"))["enableProvisioningTarget"]["enabled"] is True
    removed = (await office.isp(REMOVE, name="unix"))["removeProvisioningTarget"]
    assert removed == {"__typename": "RemovedProvisioningTarget", "name": "unix"}
    assert await target_rows(office.books) == [("radius", "radius", True)]
    assert (tmp_path / "unix" / "main" / "passwd").exists(), "removing a target leaves its files"
    gone = (await office.isp(ONE, name="unix"))["provisioningTarget"]
    assert gone == {"__typename": "NotFound", "message": "no export target named 'unix'"}
    assert (await office.isp(REMOVE, name="unix"))["removeProvisioningTarget"]["__typename"] == "NotFound"
    assert (await office.isp(ENABLE, name="unix"))["enableProvisioningTarget"]["__typename"] == "NotFound"
    await assert_ledger_sound(office.books.tenant)


ESCAPES = ("../other", "/etc", "unix/../../etc", "..", ".ssh", "a/b/c/d/e", "Unix", "unix/", "", "unix//main", "~root")


async def test_a_folder_outside_the_exports_root_is_refused(office: Office) -> None:
    for folder in ESCAPES:
        message, paths = failure(await add(office.isp, name="unix", format="unix", folder=folder))
        assert paths == [["input", "folder"]], folder
        assert "relative path" in message and repr(folder) in message
    assert await target_rows(office.books) == []
    assert await outbox_rows(office.books) == [], "nothing was queued"


async def test_bad_input_is_refused_naming_the_field(office: Office) -> None:
    cases: list[tuple[dict[str, Any], list[str], str]] = [
        ({"name": "Unix!", "format": "unix"}, ["input", "name"], "lower-case"),
        ({"name": "unix", "format": "passwd"}, ["input", "format"], "known: bind, bsd"),
        ({"name": "unix", "format": "unix", "options": {"gid": "many"}}, ["input", "options"], "gid"),
        ({"name": "unix", "format": "unix", "options": [1, 2]}, ["input", "options"], "JSON object"),
        (
            {"name": "hook", "format": "webhook", "options": {"url": "https://hooks.isp.example/b"}},
            ["input", "secret"],
            "needs a secret",
        ),
        (
            {"name": "hook", "format": "webhook", "options": {"url": "https://hooks.isp.example/b"}, "secret": ""},
            ["input", "secret"],
            "non-empty",
        ),
    ]
    for given, path, words in cases:
        message, paths = failure(await add(office.isp, **given))
        assert (paths, words in message) == ([path], True), (given, message)
    assert await target_rows(office.books) == []

    assert (await add(office.isp, **UNIX))["__typename"] == "ProvisioningTarget"
    message, paths = failure(await add(office.isp, **UNIX | {"folder": "other"}))
    assert (paths, message) == ([["input", "name"]], "a target named 'unix' already exists; each target needs its own")
    message, paths = failure(await add(office.isp, **UNIX | {"name": "unix2"}))
    assert (paths, message) == (
        [["input", "folder"]],
        "a target writing to folder 'unix/main' already exists; each target needs its own",
    )
    # The field is the one the platform names, though the message quotes the format and the name's value too.
    message, paths = failure(await add(office.isp, name="mail", format="unix", options={"gid": "mail"}))
    assert (paths, message) == (
        [["input", "options"]],
        "options for format 'unix': unix option 'gid' must be an integer, got 'mail'",
    )
    assert await target_rows(office.books) == [("unix", "unix/main", True)]


async def test_a_targets_secret_is_sealed_and_never_returned(office: Office) -> None:
    secret = "hook-signing-key-7f3a9c"
    made = await add(
        office.isp, name="hook", format="webhook", options={"url": "https://hooks.isp.example/b"}, secret=secret
    )
    assert (made["__typename"], made["hasSecret"], made["options"]) == (
        "ProvisioningTarget",
        True,
        {"url": "https://hooks.isp.example/b"},
    )
    listing = await office.isp.raw(TARGETS)
    one = await office.isp.raw(ONE, name="hook")
    for body in (made, listing, one):
        assert secret not in str(body)
    async with office.books.unit() as conn:
        stored = await targets.get_target(conn, "hook")
        sealed = (await conn.execute(select(export_targets.c.secret))).scalar_one()
    assert secret.encode() not in sealed
    assert targets.target_secret(office.books.box, stored) == secret


async def test_jobs_are_listed_after_a_service_change_queues_an_export_and_shown_done_or_failed_once_run(
    office: Office, tmp_path: Path, assert_ledger_sound: Any
) -> None:
    assert (await office.reader(JOBS_PAGE, first=10))["provisioningJobs"]["edges"] == []
    await office.books.customer("pat", "box-monthly", "2026-11-01T00:00:00", prepaid=True)
    async with office.books.unit() as conn:
        # The scheduler's own queueing at 03:30 UTC: reaping and voucher expiry are not provisioning jobs.
        queued = await queue_due(conn, time_zone("UTC"), datetime(2026, 12, 2, 3, 30, tzinfo=UTC))
    assert ("reconcile_tenant", "2026-12-02") in queued and len(queued) > 1
    page = (await office.reader(JOBS_PAGE, first=10))["provisioningJobs"]
    jobs_shown = [edge["node"] for edge in page["edges"]]
    assert [(j["kind"], j["state"], j["period"], j["target"], j["sentAt"], j["finishedAt"]) for j in jobs_shown] == [
        ("RECONCILE", "PENDING", "2026-12-02", None, None, None),
        ("EXPORT", "PENDING", None, None, None, None),
    ]
    rows = await outbox_rows(office.books)
    assert [int(j["id"]) for j in jobs_shown] == [
        r[0] for r in reversed(rows) if r[1] in (EXPORT_ACTOR, RECONCILE_ACTOR)
    ]

    await relay_everything(office.books)
    page = (await office.reader(JOBS_PAGE, first=1))["provisioningJobs"]
    assert [e["node"]["state"] for e in page["edges"]] == ["SENT"] and page["pageInfo"]["hasNextPage"]
    rest = (await office.reader(JOBS_PAGE, first=1, after=page["pageInfo"]["endCursor"]))["provisioningJobs"]
    assert [(e["node"]["kind"], e["node"]["state"]) for e in rest["edges"]] == [("EXPORT", "SENT")]
    assert not rest["pageInfo"]["hasNextPage"]
    assert (await office.reader(JOBS_PAGE, first=10, state="PENDING"))["provisioningJobs"]["edges"] == []
    assert len((await office.reader(JOBS_PAGE, first=10, state="SENT"))["provisioningJobs"]["edges"]) == 2

    # What the workers record: the export ran (no target: done at once), the reconciliation failed.
    reconcile_id, export_id = (int(j["id"]) for j in jobs_shown)
    await export.export_each(office.books.unit, office.books.box, tmp_path, job=export_id)
    async with office.books.unit() as conn:
        await jobs.record_failure(conn, reconcile_id, "directory: ldap://127.0.0.1:9 did not answer")
    shown = [e["node"] for e in (await office.reader(JOBS_PAGE, first=10))["provisioningJobs"]["edges"]]
    assert [(j["kind"], j["state"], j["error"]) for j in shown] == [
        ("RECONCILE", "FAILED", "directory: ldap://127.0.0.1:9 did not answer"),
        ("EXPORT", "DONE", None),
    ]
    for job in shown:
        assert datetime.fromisoformat(job["sentAt"]) <= datetime.fromisoformat(job["finishedAt"]) <= datetime.now(UTC)
    for state, kinds in (("DONE", ["EXPORT"]), ("FAILED", ["RECONCILE"]), ("SENT", []), ("PENDING", [])):
        edges = (await office.reader(JOBS_PAGE, first=10, state=state))["provisioningJobs"]["edges"]
        assert [e["node"]["kind"] for e in edges] == kinds, state
    bad = await office.reader.refused(JOBS_PAGE, first=10, after="bm9wZTox")
    assert "is not a cursor of this list" in bad
    await assert_ledger_sound(office.books.tenant)


async def test_start_provisioning_queues_one_outbox_message_and_runs_nothing(office: Office) -> None:
    message, paths = failure((await office.isp(START))["startProvisioning"])
    assert "no export target is enabled" in message and paths == []
    await add(office.isp, **UNIX)
    await add(office.isp, name="radius", format="radius_users")
    await office.isp(DISABLE, name="radius")
    await relay_everything(office.books)  # the exports adding them queued are gone to the workers
    before = await outbox_rows(office.books)

    one = (await office.isp(START, target="unix"))["startProvisioning"]
    assert (one["__typename"], one["kind"], one["state"], one["target"], one["sentAt"], one["finishedAt"]) == (
        "ProvisioningJob",
        "EXPORT",
        "PENDING",
        "unix",
        None,
        None,
    )
    after = await outbox_rows(office.books)
    assert after[: len(before)] == before
    assert after[len(before) :] == [(int(one["id"]), EXPORT_ACTOR, {"target": "unix"}, True)]
    assert (await office.isp(START, target="unix"))["startProvisioning"] == one, "an unsent export stands for another"
    assert await outbox_rows(office.books) == after

    every = (await office.isp(START))["startProvisioning"]
    assert (int(every["id"]) > int(one["id"]), every["target"]) == (True, None)
    assert (await office.isp(START, target="unix"))["startProvisioning"] == every, "an export of all stands for one"
    assert await outbox_rows(office.books) == [*after, (int(every["id"]), EXPORT_ACTOR, {}, True)]

    async with office.books.unit() as conn:
        runs = (await conn.execute(select(func.count()).select_from(export.export_runs))).scalar_one()
    assert runs == 0, "the export is the workers' to run, not the request's"
    missing = (await office.isp(START, target="nope"))["startProvisioning"]
    assert missing == {"__typename": "NotFound", "message": "no export target named 'nope'"}
    message, paths = failure((await office.isp(START, target="radius"))["startProvisioning"])
    assert (paths, message) == ([["target"]], "target 'radius' is disabled; enable it first")


async def test_start_reconciliation_queues_the_nightly_actor(office: Office) -> None:
    job = (await office.isp(RECONCILE))["startReconciliation"]
    assert (job["kind"], job["state"], job["period"]) == ("RECONCILE", "PENDING", "on-request")
    assert await outbox_rows(office.books) == [(int(job["id"]), RECONCILE_ACTOR, {"period": "on-request"}, True)]
    assert (await office.isp(RECONCILE))["startReconciliation"]["id"] == job["id"]
    await relay_everything(office.books)
    second = (await office.isp(RECONCILE))["startReconciliation"]
    assert int(second["id"]) > int(job["id"])
    async with office.books.unit() as conn:
        runs = (await conn.execute(select(func.count()).select_from(reconciliations))).scalar_one()
    assert runs == 0, "reconciling is the workers' to do"


def test_the_queued_actors_are_the_workers_and_the_schedulers() -> None:
    from bureau.workers import actors  # noqa: F401  (declares them)
    from bureau.workers.registry import declared

    names = {actor.actor_name: actor for actor in declared()}
    assert RECONCILE_ACTOR in {job.name for job in JOBS}
    assert {EXPORT_ACTOR, RECONCILE_ACTOR} <= names.keys()
    assert {kind.value for kind in ReconciliationFindingKind} == {kind.value for kind in reconcile.Finding}


async def test_reconciliation_results_are_listed_with_their_findings(
    office: Office, tmp_path: Path, assert_ledger_sound: Any
) -> None:
    await office.books.customer("pat", "box-monthly", "2026-11-01T00:00:00", prepaid=True)
    await add(office.isp, **UNIX)
    async with office.books.unit() as conn:
        await export.export_all(conn, office.books.box, tmp_path)
    passwd = tmp_path / "unix" / "main" / "passwd"
    passwd.write_text(passwd.read_text() + "mallory:x:0:0::/root:/bin/sh\n")
    async with office.books.unit() as conn:
        await reconcile.reconcile_all(conn, office.books.box, tmp_path)

    page = (await office.reader(RUNS, first=1, findings=10))["reconciliations"]
    (sessions,) = [edge["node"] for edge in page["edges"]]
    assert (sessions["subject"], sessions["target"], sessions["storedFindings"], sessions["findings"]) == (
        "radius-sessions",
        None,
        0,
        [],
    )
    assert page["pageInfo"]["hasNextPage"]
    rest = (await office.reader(RUNS, first=5, after=page["pageInfo"]["endCursor"], findings=10))["reconciliations"]
    (unix,) = [edge["node"] for edge in rest["edges"]]
    assert (unix["subject"], unix["target"], unix["missing"], unix["unbilled"], unix["differing"]) == (
        "unix",
        "unix",
        0,
        1,
        0,
    )
    assert (unix["fixed"], unix["note"], unix["storedFindings"]) == (False, None, 1)
    assert unix["findings"] == [{"kind": "UNBILLED", "key": "mallory", "detail": unix["findings"][0]["detail"]}]
    assert "uid=0" in unix["findings"][0]["detail"]
    assert not rest["pageInfo"]["hasNextPage"]
    refused = await office.reader.refused(RUNS, first=1, findings=0)
    assert refused == "first must be from 1 to 1000, got 0"
    await assert_ledger_sound(office.books.tenant)


async def test_another_tenants_targets_jobs_and_reconciliations_are_invisible(office: Office, tmp_path: Path) -> None:
    theirs = office.other_books
    async with theirs.unit() as conn:
        await targets.add_target(conn, "secret-unix", "unix", folder="theirs")  # queues their export
        await reconcile.reconcile_all(conn, theirs.box, tmp_path)
        await outbox.enqueue(conn, RECONCILE_ACTOR, {"period": "on-request"}, key="on-request")
    their_outbox, their_targets = await outbox_rows(theirs), await target_rows(theirs)

    for api in (office.isp, office.reader):
        assert (await api(TARGETS))["provisioningTargets"] == []
        assert (await api(JOBS_PAGE, first=10))["provisioningJobs"]["edges"] == []
        assert (await api(RUNS, first=10, findings=10))["reconciliations"]["edges"] == []
    hidden = (await office.isp(ONE, name="secret-unix"))["provisioningTarget"]
    absent = (await office.isp(ONE, name="no-such"))["provisioningTarget"]
    assert hidden == {"__typename": "NotFound", "message": "no export target named 'secret-unix'"}
    assert absent["message"] == hidden["message"].replace("secret-unix", "no-such")
    for mutation in (ENABLE, DISABLE, REMOVE):
        answer = next(iter((await office.isp(mutation, name="secret-unix")).values()))
        assert answer == hidden, mutation
    assert (await office.isp(START, target="secret-unix"))["startProvisioning"] == hidden
    # Their name and folder are free here: each tenant has its own targets and exports root.
    mine = await add(office.isp, name="secret-unix", format="unix", folder="theirs")
    assert mine["__typename"] == "ProvisioningTarget"

    assert await outbox_rows(theirs) == their_outbox
    assert await target_rows(theirs) == their_targets == [("secret-unix", "theirs", True)]
    assert [t["name"] for t in (await office.other(TARGETS))["provisioningTargets"]] == ["secret-unix"]
    their_jobs = (await office.other(JOBS_PAGE, first=10))["provisioningJobs"]["edges"]
    assert [e["node"]["kind"] for e in their_jobs] == ["RECONCILE", "EXPORT"]
    their_runs = (await office.other(RUNS, first=10, findings=1))["reconciliations"]["edges"]
    assert [e["node"]["subject"] for e in their_runs] == ["radius-sessions", "secret-unix"]


async def test_reseller_read_only_and_care_keys_are_refused_the_writes(office: Office) -> None:
    await add(office.isp, **UNIX)
    await relay_everything(office.books)
    rows, targets_before = await outbox_rows(office.books), await target_rows(office.books)
    writes: list[tuple[str, dict[str, Any]]] = [
        (ADD, {"input": {"name": "more", "format": "unix"}}),
        (ENABLE, {"name": "unix"}),
        (DISABLE, {"name": "unix"}),
        (REMOVE, {"name": "unix"}),
        (START, {}),
        (RECONCILE, {}),
    ]
    for api in (office.north, office.reader, office.care):
        for query, variables in writes:
            assert await api.refused(query, **variables) == IsIspAdmin.message, (query, api)
    for query, variables in ((TARGETS, {}), (JOBS_PAGE, {"first": 5}), (RUNS, {"first": 5, "findings": 1})):
        assert await office.north.refused(query, **variables) == IsIspStaff.message
    assert await office.north.refused(ONE, name="unix") == IsIspStaff.message
    assert await outbox_rows(office.books) == rows
    assert await target_rows(office.books) == targets_before
    assert [t["name"] for t in (await office.reader(TARGETS))["provisioningTargets"]] == ["unix"]
