"""Bulk registration of customers and their RADIUS logins from CSV (issue 3, "Bulk account registration").

All or nothing, owned here rather than by the caller: the whole import runs inside a
savepoint of the caller's transaction, and every row in a savepoint of its own (so a row
refused by the database does not stop the next rows from being checked). When any row
fails, or on a dry run, the outer savepoint is rolled back, so nothing of the file
remains in the caller's transaction whatever the caller does next. A failed import then
raises `ImportFailed` with the full report; a dry run or a clean import returns it.

Rows are first checked without the database (fields, duplicates inside the file), then
created with `create_customer` and `add_service`, each error kept with the CSV line
number (the header is line 1) and the field it is about.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..catalog.classes import get_subscriber_class
from ..catalog.errors import CatalogError
from ..catalog.plans import PlanStatus, get_plan
from ..crypto import passwords
from ..crypto.secretbox import SecretBox
from ..ledger.entities import CODE_PATTERN
from ..ledger.errors import LedgerError
from ..money import MoneyError, parse_decimal_micros
from .customers import COUNTRY_PATTERN, MAX_ADDRESS_LINES, Address, create_customer
from .errors import InvalidSubscriberValue, SubscriberError
from .resellers import check_plan_allowed, get_reseller
from .services import LOGIN_PATTERN, ServiceKind, add_service
from .validate import check_email, check_phone, check_realm, check_text

REQUIRED_COLUMNS = ("code", "name", "email", "country", "login", "password", "plan")
OPTIONAL_COLUMNS = (
    "phone",
    "state",
    "city",
    "postal_code",
    "address",
    "prepaid",
    "credit_limit",
    "reseller",
    "subscriber_class",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_ROWS = 100_000
MAX_BYTES = 10 * 1024 * 1024
MAX_ERRORS = 1_000  # more are counted, not kept
YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})
# Expected, user-facing refusals of the services a row goes through; anything else is a bug.
ROW_ERRORS = (SubscriberError, CatalogError, LedgerError, MoneyError, passwords.InvalidPassword)

Progress = Callable[[int, int], None]  # (rows done, rows in all)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int | None  # CSV line (1 is the header); None: the file as a whole
    field: str | None  # the column it is about, if one
    message: str

    def __str__(self) -> str:
        where = "file" if self.line is None else f"line {self.line}"
        return f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: int  # data rows read
    valid: int  # rows that passed every check (created, unless dry run or failed)
    created: int  # customers created and kept: 0 on a dry run or a failed import
    dry_run: bool
    errors: tuple[RowError, ...]
    errors_total: int  # may exceed len(errors) (MAX_ERRORS kept)

    @property
    def ok(self) -> bool:
        return self.errors_total == 0


class ImportFailed(SubscriberError):
    """At least one row (or the file) was refused; nothing was written. Carries the report."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"import refused: {report.errors_total} error(s) in {report.rows} row(s); nothing was written")
        self.report = report


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    line: int
    code: str
    name: str
    email: str
    phone: str | None
    address: Address
    prepaid: bool
    credit_limit_micros: int
    reseller: str | None
    subscriber_class: str | None
    login: str
    password: str
    plan: str


@dataclass
class _Errors:
    kept: list[RowError] = field(default_factory=list)
    total: int = 0

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.total += 1
        if len(self.kept) < MAX_ERRORS:
            self.kept.append(RowError(line, column, message))


