"""The API tests' client: one caller's key on /graphql (tests import `Api` from here)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app
from bureau.platform.crypto.secretbox import SecretBox
from bureau.tenants import apikeys


class Api:
    """Ask /graphql as the holder of `token`: `await api(query, **variables)` gives `data`
    (and fails the test on any error); `raw` gives the whole answer; `refused` the message
    of a field refused as a whole (no data)."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client, self.token = client, token

    async def raw(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    body = raw

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.raw(query, **variables)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def refused(self, query: str, **variables: Any) -> str:
        body = await self.raw(query, **variables)
        assert body.get("data") is None, body
        message: str = body["errors"][0]["message"]
        return message


KeyMaker = Callable[..., Awaitable[str]]


def key_maker(engine: AsyncEngine, slug: str) -> KeyMaker:
    """`await key(role, scope="isp", tenant=slug, reseller=None)`: a new key's token."""

    async def key(role: str, scope: str = "isp", tenant: str = slug, reseller: str | None = None) -> str:
        made = await apikeys.create_api_key(
            engine, name=f"{scope}-{role}", scope=scope, role=role, tenant=tenant, reseller=reseller, actor="test"
        )
        return made.token

    return key


@asynccontextmanager
async def served(engine: AsyncEngine, box: SecretBox) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app in process (ASGI), as the API tests use it."""
    app = create_app(engine, box=box)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bureau.test") as client:
        yield client
