"""A client that leaves before its request is read gets no answer and leaves no traceback."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from bureau.app import create_app


async def test_a_request_cut_off_mid_body_is_dropped_quietly(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(engine), log_config=None, lifespan="on")  # records reach caplog
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        assert not task.done(), task
        await asyncio.sleep(0.01)
    try:
        with caplog.at_level(logging.ERROR):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 500\r\n\r\n{"query": "{ __typ'
            )
            await writer.drain()
            await asyncio.sleep(0.2)  # the server is now reading the body
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.2)
            async with httpx.AsyncClient() as client:
                answer = await client.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"})
        assert answer.json() == {"data": {"__typename": "Query"}}
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    finally:
        server.should_exit = True
        await task
