"""Fault injection for vendor emulators: one catalogue of failures every emulator can produce.

An emulator (a real aiohttp server) installs the middleware and the control routes::

    FAULTS = web.AppKey("faults", FaultPlan)

    app = web.Application(middlewares=[fault_middleware(FAULTS)])
    app[FAULTS] = FaultPlan()
    add_control_routes(app, FAULTS, on_reset=state.clear)

Tests then either mutate `app[FAULTS]` in process (`plan.configure(queue=[Fault.RATE_LIMIT])`)
or drive a standalone emulator over HTTP:

- ``POST /_emulator/faults`` ``{"queue": ["429", "5xx"], "ratio": 0.3, "kinds": ["429"],
  "retry_after": 2, "timeout_seconds": 5, "seed": 1, "path_prefix": "/api"}`` replaces the plan
  (omitted fields take their defaults; the injected counts are kept);
- ``POST /_emulator/reset`` clears the plan and the counts and calls `on_reset` (the emulator's
  own state, usually);
- ``GET /_emulator/faults`` returns ``{"injected": {"429": 3}, "queue": [...], "ratio": 0.3}``.

What each fault does to the request it hits (the real handler does not run, except for
TRUNCATED and EMPTY_LAST_PAGE):

- RATE_LIMIT: ``429`` with ``Retry-After: <retry_after>`` (formatted with ``:g``; use whole
  seconds when the client parses only RFC 9110 delay-seconds, as `hub.sdk.parse_retry_after`
  does);
- SERVER_ERROR: ``503`` with a small JSON error body;
- UNAUTHORIZED: ``401`` with ``WWW-Authenticate: Bearer error="invalid_token"``;
- TIMEOUT: no response for `timeout_seconds` (longer than the client's timeout), then ``504``;
  the wait ends early when the emulator shuts down, so test teardown is not held up;
- RESET: the connection is aborted without a response (aiohttp's client retries an idempotent
  request once on a reset pooled connection, so queue it twice to be sure the client sees it);
- TRUNCATED: the real handler runs, then half of its body is sent under a ``Content-Length``
  for the whole body and the connection is closed;
- MALFORMED: ``200`` ``application/json`` whose body is not JSON;
- EMPTY_LAST_PAGE: honoured by paging endpoints only (`honour_empty_last_page`): the final page
  of a listing carries a continuation link to one more page that is empty. While it heads the
  queue, requests that are not paging pass through unfaulted and leave it queued.

Control endpoints (``/_emulator/...``) are never faulted. Random faults (`ratio`) come from a
`random.Random(seed)`, so a run is reproducible for a given request order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

__all__ = [
    "CONTROL_PREFIX",
    "Fault",
    "FaultPlan",
    "add_control_routes",
    "fault_middleware",
    "honour_empty_last_page",
    "install_faults",
]

#: Paths under this prefix are the emulator's control surface and are never faulted.
CONTROL_PREFIX = "/_emulator/"

#: What MALFORMED sends: a 200 that claims to be JSON but is an HTML error page cut short.
MALFORMED_BODY = b'<html><body>Service Unavailable</body></html>{"value": ['


class Fault(StrEnum):
    """The catalogue of failures an emulator can inject (values are the wire spelling)."""

    RATE_LIMIT = "429"
    SERVER_ERROR = "5xx"
    UNAUTHORIZED = "401"
    TIMEOUT = "timeout"
    RESET = "reset"
    TRUNCATED = "truncated"
    MALFORMED = "malformed"
    EMPTY_LAST_PAGE = "empty_last_page"


_DEFAULT_KINDS: tuple[Fault, ...] = (Fault.RATE_LIMIT, Fault.SERVER_ERROR)


@dataclass
class FaultPlan:
    """What the emulator does to the next requests under `path_prefix`.

    `queue` is applied first, one fault per matching request, in order; once it is empty each
    matching request gets a random fault from `kinds` with probability `ratio`.
    """

    queue: list[Fault] = field(default_factory=list)
    ratio: float = 0.0
    kinds: tuple[Fault, ...] = _DEFAULT_KINDS
    retry_after: float = 0.05
    timeout_seconds: float = 5.0
    seed: int = 0
    path_prefix: str = "/"
    injected: Counter[str] = field(default_factory=Counter)
    _rng: random.Random = field(init=False, repr=False)
    _released: asyncio.Event = field(init=False, repr=False, default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.queue = [Fault(f) for f in self.queue]
        self.kinds = tuple(Fault(k) for k in self.kinds)
        if not 0.0 <= self.ratio <= 1.0:
            raise ValueError("ratio must be between 0 and 1")
        self._rng = random.Random(self.seed)

    def configure(
        self,
        queue: Sequence[Fault | str] = (),
        *,
        ratio: float = 0.0,
        kinds: Sequence[Fault | str] = _DEFAULT_KINDS,
        retry_after: float = 0.05,
        timeout_seconds: float = 5.0,
        seed: int = 0,
        path_prefix: str = "/",
    ) -> None:
        """Replace the plan in place (the counts are kept; `reset` clears them)."""
        if not 0.0 <= ratio <= 1.0:
            raise ValueError("ratio must be between 0 and 1")
        self.queue = [Fault(f) for f in queue]
        self.ratio = float(ratio)
        self.kinds = tuple(Fault(k) for k in kinds)
        self.retry_after = float(retry_after)
        self.timeout_seconds = float(timeout_seconds)
        self.seed = seed
        self.path_prefix = path_prefix
        self._rng = random.Random(seed)

    def reset(self) -> None:
        """No faults, no counts."""
        self.configure()
        self.injected.clear()

    def release(self) -> None:
        """End every pending TIMEOUT wait now (called when the emulator shuts down)."""
        self._released.set()

    def applies_to(self, path: str) -> bool:
        return not path.startswith(CONTROL_PREFIX) and path.startswith(self.path_prefix)

    def next_fault(self, path: str) -> Fault | None:
        """The fault for a request to `path`, consuming it from the plan (EMPTY_LAST_PAGE at
        the head of the queue is left for a paging endpoint to take)."""
        if not self.applies_to(path):
            return None
        if self.queue:
            if self.queue[0] is Fault.EMPTY_LAST_PAGE:
                return Fault.EMPTY_LAST_PAGE
            fault = self.queue.pop(0)
            self.injected[fault.value] += 1
            return fault
        if self.ratio > 0.0 and self.kinds and self._rng.random() < self.ratio:
            fault = self._rng.choice(self.kinds)
            if fault is not Fault.EMPTY_LAST_PAGE:
                self.injected[fault.value] += 1
            return fault
        return None

    def take_empty_last_page(self) -> bool:
        """Consume a pending EMPTY_LAST_PAGE (queued at the head, or drawn for this request)."""
        if self.queue and self.queue[0] is Fault.EMPTY_LAST_PAGE:
            self.queue.pop(0)
        self.injected[Fault.EMPTY_LAST_PAGE.value] += 1
        return True

    async def wait_timeout(self) -> None:
        if self._released.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._released.wait(), self.timeout_seconds)

    def as_json(self) -> dict[str, Any]:
        return {
            "injected": dict(self.injected),
            "queue": [f.value for f in self.queue],
            "ratio": self.ratio,
            "kinds": [k.value for k in self.kinds],
            "retry_after": self.retry_after,
            "timeout_seconds": self.timeout_seconds,
            "seed": self.seed,
            "path_prefix": self.path_prefix,
        }


# Where the middleware leaves the plan for `honour_empty_last_page` (aiohttp >= 3.13 warns
# about plain string keys in request storage; older versions have no RequestKey).
_REQUEST_PLAN: Any = (
    web.RequestKey("hub_testing_fault_plan", FaultPlan)
    if hasattr(web, "RequestKey")
    else "hub_testing_fault_plan"
)


def honour_empty_last_page(request: web.Request) -> bool:
    """For a paging endpoint about to return its final page: True when the plan asks for an
    extra, empty last page (the endpoint then adds a continuation link to an empty page).
    Consumes the fault, so call it only when the page really is the final one."""
    plan: FaultPlan | None = request.get(_REQUEST_PLAN)
    if plan is None:
        return False
    return plan.take_empty_last_page()


def _json_error(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


async def _truncated(request: web.Request, handler: Handler) -> web.StreamResponse:
    real = await handler(request)
    body = real.body if isinstance(real, web.Response) else None
    payload = bytes(body) if isinstance(body, (bytes, bytearray)) else b'{"value": []}'
    cut = payload[: max(1, len(payload) // 2)]
    resp = web.StreamResponse(status=real.status)
    resp.content_type = real.content_type or "application/json"
    # A Content-Length for the whole body, then less than that and a closed connection.
    resp.content_length = len(payload) + 16
    await resp.prepare(request)
    await resp.write(cut)
    if request.transport is not None:
        request.transport.close()
    return resp


def fault_middleware(plan_key: web.AppKey[FaultPlan]) -> Middleware:
    """An aiohttp middleware applying `request.app[plan_key]` to every request."""

    @web.middleware
    async def apply_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        plan = request.app[plan_key]
        fault = plan.next_fault(request.path)
        if fault is None:
            return await handler(request)
        if fault is Fault.EMPTY_LAST_PAGE:
            request[_REQUEST_PLAN] = plan
            return await handler(request)
        if fault is Fault.RATE_LIMIT:
            return _json_error(
                429,
                "TooManyRequests",
                "rate limit exceeded",
                **{"Retry-After": f"{plan.retry_after:g}"},
            )
        if fault is Fault.SERVER_ERROR:
            return _json_error(503, "ServiceUnavailable", "the service is temporarily unavailable")
        if fault is Fault.UNAUTHORIZED:
            return _json_error(
                401,
                "InvalidToken",
                "the access token is invalid or has expired",
                **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if fault is Fault.TIMEOUT:
            await plan.wait_timeout()
            return _json_error(504, "GatewayTimeout", "the request timed out")
        if fault is Fault.RESET:
            if request.transport is not None:
                request.transport.abort()
            # Nothing reaches the client: the connection is already gone.
            return web.Response(status=500)
        if fault is Fault.TRUNCATED:
            return await _truncated(request, handler)
        return web.Response(status=200, body=MALFORMED_BODY, content_type="application/json")

    return apply_faults


def add_control_routes(
    app: web.Application,
    plan_key: web.AppKey[FaultPlan],
    *,
    on_reset: Callable[[], None] | None = None,
) -> None:
    """Add the ``/_emulator/faults`` and ``/_emulator/reset`` endpoints, and end pending
    TIMEOUT waits when the app shuts down."""

    async def set_faults(request: web.Request) -> web.Response:
        try:
            spec = await request.json()
            if not isinstance(spec, dict):
                raise TypeError("the fault plan is a JSON object")
            request.app[plan_key].configure(
                [Fault(f) for f in spec.get("queue", [])],
                ratio=float(spec.get("ratio", 0.0)),
                kinds=[Fault(k) for k in spec.get("kinds", _DEFAULT_KINDS)],
                retry_after=float(spec.get("retry_after", 0.05)),
                timeout_seconds=float(spec.get("timeout_seconds", 5.0)),
                seed=int(spec.get("seed", 0)),
                path_prefix=str(spec.get("path_prefix", "/")),
            )
        except (ValueError, TypeError) as exc:
            return _json_error(400, "BadFaultPlan", str(exc))
        return web.json_response(request.app[plan_key].as_json())

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response(request.app[plan_key].as_json())

    async def reset(request: web.Request) -> web.Response:
        request.app[plan_key].reset()
        if on_reset is not None:
            on_reset()
        return web.json_response({"reset": True})

    async def release_waits(app: web.Application) -> None:
        app[plan_key].release()

    app.router.add_post(CONTROL_PREFIX + "faults", set_faults)
    app.router.add_get(CONTROL_PREFIX + "faults", get_faults)
    app.router.add_post(CONTROL_PREFIX + "reset", reset)
    app.on_shutdown.append(release_waits)


def install_faults(
    app: web.Application,
    plan_key: web.AppKey[FaultPlan],
    *,
    on_reset: Callable[[], None] | None = None,
) -> FaultPlan:
    """Middleware, a fresh plan and the control routes in one call (before the app starts)."""
    app.middlewares.append(fault_middleware(plan_key))
    plan = FaultPlan()
    app[plan_key] = plan
    add_control_routes(app, plan_key, on_reset=on_reset)
    return plan