def _records(source: str | Iterable[Mapping[str, str]], errors: _Errors) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, cells by column) of each data row; header and shape problems go to `errors`."""
    if isinstance(source, str):
        if len(source.encode()) > MAX_BYTES:
            errors.add(None, None, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it")
            return
        reader = csv.reader(io.StringIO(source, newline=""))
        try:
            header = [name.strip().lower() for name in next(reader)]
        except StopIteration:
            errors.add(None, None, f"the file is empty; the first line must name the columns: {', '.join(COLUMNS)}")
            return
        if not _header_ok(header, errors):
            return
        end = reader.line_num
        try:
            for cells in reader:
                line, end = end + 1, reader.line_num
                if not any(c.strip() for c in cells):
                    continue  # blank line
                if len(cells) != len(header):
                    errors.add(line, None, f"has {len(cells)} cells, the header has {len(header)}")
                    continue
                yield line, dict(zip(header, cells, strict=True))
        except csv.Error as exc:
            errors.add(end + 1, None, f"is not valid CSV ({exc}); nothing after it was read")
        return
    checked = False
    for index, mapping in enumerate(source):
        named = {str(k).strip().lower(): v for k, v in mapping.items()}
        if not checked:
            checked = True
            if not _header_ok(list(named), errors):
                return
        yield index + 2, named  # as if a header were on line 1


def _header_ok(header: list[str], errors: _Errors) -> bool:
    problems = []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    extra = [c for c in header if c not in COLUMNS]
    if extra:
        problems.append(f"unknown column(s) {', '.join(repr(c) for c in extra)}")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    for problem in problems:
        errors.add(
            1,
            None,
            f"{problem}; the columns are {', '.join(REQUIRED_COLUMNS)} and optionally {', '.join(OPTIONAL_COLUMNS)}",
        )
    return not problems


def _optional(cells: Mapping[str, str], column: str) -> str | None:
    value = (cells.get(column) or "").strip()
    return value or None


def _check(line: int, cells: Mapping[str, str], errors: _Errors) -> SubscriberRow | None:
    """A row's fields checked without the database; every bad field is reported."""
    before = errors.total
    values: dict[str, Any] = {}

    def take(column: str, check: Callable[[str | None], Any]) -> None:
        try:
            values[column] = check(_optional(cells, column))
        except ROW_ERRORS as exc:
            errors.add(line, column, str(exc).strip())

    def code(value: str | None) -> str:
        if value is None or not CODE_PATTERN.fullmatch(value):
            raise InvalidSubscriberValue(
                f"{value or ''!r} must be 1-128 letters, digits or . _ @ + -, starting with a letter or digit"
            )
        return value

    def country(value: str | None) -> str:
        if value is None or not COUNTRY_PATTERN.fullmatch(value):
            raise InvalidSubscriberValue(f"{value or ''!r} must be an ISO 3166-1 alpha-2 code in capitals, like 'DE'")
        return value

    def address(value: str | None) -> tuple[str, ...]:
        lines = tuple(part.strip() for part in (value or "").splitlines() if part.strip())
        if len(lines) > MAX_ADDRESS_LINES:
            raise InvalidSubscriberValue(f"at most {MAX_ADDRESS_LINES} lines, got {len(lines)}")
        return tuple(str(check_text(part, "an address line")) for part in lines)

    def prepaid(value: str | None) -> bool:
        if value is None:
            return True
        if value.lower() not in YES | NO:
            raise InvalidSubscriberValue(f"{value!r} must be yes or no")
        return value.lower() in YES

    def credit_limit(value: str | None) -> int:
        micros = 0 if value is None else parse_decimal_micros(value)
        if micros < 0:
            raise InvalidSubscriberValue(f"{value!r} must not be negative")
        return micros

    def login(value: str | None) -> str:
        user, at, realm = (value or "").rpartition("@")
        if not at or not LOGIN_PATTERN.fullmatch(user):
            raise InvalidSubscriberValue(
                f"{value or ''!r} must be user@realm, the user 1-64 letters, digits or . _ + -"
            )
        return f"{user}@{check_realm(realm)}"

    def required(what: str) -> Callable[[str | None], str]:
        return lambda value: str(check_text(value, what))

    take("code", code)
    take("name", required("name"))
    take("email", lambda v: check_email(v or "", ""))  # "" : the column is named already
    take("phone", lambda v: check_phone(v, ""))
    take("country", country)
    take("state", lambda v: check_text(v, "state", required=False))
    take("city", lambda v: check_text(v, "city", required=False))
    take("postal_code", lambda v: check_text(v, "postal code", required=False))
    take("address", address)
    take("prepaid", prepaid)
    take("credit_limit", credit_limit)
    take("reseller", lambda v: v)
    take("subscriber_class", lambda v: v)
    take("login", login)
    # The password keeps its spaces: only an empty cell is "missing".
    try:
        values["password"] = passwords.check_password(cells.get("password") or "")
    except passwords.InvalidPassword as exc:
        errors.add(line, "password", str(exc))
    take("plan", required("plan"))
    if errors.total > before:
        return None
    place = Address(values["country"], values["state"], values["city"], values["postal_code"], values["address"])
    return SubscriberRow(
        line=line,
        code=values["code"],
        name=values["name"],
        email=values["email"],
        phone=values["phone"],
        address=place,
        prepaid=values["prepaid"],
        credit_limit_micros=values["credit_limit"],
        reseller=values["reseller"],
        subscriber_class=values["subscriber_class"],
        login=values["login"],
        password=values["password"],
        plan=values["plan"],
    )


