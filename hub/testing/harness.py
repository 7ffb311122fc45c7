"""The conformance kit's plumbing: a running emulator, adapters bound to it, reading helpers.

`ConformanceEnv` serves the suite's emulator on loopback, builds adapters over the core's real
`ConnectionHttpClient` (never a patched client), and drives the emulator's fault plan through its
control endpoints (`hub.testing.faults`). The reading helpers check every page's shape as they go.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from hub.engine.http import ConnectionHttpClient
from hub.sdk import CAPABILITY_METHODS, Adapter, AdapterConfig, Capability, Page
from hub_contracts import AttendanceMark, ContractModel, EotasPlacement, Learner, Registration

from .emulator import serve_emulator
from .faults import CONTROL_PREFIX, Fault

if TYPE_CHECKING:
    from .conformance import AdapterConformance

__all__ = [
    "READ_CAPABILITIES",
    "READ_RECORD_TYPES",
    "WRITE_CAPABILITIES",
    "ConformanceEnv",
    "ConformanceFailure",
    "ReadRun",
    "natural_key",
    "read_all",
    "read_page",
    "running_env",
]

#: Read capabilities and the contract each one returns.
READ_RECORD_TYPES: Mapping[Capability, type[ContractModel]] = {
    Capability.READ_LEARNERS: Learner,
    Capability.READ_ROLL: Registration,
    Capability.READ_MARKS: AttendanceMark,
    Capability.READ_PLACEMENTS: EotasPlacement,
}
READ_CAPABILITIES: tuple[Capability, ...] = tuple(READ_RECORD_TYPES)
#: Capabilities with a side effect in the vendor system, keyed by an idempotency key.
WRITE_CAPABILITIES: tuple[Capability, ...] = (
    Capability.WRITE_MARKS,
    Capability.SEND_RETURN,
    Capability.SEND_NOTIFICATION,
    Capability.RAISE_CONCERN,
)

#: Upper bound on the pages of one read; a stream that never ends fails the check.
DEFAULT_MAX_PAGES = 500


class ConformanceFailure(AssertionError):
    """An adapter broke a rule of the plugin contract; the message says which and how."""


def natural_key(record: ContractModel) -> Hashable:
    """The key the core upserts a record on (two records of one read must never share it)."""
    if isinstance(record, AttendanceMark):
        # An amendment is a new mark (DESIGN §3), so the time it was recorded is part of it.
        return (record.upn, record.setting_id, record.date, record.session, record.recorded_at)
    if isinstance(record, Learner):
        return record.upn
    if isinstance(record, Registration):
        return (record.upn, record.setting_id, record.start_date)
    if isinstance(record, EotasPlacement):
        return (record.upn, record.school_id, record.provider_id, record.start_date)
    raise ConformanceFailure(f"{type(record).__name__} is not a record a read may return")


def _check_record(record: object, expected: type[ContractModel], where: str) -> None:
    if not isinstance(record, expected):
        raise ConformanceFailure(
            f"{where}: returned a {type(record).__name__}, expected {expected.__name__}"
        )
    # Re-validating catches records built with model_construct() or mutated after validation.
    try:
        again = expected.model_validate(record.model_dump())
    except ValueError as exc:
        raise ConformanceFailure(
            f"{where}: a {expected.__name__} does not validate against the contract: {exc}"
        ) from exc
    if again != record:
        raise ConformanceFailure(f"{where}: a {expected.__name__} changes when re-validated")


async def read_page(adapter: Adapter[Any], capability: Capability, cursor: str | None) -> Page[Any]:
    """One call of the capability's read method, with the returned page checked for shape."""
    method = getattr(adapter, CAPABILITY_METHODS[capability])
    page = await method(cursor)
    where = f"{type(adapter).__name__}.{CAPABILITY_METHODS[capability]}"
    if not isinstance(page, Page):
        raise ConformanceFailure(f"{where}: returned {type(page).__name__}, not a Page")
    if page.next_cursor is not None and not isinstance(page.next_cursor, str):
        raise ConformanceFailure(f"{where}: next_cursor is not a str (the core stores text)")
    for record in page.records:
        _check_record(record, READ_RECORD_TYPES[capability], where)
    return page


@dataclass
class ReadRun:
    """Every page of one read, first to last, with the cursor the core would save after each."""

    pages: list[Page[Any]] = field(default_factory=list)
    #: `cursors[i]` is the cursor passed to read page i (None for a first run).
    cursors: list[str | None] = field(default_factory=list)

    @property
    def records(self) -> list[ContractModel]:
        return [record for page in self.pages for record in page.records]

    @property
    def keys(self) -> set[Hashable]:
        return {natural_key(record) for record in self.records}

    @property
    def final_cursor(self) -> str | None:
        return self.pages[-1].next_cursor if self.pages else None

    def keys_through(self, page_index: int) -> set[Hashable]:
        """Keys of pages 0..page_index (what the core had committed after that page)."""
        return {natural_key(r) for page in self.pages[: page_index + 1] for r in page.records}


