"""Running a few coroutines together until the first of them ends.

`until_first_done(*coros)` is the shape of every two-way relay (client → node and node →
client): either direction ending ends the exchange. The others are cancelled and awaited, and
their errors are swallowed, since the caller closes both ends next anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


async def until_first_done(*coros: Coroutine[Any, Any, None]) -> None:
    tasks = [asyncio.create_task(coro) for coro in coros]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
