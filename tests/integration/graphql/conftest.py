"""The API tests' client: one caller's key on /graphql (tests import `Api` from here)."""

from __future__ import annotations

from typing import Any

import httpx


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