async def read_all(
    adapter: Adapter[Any],
    capability: Capability,
    cursor: str | None = None,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> ReadRun:
    """Read until `has_more` is False, as the core's sync loop does (no retries here)."""
    run = ReadRun()
    while True:
        if len(run.pages) >= max_pages:
            raise ConformanceFailure(
                f"{capability.value}: still has_more after {max_pages} pages (a paging loop?)"
            )
        page = await read_page(adapter, capability, cursor)
        run.cursors.append(cursor)
        run.pages.append(page)
        if not page.has_more:
            return run
        if page.next_cursor == cursor:
            raise ConformanceFailure(
                f"{capability.value}: page {len(run.pages)} has_more but repeats the cursor it "
                "was given (the core would read the same page forever)"
            )
        cursor = page.next_cursor


@dataclass
class ConformanceEnv:
    """One running emulator and the suite that describes the adapter under test."""

    suite: AdapterConformance
    app: web.Application
    base_url: str
    session: aiohttp.ClientSession
    _adapters: int = 0

    @property
    def adapter_class(self) -> type[Adapter[Any]]:
        return self.suite.adapter_class

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.suite.adapter_class.manifest.capabilities

    def options(self, **overrides: object) -> dict[str, object]:
        options = dict(self.suite.connection_config(self.base_url))
        options.update(overrides)
        return options

    def config(self, **overrides: object) -> AdapterConfig:
        model = self.adapter_class.manifest.config_model
        return model.model_validate(self.options(**overrides))

    def adapter(
        self, overrides: Mapping[str, object] | None = None, *, http_timeout: float | None = None
    ) -> Adapter[Any]:
        """A fresh adapter instance (no state shared with earlier ones), as after a restart;
        `http_timeout` is its HTTP client's default (the suite's `client_timeout` otherwise)."""
        self._adapters += 1
        manifest = self.adapter_class.manifest
        http = ConnectionHttpClient(
            self.session,
            connection_name=f"conformance-{manifest.name}-{self._adapters}",
            allowed_hosts=manifest.allowed_hosts,
            base_url=self.base_url,
            default_timeout=http_timeout if http_timeout is not None else self.suite.client_timeout,
        )
        return self.adapter_class(
            self.config(**dict(overrides or {})), http, connection_name=http.connection_name
        )

    async def set_faults(
        self,
        queue: Sequence[Fault] = (),
        *,
        ratio: float = 0.0,
        kinds: Sequence[Fault] = (Fault.RATE_LIMIT, Fault.SERVER_ERROR),
        retry_after: float = 1,
        timeout_seconds: float | None = None,
        seed: int = 0,
    ) -> None:
        """Replace the emulator's fault plan through ``POST /_emulator/faults``."""
        body = {
            "queue": [f.value for f in queue],
            "ratio": ratio,
            "kinds": [k.value for k in kinds],
            "retry_after": retry_after,
            "timeout_seconds": timeout_seconds
            if timeout_seconds is not None
            else max(10.0, 5 * self.suite.client_timeout),
            "seed": seed,
            "path_prefix": self.suite.fault_path_prefix,
        }
        await self._control("POST", "faults", body)

    async def clear_faults(self) -> None:
        await self.set_faults()

    async def injected(self) -> dict[str, int]:
        """Faults injected so far, per kind (``GET /_emulator/faults``)."""
        state = await self._control("GET", "faults")
        counts = state.get("injected", {})
        return {str(k): int(v) for k, v in counts.items()}

    async def _control(self, method: str, name: str, body: object | None = None) -> dict[str, Any]:
        url = f"{self.base_url}{CONTROL_PREFIX}{name}"
        async with self.session.request(
            method, url, json=body, timeout=aiohttp.ClientTimeout(total=10)
        ) as resp:
            if resp.status != 200:
                raise ConformanceFailure(
                    f"the emulator's control endpoint {method} {CONTROL_PREFIX}{name} answered "
                    f"HTTP {resp.status}: install hub.testing.faults in emulator_app()"
                )
            result = await resp.json()
        if not isinstance(result, dict):
            raise ConformanceFailure(f"{CONTROL_PREFIX}{name} did not return a JSON object")
        return result

    def side_effects(self, capability: Capability) -> int:
        return self.suite.side_effect_count(self.app, capability)


@asynccontextmanager
async def running_env(suite: AdapterConformance) -> AsyncIterator[ConformanceEnv]:
    """Build, seed and serve the suite's emulator; yield an environment bound to it."""
    app = suite.emulator_app()
    seeded = suite.seed_emulator(app)
    if inspect.isawaitable(seeded):
        await seeded
    runner, base_url = await serve_emulator(app)
    try:
        async with aiohttp.ClientSession() as session:
            yield ConformanceEnv(suite=suite, app=app, base_url=base_url, session=session)
    finally:
        await runner.cleanup()


async def wait_until(
    predicate: Callable[[], Any], *, within: float = 10.0, what: str = "a condition"
) -> None:
    """Poll an (async) predicate every 10 ms until true; fail after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() >= deadline:
            raise ConformanceFailure(f"gave up waiting for {what} after {within:g}s")
        await asyncio.sleep(0.01)
