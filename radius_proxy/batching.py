"""Gathering requests of one tenant that arrive within a few milliseconds into batches.

`Batcher.submit` queues a request under its tenant and waits for its reply. A tenant has
at most `max_running` batches being answered at once (two: while one waits on the
database the next is prepared): its next batch is handed to `run` when one of the
running batches is done (`gather_s` later: the finished batch's replies are only
being sent then, and the requests their NASes send next arrive within that time and join
the next batch instead of waiting for the one after it), or `window_s` after its first
request if fewer are running, or at once when it reaches `max_size`. So under load batches grow by themselves
(everything that arrived while the others ran), and at low load a request waits at most
`window_s`. `run` answers a whole batch (in one transaction) and each submitter gets its
own reply. If a batch fails as a whole, each of its requests is run again on its own,
so that one bad request cannot take the others' answers with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger("bureau.radius")


class _Routed(Protocol):
    @property
    def route(self) -> Any: ...


R = TypeVar("R", bound=_Routed)


class Batcher(Generic[R]):
    def __init__(
        self,
        run: Callable[[list[R]], Awaitable[list[bytes]]],
        *,
        window_s: float,
        max_size: int,
        max_running: int = 2,
        gather_s: float = 0.001,
    ) -> None:
        self.run = run
        self.window_s = window_s
        self.gather_s = gather_s
        self.max_size = max_size
        self.max_running = max_running
        self.batches = 0
        self.batched = 0
        self._pending: dict[int, list[tuple[R, asyncio.Future[bytes]]]] = {}
        self._running: Counter[int] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, request: R) -> bytes:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        key = request.route.tenant.id
        batch = self._pending.setdefault(key, [])
        batch.append((request, future))
        if len(batch) >= self.max_size:
            self._flush(key, force=True)
        elif len(batch) == 1:
            loop.call_later(self.window_s, self._flush, key)
        return await future

    def _flush(self, key: int, *, force: bool = False) -> None:
        """Start the tenant's next batch, unless enough are running (then it follows them)."""
        if self._running[key] >= self.max_running and not force:
            return
        batch = self._pending.pop(key, None)
        if not batch:
            return
        self._running[key] += 1
        task = asyncio.get_running_loop().create_task(self._answer(batch))
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._done(key, done))

    def _done(self, key: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._running[key] -= 1
        if self._running[key] <= 0:
            del self._running[key]
        if self.gather_s:
            asyncio.get_running_loop().call_later(self.gather_s, self._flush, key)
        else:
            self._flush(key)

    async def _answer(self, batch: list[tuple[R, asyncio.Future[bytes]]]) -> None:
        self.batches += 1
        self.batched += len(batch)
        try:
            replies = await self.run([request for request, _ in batch])
        except Exception:
            if len(batch) == 1:
                _, future = batch[0]
                if not future.done():
                    future.set_exception(RuntimeError("the request failed"))
                log.exception("a RADIUS request failed")
                return
            log.exception("a batch of %d RADIUS requests failed; answering each on its own", len(batch))
            for item in batch:
                await self._answer([item])
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if not future.done():
                future.set_result(reply)