def parse_rows(source: str | Iterable[Mapping[str, str]]) -> tuple[int, list[SubscriberRow], _Errors]:
    """Read and check every row without the database: (rows read, good rows, errors).

    Duplicates inside the file (the same code, or the same login, twice) are refused on the
    later line, naming the earlier one.
    """
    errors = _Errors()
    good: list[SubscriberRow] = []
    first_code: dict[str, int] = {}
    first_login: dict[str, int] = {}
    count = 0
    for line, cells in _records(source, errors):
        count += 1
        if count > MAX_ROWS:
            errors.add(line, None, f"the file has more than {MAX_ROWS} rows; split it")
            count -= 1
            break
        row = _check(line, cells, errors)
        seen = False
        code = _optional(cells, "code")
        if code is not None:
            if code in first_code:
                errors.add(line, "code", f"{code!r} is also on line {first_code[code]}")
                seen = True
            else:
                first_code[code] = line
        login = row.login if row is not None else _optional(cells, "login")
        if login is not None:
            user, _, realm = login.rpartition("@")
            key = f"{user}@{realm.lower()}"  # as stored: the realm lower-cased
            if key in first_login:
                errors.add(line, "login", f"{login!r} is also on line {first_login[key]}")
                seen = True
            else:
                first_login[key] = line
        if row is not None and not seen:
            good.append(row)
    return count, good, errors


async def _references(
    conn: AsyncConnection, row: SubscriberRow, cache: dict[tuple[str, ...], RowError | None]
) -> RowError | None:
    """The first problem with the reseller, class and plan a row names (looked up once each)."""
    checks: list[tuple[tuple[str, ...], str, Callable[[], Any]]] = []
    if row.reseller is not None:
        checks.append((("reseller", row.reseller), "reseller", lambda: get_reseller(conn, str(row.reseller))))
    if row.subscriber_class is not None:
        checks.append(
            (
                ("class", row.subscriber_class),
                "subscriber_class",
                lambda: get_subscriber_class(conn, str(row.subscriber_class)),
            )
        )
    checks.append((("plan", row.plan, row.reseller or ""), "plan", lambda: _sellable(conn, row.plan, row.reseller)))
    for key, column, lookup in checks:
        if key not in cache:
            try:
                await lookup()
                cache[key] = None
            except ROW_ERRORS as exc:
                cache[key] = RowError(None, column, str(exc))
        found = cache[key]
        if found is not None:
            return RowError(row.line, found.field, found.message)
    return None


async def _sellable(conn: AsyncConnection, plan_code: str, reseller: str | None) -> None:
    plan = await get_plan(conn, plan_code)
    if plan.status is not PlanStatus.ACTIVE:
        raise InvalidSubscriberValue(f"plan {plan_code!r} is {plan.status.value}; choose an active plan")
    if reseller is not None:
        await check_plan_allowed(conn, await get_reseller(conn, reseller), plan_code)


async def import_subscribers(
    conn: AsyncConnection,
    box: SecretBox,
    source: str | Iterable[Mapping[str, str]],
    *,
    dry_run: bool,
    progress: Progress | None = None,
) -> ImportReport:
    """Create a customer and its RADIUS login for every row of a CSV file, or none at all.

    `source` is the CSV text (header on line 1, columns COLUMNS) or rows already split
    into cells. Runs in the caller's transaction (a tenant unit) inside a savepoint:
    returns the report when every row was created (kept) or on a dry run (rolled back);
    raises `ImportFailed(report)` when any row or the file was refused, with the
    savepoint already rolled back, so nothing of the file is ever written.
    """
    count, good, errors = parse_rows(source)
    created = 0
    cache: dict[tuple[str, ...], RowError | None] = {}
    savepoint = await conn.begin_nested()
    try:
        for done, row in enumerate(good, start=1):
            problem = await _references(conn, row, cache)
            if problem is not None:
                errors.add(problem.line, problem.field, problem.message)
            else:
                column: str | None = None  # create_customer's own refusals are about the row (its code)
                try:
                    async with conn.begin_nested():
                        customer = await create_customer(
                            conn,
                            code=row.code,
                            name=row.name,
                            email=row.email,
                            address=row.address,
                            phone=row.phone,
                            reseller=row.reseller,
                            subscriber_class=row.subscriber_class,
                            prepaid=row.prepaid,
                            credit_limit_micros=row.credit_limit_micros,
                        )
                        column = "login"
                        await add_service(
                            conn,
                            box,
                            customer=customer.number,
                            kind=ServiceKind.RADIUS_LOGIN,
                            login=row.login,
                            plan=row.plan,
                            password=row.password,
                        )
                    created += 1
                except ROW_ERRORS as exc:
                    errors.add(row.line, column, str(exc))
            if progress is not None:
                progress(done, len(good))
    except BaseException:
        await savepoint.rollback()
        raise
    keep = errors.total == 0 and not dry_run
    if keep:
        await savepoint.commit()
    else:
        await savepoint.rollback()
    report = ImportReport(
        rows=count,
        valid=created,
        created=created if keep else 0,
        dry_run=dry_run,
        errors=tuple(sorted(errors.kept, key=lambda e: e.line or 0)),
        errors_total=errors.total,
    )
    if errors.total:
        raise ImportFailed(report)
    return report
