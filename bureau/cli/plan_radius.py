"""`bureau plan radius`: what a plan tells the NAS (reply attributes, sessions, interim)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from bureau.platform.catalog.plans import get_plan
from bureau.platform.catalog.radius import RadiusOptions, radius_options, set_radius_options
from bureau.radius_proxy import codec

from ._common import fail, out, print_json, with_tenant

INTEGER_TYPES = frozenset({"integer", "short", "byte", "date", "signed", "integer64"})


def parse_attributes(given: list[str], dictionary: codec.Dictionary) -> dict[str, Any]:
    """NAME=VALUE options, checked against the RADIUS dictionary; a name given twice repeats."""
    found: dict[str, Any] = {}
    for item in given:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            fail(f"--attribute {item!r}: write NAME=VALUE, such as Mikrotik-Rate-Limit=10M/10M")
        try:
            spec = dictionary.attribute(name)
        except codec.UnknownAttribute as exc:
            fail(f"--attribute {item!r}: {exc}")
        value: Any = text
        if spec.type in INTEGER_TYPES:
            if text.isdigit():
                value = int(text)
            elif text not in spec.values:
                fail(f"--attribute {item!r}: {name} takes a number or one of {', '.join(sorted(spec.values)) or '-'}")
        try:
            codec.encode_attributes({name: value}, dictionary)
        except codec.EncodeError as exc:
            fail(f"--attribute {item!r}: {exc}")
        if name in found:
            before = found[name]
            found[name] = [*(before if isinstance(before, list) else [before]), value]
        else:
            found[name] = value
    return found


def plan_radius(
    code: Annotated[str, typer.Argument(help="The plan's code.")],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.")],
    attribute: Annotated[
        list[str] | None,
        typer.Option(help="A reply attribute NAME=VALUE (repeatable); replaces the plan's list."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear-attributes", help="Send no reply attributes.")] = False,
    max_sessions: Annotated[int | None, typer.Option(min=1, max=100, help="Sessions one login may hold.")] = None,
    interim: Annotated[int | None, typer.Option(min=60, max=86400, help="Acct-Interim-Interval, seconds.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show or change what a plan's Access-Accepts carry."""
    attributes: dict[str, Any] | None = None
    if clear:
        attributes = {}
    elif attribute:
        attributes = parse_attributes(attribute, codec.load_dictionary())

    async def job(conn: AsyncConnection) -> RadiusOptions:
        if attributes is None and max_sessions is None and interim is None:
            return await radius_options(conn, (await get_plan(conn, code)).id)
        return await set_radius_options(
            conn, code, attributes=attributes, max_sessions=max_sessions, interim_interval=interim
        )

    options = with_tenant(tenant, job)
    shown = {
        "plan": code,
        "attributes": dict(options.attributes),
        "max_sessions": options.max_sessions,
        "interim_interval": options.interim_interval,
    }
    if as_json:
        print_json(shown)
        return
    interval = f"{options.interim_interval} s" if options.interim_interval else "the server's default"
    out.print(f"plan {code}: at most {options.max_sessions} session(s) per login; interim updates {interval}")
    for name, value in options.attributes.items():
        out.print(f"  {name} = {value}")
