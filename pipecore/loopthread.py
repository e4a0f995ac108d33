"""`LoopThread`: an asyncio event loop in a daemon thread of its own, for plugins built on an
asyncio library (``websockets``, ``asyncua``) inside pipecore's threaded runtime.

The loop starts by running the plugin's start coroutine (its failure is raised to the
constructor), serves until `stop`, and ends cleanly: the plugin's shutdown coroutine runs, every
task still on the loop is cancelled *and awaited* (none is destroyed pending, no transport is
collected unclosed), asynchronous generators are closed, then the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """An event loop serving in thread `name`; `start()` is awaited first (`timeout` s)."""

    def __init__(
        self, name: str, start: Callable[[], Awaitable[Any]], timeout: float = 30.0
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self._start = start
        started: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(started,), name=name, daemon=True)
        self._thread.start()
        started.result(timeout)

    def _run(self, started: Future[None]) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except BaseException as exc:
            started.set_exception(exc)
            self.loop.close()
            return
        started.set_result(None)
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Run `coro` on the loop; its outcome completes the returned future (any thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run the plain function `fn` on the loop's thread and return its result."""

        async def run() -> T:
            return fn()

        return self.submit(run()).result(timeout)

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Have the loop's thread run `fn` soon (not waited for)."""
        self.loop.call_soon_threadsafe(fn)

    def stop(
        self, shutdown: Callable[[], Awaitable[Any]] | None = None, timeout: float = 30.0
    ) -> None:
        """Await `shutdown()` on the loop, end every other task, stop the loop, join."""

        async def finish() -> None:
            try:
                if shutdown is not None:
                    await shutdown()
            finally:
                others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in others:
                    task.cancel()
                await asyncio.gather(*others, return_exceptions=True)

        try:
            self.submit(finish()).result(timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
