"""Time for the engine: the clock (injected in tests), and waits a shutdown can cut short."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def pause(
    stop: asyncio.Event, seconds: float, *, wakeup: asyncio.Event | None = None
) -> None:
    """Sleep `seconds`, returning early as soon as `stop` (or `wakeup`) is set."""
    waiters = [asyncio.create_task(stop.wait())]
    if wakeup is not None:
        waiters.append(asyncio.create_task(wakeup.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


class Abandoned(Exception):
    """The work was cancelled because `stop` was set and its grace period ran out."""


async def finish_or_abandon(
    work: Coroutine[Any, Any, T], stop: asyncio.Event, *, grace: float
) -> T:
    """Run `work` to completion; once `stop` is set, allow it `grace` more seconds, then cancel
    it and raise `Abandoned`. The work's own exceptions propagate; if the caller is cancelled,
    the work is cancelled and awaited too (no task outlives its owner)."""
    task = asyncio.ensure_future(work)
    try:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            await asyncio.gather(stopping, return_exceptions=True)
        if not task.done():
            await asyncio.wait({task}, timeout=grace)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise Abandoned
        return task.result()
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
