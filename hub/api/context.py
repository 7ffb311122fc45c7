"""What a handler is given: the app's shared state and one validated call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.auth import Principal
from hub.api.metrics import HubMetrics
from hub.ingest import RulesRunner
from hub.runtime import HubRuntime
from hub.sdk import Adapter

M = TypeVar("M", bound=BaseModel)


@dataclass
class ApiState:
    """Everything the handlers share, stored once on the application (`STATE`)."""

    runtime: HubRuntime
    metrics: HubMetrics
    rules: RulesRunner | None
    clock: Callable[[], dt.datetime]
    #: The app's one outbound HTTP session (webhook adapters); open between startup and cleanup.
    http: aiohttp.ClientSession | None = None
    #: Webhook adapters built on first use, by connection name.
    adapters: dict[str, Adapter[Any]] = field(default_factory=dict)
    #: The OpenAPI document, built once from the route table by `create_app`.
    openapi: dict[str, Any] = field(default_factory=dict)

    def now(self) -> dt.datetime:
        return self.clock()

    def session(self) -> AsyncSession:
        return self.runtime.sessions()

    def client(self) -> aiohttp.ClientSession:
        if self.http is None:
            raise RuntimeError("the API's HTTP client session is not open (app not started)")
        return self.http

    def wake_outbox(self) -> None:
        """Tell the outbox dispatcher that new rows may be due (after a commit)."""
        self.runtime.outbox_wakeup.set()


STATE: web.AppKey[ApiState] = web.AppKey("api_state", ApiState)


@dataclass(frozen=True)
class Call:
    """One request after authentication and validation (see `hub.api.routing.Route`)."""

    request: web.Request
    state: ApiState
    principal: Principal | None
    path: BaseModel | None = None
    query: BaseModel | None = None
    body: BaseModel | None = None

    @property
    def caller(self) -> Principal:
        """The authenticated token (routes with `Access.TOKEN` / `Access.ADMIN`)."""
        if self.principal is None:
            raise RuntimeError("this route is not authenticated")
        return self.principal

    def body_as(self, model: type[M]) -> M:
        return _as(self.body, model, "body")

    def query_as(self, model: type[M]) -> M:
        return _as(self.query, model, "query")

    def path_as(self, model: type[M]) -> M:
        return _as(self.path, model, "path")


def _as(value: BaseModel | None, model: type[M], part: str) -> M:
    if not isinstance(value, model):
        raise TypeError(f"the route declares no {part} model {model.__name__}")
    return value
