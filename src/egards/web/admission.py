"""Admission: the server serves as many requests at once as it has database connections.

A request holds its pooled connection from its first query to its commit, including while it
waits on a row lock; admitting more requests than connections would only move the queue into
the pool, where each waiting request also holds a thread. So the others wait here, in arrival
order, holding nothing, and one that waits longer than the configured bound answers 503 with
Retry-After (``problems.busy``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from anyio.to_thread import current_default_thread_limiter
from starlette.requests import Request

from egards.web import problems
from egards.web.deps import set_locale

# Served without a turn: they never touch the database.
EXEMPT = ("/static/",)


class Admission:
    def __init__(self, app: Any, *, limit: int, wait: float) -> None:
        self.app = app
        self.limit = limit
        self.wait = wait
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turns: asyncio.Semaphore | None = None

    def _turns_here(self) -> asyncio.Semaphore:
        # One semaphore per event loop (the tests' clients each run their own loop).
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._turns is None:
            self._loop, self._turns = loop, asyncio.Semaphore(self.limit)
            # Sync routes run in the thread pool: never fewer threads than admitted requests.
            threads = current_default_thread_limiter()
            threads.total_tokens = max(threads.total_tokens, self.limit + 10)
        return self._turns

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            return await self.app(scope, receive, send)
        turns = self._turns_here()
        try:
            async with asyncio.timeout(self.wait):
                await turns.acquire()
        except TimeoutError:
            request = Request(scope)
            set_locale(request)
            return await problems.busy(request)(scope, receive, send)
        try:
            await self.app(scope, receive, send)
        finally:
            turns.release()
