"""The event loop a component runs on, by name: the standard library's or uvloop.

`loop_factory(name)` returns the function that makes a new loop, and says clearly what to do when
uvloop is asked for but not installed. uvloop 0.23 once crashed here under connection churn with
half-closes, so the loop stays a choice; after the relay learned to hold bytes that arrive before
the backend connects, both loops passed `bench/soak_proxy.py --minutes 10` (lately asyncio 2.02M
connections, uvloop 2.05M, no error) and the userspace proxy defaults to uvloop, the faster one.
`run(main, name)` runs a coroutine function's result on a loop of that kind.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

EVENT_LOOPS = ("asyncio", "uvloop")
T = TypeVar("T")


class EventLoopError(RuntimeError):
    pass


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "asyncio":
        return asyncio.new_event_loop
    if name == "uvloop":
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            raise EventLoopError(
                "--event-loop uvloop: uvloop is not installed; install it with "
                "`.venv/bin/pip install -e '.[uvloop]'` or use --event-loop asyncio"
            ) from None
        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        return factory
    raise EventLoopError(f"--event-loop {name}: must be one of {', '.join(EVENT_LOOPS)}")


def run(main: Callable[[], Coroutine[Any, Any, T]], name: str) -> T:
    """Run `main()` to completion on a new loop of the named kind (checked before `main` is
    called, so a bad name leaves no coroutine un-awaited)."""
    factory = loop_factory(name)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())
