"""The conformance checks: plain functions that raise `ConformanceFailure` when an adapter breaks
the plugin contract. `AdapterConformance` calls them from its test methods; the kit's own tests
call them directly on deliberately bad adapters to prove each one can fail.
"""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic
from pydantic import SecretBytes, SecretStr

from hub.sdk import (
    AdapterError,
    AuthError,
    Capability,
    ContractViolation,
    Page,
    RateLimited,
    RegistrationError,
    TransientError,
    WriteResult,
    check_adapter_class,
    config_json_schema,
    secret_fields,
)
from hub_contracts import DeliveryReceipt

from .faults import Fault
from .harness import (
    READ_CAPABILITIES,
    ConformanceEnv,
    ConformanceFailure,
    natural_key,
    read_all,
    read_page,
    wait_until,
)

if TYPE_CHECKING:
    from .conformance import AdapterConformance

__all__ = [
    "FAULTS",
    "check_bad_credentials",
    "check_config_schema",
    "check_connection_check",
    "check_empty_last_page",
    "check_fault",
    "check_incremental",
    "check_interrupted_read",
    "check_manifest",
    "check_records",
    "check_webhook",
    "check_write_idempotency",
]

#: The faults every operation is exposed to (EMPTY_LAST_PAGE has its own check).
FAULTS: tuple[Fault, ...] = (
    Fault.RATE_LIMIT,
    Fault.SERVER_ERROR,
    Fault.UNAUTHORIZED,
    Fault.TIMEOUT,
    Fault.RESET,
    Fault.TRUNCATED,
    Fault.MALFORMED,
)
#: The Retry-After the rate-limit check sends (whole seconds, as RFC 9110 delay-seconds).
RETRY_AFTER_SECONDS = 7
#: How many consecutive responses a "burst" of 5xx or 401 lasts.
BURST = 5
#: How often each fault is queued in a row: bursts for 5xx and 401; a reset twice, because
#: aiohttp silently retries an idempotent request once when a reused connection is reset.
_REPEATS: Mapping[Fault, int] = {
    Fault.SERVER_ERROR: BURST,
    Fault.UNAUTHORIZED: BURST,
    Fault.RESET: 2,
}

T = TypeVar("T")

# Field names that end like a credential: client_secret, api_key, access_token, password...
_SECRETISH_NAME = re.compile(r"(secret|password|passwd|passphrase|token|key|credentials?)$", re.I)


# --- manifest and configuration -------------------------------------------------------------


def check_manifest(suite: AdapterConformance) -> None:
    """The manifest validates and every declared capability has its async method."""
    try:
        check_adapter_class(suite.adapter_class)
    except (RegistrationError, pydantic.ValidationError, AttributeError) as exc:
        raise ConformanceFailure(f"the adapter class is not registrable: {exc}") from exc


def check_config_schema(suite: AdapterConformance) -> None:
    """The config model's JSON Schema is valid, every secret is a SecretStr marked writeOnly,
    and validating the suite's sample config never shows a secret in repr or JSON."""
    model = suite.adapter_class.manifest.config_model
    schema = config_json_schema(model)
    try:
        validators: Any = importlib.import_module("jsonschema.validators")
    except ImportError:  # pragma: no cover - jsonschema comes with the dev extras
        validators = None
    if validators is not None:
        try:
            validators.validator_for(schema).check_schema(schema)
        except Exception as exc:  # jsonschema's SchemaError and friends
            raise ConformanceFailure(f"the config JSON Schema is invalid: {exc}") from exc
    secrets = set(secret_fields(model))
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name, field in model.model_fields.items():
        key = field.alias or name
        if _SECRETISH_NAME.search(name) and name not in secrets:
            raise ConformanceFailure(
                f"config field {name!r} looks like a secret but is not declared SecretStr "
                "(it would be shown in logs, reprs and the API)"
            )
        if name in secrets and properties.get(key, {}).get("writeOnly") is not True:
            raise ConformanceFailure(f"secret config field {name!r} is not writeOnly")
    options = suite.connection_config("http://127.0.0.1:9")
    try:
        config = model.model_validate(options)
    except pydantic.ValidationError as exc:
        raise ConformanceFailure(f"connection_config() does not validate: {exc}") from exc
    shown = repr(config) + str(config) + config.model_dump_json()
    for name in secrets:
        value = getattr(config, name)
        if value is not None and not isinstance(value, SecretStr | SecretBytes):
            raise ConformanceFailure(f"secret config field {name!r} is not held as SecretStr")
        raw = options.get(model.model_fields[name].alias or name)
        if isinstance(raw, str) and raw and raw in shown:
            raise ConformanceFailure(f"the value of secret field {name!r} shows in the config")


# --- check() ---------------------------------------------------------------------------------


async def check_connection_check(env: ConformanceEnv) -> None:
    """`check()` succeeds against the emulator with the suite's credentials."""
    try:
        await _bounded(env, env.adapter().check())
    except Exception as exc:
        raise ConformanceFailure(
            f"check() failed with valid credentials: {type(exc).__name__}: {exc}"
        ) from exc


async def check_bad_credentials(env: ConformanceEnv) -> None:
    """`check()` with credentials the vendor rejects raises AuthError, nothing else."""
    overrides = env.suite.bad_credentials(env.base_url)
    adapter = env.adapter(overrides)
    try:
        await _bounded(env, adapter.check())
    except AuthError:
        return
    except Exception as exc:
        raise ConformanceFailure(
            f"check() with rejected credentials raised {type(exc).__name__}, expected AuthError"
        ) from exc
    raise ConformanceFailure("check() succeeded with credentials the vendor rejects")


# --- reads -----------------------------------------------------------------------------------


async def check_records(env: ConformanceEnv, capability: Capability) -> None:
    """A full read returns contract-valid records whose natural keys are unique."""
    run = await _ok(env, read_all(env.adapter(), capability, max_pages=env.suite.max_pages))
    if not run.records:
        raise ConformanceFailure(
            f"{capability.value}: the first read returned no records; seed the emulator "
            "(seed_emulator) so the check means something"
        )
    seen: set[Hashable] = set()
    for record in run.records:
        key = natural_key(record)
        if key in seen:
            raise ConformanceFailure(
                f"{capability.value}: two records of one read share the natural key of a "
                f"{type(record).__name__} (the core would upsert one over the other)"
            )
        seen.add(key)


async def check_incremental(env: ConformanceEnv, capability: Capability) -> None:
    """Reading from the cursor saved after a full read returns nothing new."""
    first = await _ok(env, read_all(env.adapter(), capability, max_pages=env.suite.max_pages))
    if first.final_cursor is None:
        raise ConformanceFailure(
            f"{capability.value}: the last page carries no cursor, so every sync re-reads the "
            "whole stream; return a high-water mark (or list the stream in "
            "full_refresh_streams with the reason)"
        )
    second = await _ok(
        env,
        read_all(env.adapter(), capability, first.final_cursor, max_pages=env.suite.max_pages),
    )
    new = second.keys - first.keys
    if new:
        raise ConformanceFailure(
            f"{capability.value}: a read from the saved cursor returned {len(new)} record(s) "
            "the first read never returned, with nothing changed at the vendor"
        )
    if len(first.records) > 1 and len(second.records) >= len(first.records):
        raise ConformanceFailure(
            f"{capability.value}: a read from the saved cursor returned the whole stream "
            f"again ({len(second.records)} records); the cursor does not advance"
        )


async def check_interrupted_read(env: ConformanceEnv, capability: Capability) -> None:
    """A read stopped after any page (a crash, a fault, a cancellation) and resumed from the
    cursor the core saved loses no record: no cursor ever points past data not returned."""
    baseline = await _ok(env, read_all(env.adapter(), capability, max_pages=env.suite.max_pages))
    if len(baseline.pages) < 2:
        raise ConformanceFailure(
            f"{capability.value}: the stream fits on one page, so interruptions cannot be "
            "tested; seed more records than one page holds (or lower the emulator's page size)"
        )
    everything = baseline.keys
    # Stopped after page k: the core has committed pages 0..k and the cursor of page k.
    for k in range(min(len(baseline.pages) - 1, 3)):
        cursor = baseline.pages[k].next_cursor
        resumed = await _ok(
            env, read_all(env.adapter(), capability, cursor, max_pages=env.suite.max_pages)
        )
        missing = everything - (baseline.keys_through(k) | resumed.keys)
        if missing:
            raise ConformanceFailure(
                f"{capability.value}: resuming from the cursor saved after page {k + 1} lost "
                f"{len(missing)} record(s): that cursor points past data not yet returned"
            )
    # Cancelled while the vendor is slow to answer page 2 (the client would wait longer).
    adapter = env.adapter(http_timeout=env.suite.operation_timeout * 2)
    first = await _ok(env, read_page(adapter, capability, None))
    await env.set_faults([Fault.TIMEOUT], timeout_seconds=env.suite.operation_timeout * 3)
    task = asyncio.ensure_future(read_page(adapter, capability, first.next_cursor))
    try:
        await wait_until(
            _timeout_injected(env), within=env.suite.operation_timeout, what="the slow request"
        )
    finally:
        task.cancel()
    done, _ = await asyncio.wait({task}, timeout=env.suite.operation_timeout)
    if not done:
        raise ConformanceFailure(f"{capability.value}: a cancelled read never finished")
    if not task.cancelled():
        error = task.exception()
        if error is None:
            raise ConformanceFailure(
                f"{capability.value}: a cancelled read returned a page instead of propagating "
                "CancelledError (the core would save a cursor for data it never got)"
            )
        raise ConformanceFailure(
            f"{capability.value}: a cancelled read raised {type(error).__name__} instead of "
            "propagating CancelledError"
        ) from error
    await env.clear_faults()
    resumed = await _ok(
        env, read_all(adapter, capability, first.next_cursor, max_pages=env.suite.max_pages)
    )
    missing = everything - ({natural_key(r) for r in first.records} | resumed.keys)
    if missing:
        raise ConformanceFailure(
            f"{capability.value}: after a cancelled read, resuming lost {len(missing)} record(s)"
        )


def _timeout_injected(env: ConformanceEnv) -> Callable[[], Awaitable[bool]]:
    async def injected() -> bool:
        return (await env.injected()).get(Fault.TIMEOUT.value, 0) > 0

    return injected


async def check_empty_last_page(env: ConformanceEnv, capability: Capability) -> None:
    """A listing whose continuation link leads to an empty page ends cleanly and whole."""
    baseline = await _ok(env, read_all(env.adapter(), capability, max_pages=env.suite.max_pages))
    await env.set_faults([Fault.EMPTY_LAST_PAGE])
    run = await _ok(env, read_all(env.adapter(), capability, max_pages=env.suite.max_pages))
    if (await env.injected()).get(Fault.EMPTY_LAST_PAGE.value, 0) == 0:
        raise ConformanceFailure(
            "the emulator never served an empty last page: its paging endpoints must call "
            "hub.testing.faults.honour_empty_last_page()"
        )
    if run.keys != baseline.keys:
        raise ConformanceFailure(
            f"{capability.value}: with an empty last page the read returned "
            f"{len(run.keys)} records instead of {len(baseline.keys)}"
        )


# --- faults ----------------------------------------------------------------------------------

#: Errors that count as the right classification of each fault; and whether a correct result
#: is acceptable too (aiohttp retries an idempotent request once on a reused connection that
#: was reset, and an adapter may re-ask for a body it could not parse).
_EXPECTED: Mapping[Fault, tuple[tuple[type[AdapterError], ...], bool]] = {
    Fault.RATE_LIMIT: ((RateLimited,), False),
    Fault.SERVER_ERROR: ((TransientError,), False),
    Fault.UNAUTHORIZED: ((AuthError,), False),
    Fault.TIMEOUT: ((TransientError,), False),
    Fault.RESET: ((TransientError,), True),
    Fault.TRUNCATED: ((TransientError, ContractViolation), True),
    Fault.MALFORMED: ((TransientError, ContractViolation), True),
}


async def check_fault(env: ConformanceEnv, capability: Capability, fault: Fault) -> None:
    """Under `fault`, the operation raises the right SDK error (never another exception, never a
    silently different result); a write retried with the same key has exactly one effect."""
    adapter = env.adapter()
    operation = await _Operation.prepare(env, adapter, capability)
    queue = [fault] * _REPEATS.get(fault, 1)
    effects_before = operation.effects()
    await env.set_faults(queue, retry_after=RETRY_AFTER_SECONDS)
    try:
        result = await _bounded(env, operation.run("conformance-fault-" + fault.value))
    except AdapterError as exc:
        expected, _ = _EXPECTED[fault]
        if not isinstance(exc, expected):
            names = " or ".join(e.__name__ for e in expected)
            raise ConformanceFailure(
                f"{capability.value} under {fault.value}: raised {type(exc).__name__}, "
                f"expected {names}"
            ) from exc
        if fault is Fault.RATE_LIMIT and getattr(exc, "retry_after", None) != float(
            RETRY_AFTER_SECONDS
        ):
            raise ConformanceFailure(
                f"{capability.value} under 429: RateLimited.retry_after is "
                f"{getattr(exc, 'retry_after', None)!r}, the vendor said "
                f"Retry-After: {RETRY_AFTER_SECONDS}"
            ) from exc
    except ConformanceFailure:
        raise
    except Exception as exc:
        raise ConformanceFailure(
            f"{capability.value} under {fault.value}: crashed with {type(exc).__name__} "
            "(only hub.sdk errors may cross the plugin boundary)"
        ) from exc
    else:
        if not _EXPECTED[fault][1]:
            raise ConformanceFailure(
                f"{capability.value} under {fault.value}: returned normally; expected "
                + " or ".join(e.__name__ for e in _EXPECTED[fault][0])
            )
        operation.same_as_baseline(result, fault)
    finally:
        await env.clear_faults()
    if operation.writes:
        # The core retries with the same key: the vendor must end up with one effect.
        await _ok(env, operation.run("conformance-fault-" + fault.value))
        made = operation.effects() - effects_before
        if made != 1:
            raise ConformanceFailure(
                f"{capability.value} under {fault.value}, retried with the same idempotency "
                f"key: {made} side effects at the vendor, expected exactly 1"
            )


class _Operation:
    """One call of a capability, with a baseline result to compare faulted results against."""

    def __init__(self, env: ConformanceEnv, adapter: Any, capability: Capability) -> None:
        self.env = env
        self.adapter = adapter
        self.capability = capability
        self.writes = capability in _WRITE_METHODS
        self.cursor: str | None = None
        self.baseline: Any = None
        self.concern_ref = ""

    @classmethod
    async def prepare(cls, env: ConformanceEnv, adapter: Any, capability: Capability) -> _Operation:
        op = cls(env, adapter, capability)
        if capability in READ_CAPABILITIES:
            # Fault the second page of a warm run ("mid-run"), or the first if there is one.
            first = await _ok(env, read_page(adapter, capability, None))
            op.cursor = first.next_cursor if first.has_more else None
            op.baseline = await _ok(env, read_page(adapter, capability, op.cursor))
        elif capability is Capability.READ_CONCERN_STATUS:
            op.concern_ref = await _ok(env, env.suite.concern_ref(env))
            op.baseline = await _ok(env, adapter.concern_status(op.concern_ref))
        elif op.writes:
            await _ok(env, op.run("conformance-warm-up"))
        else:
            raise ConformanceFailure(f"{capability.value} has no operation to fault")
        return op

    def effects(self) -> int:
        return self.env.side_effects(self.capability) if self.writes else 0

    async def run(self, key: str) -> Any:
        if self.capability in READ_CAPABILITIES:
            return await read_page(self.adapter, self.capability, self.cursor)
        if self.capability is Capability.READ_CONCERN_STATUS:
            return await self.adapter.concern_status(self.concern_ref)
        return await _write(self.env, self.adapter, self.capability, key)

    def same_as_baseline(self, result: Any, fault: Fault) -> None:
        where = f"{self.capability.value} under {fault.value}"
        if isinstance(result, Page):
            expected = self.baseline
            if [natural_key(r) for r in result.records] != [
                natural_key(r) for r in expected.records
            ] or result.has_more != expected.has_more:
                raise ConformanceFailure(
                    f"{where}: returned a page of {len(result.records)} records "
                    f"(has_more={result.has_more}) where the vendor's page holds "
                    f"{len(expected.records)} (has_more={expected.has_more}): a silently "
                    "short or altered page"
                )
        elif self.capability is Capability.READ_CONCERN_STATUS and result != self.baseline:
            raise ConformanceFailure(f"{where}: returned a different concern status")


_WRITE_METHODS: Mapping[Capability, str] = {
    Capability.WRITE_MARKS: "write_marks",
    Capability.SEND_RETURN: "send_return",
    Capability.SEND_NOTIFICATION: "send_notification",
    Capability.RAISE_CONCERN: "raise_concern",
}


async def _write(env: ConformanceEnv, adapter: Any, capability: Capability, key: str) -> Any:
    if capability is Capability.WRITE_MARKS:
        batch = list(env.suite.sample_write_batch())
        result = await adapter.write_marks(batch, key)
        if not isinstance(result, WriteResult):
            raise ConformanceFailure(f"write_marks returned {type(result).__name__}")
        indexes = [outcome.index for outcome in result.outcomes]
        if sorted(indexes) != list(range(len(batch))):
            raise ConformanceFailure(
                f"write_marks returned outcomes for indexes {indexes}, expected one for each "
                f"of the {len(batch)} records (a rejected record must never vanish)"
            )
        return result
    notification = env.suite.sample_notification(capability)
    receipt = await getattr(adapter, _WRITE_METHODS[capability])(notification, key)
    if not isinstance(receipt, DeliveryReceipt):
        raise ConformanceFailure(
            f"{_WRITE_METHODS[capability]} returned {type(receipt).__name__}, not a DeliveryReceipt"
        )
    if receipt.idempotency_key != key or receipt.notification_id != notification.id:
        raise ConformanceFailure(
            f"{_WRITE_METHODS[capability]}: the receipt does not name the notification and "
            "idempotency key it acknowledges"
        )
    return receipt


# --- writes ----------------------------------------------------------------------------------


async def check_write_idempotency(env: ConformanceEnv, capability: Capability) -> None:
    """The same idempotency key twice (even from a restarted adapter) makes one side effect."""
    before = env.side_effects(capability)
    await _ok(env, _write(env, env.adapter(), capability, "conformance-idempotency-1"))
    after_first = env.side_effects(capability)
    if after_first - before != 1:
        raise ConformanceFailure(
            f"{capability.value}: one call made {after_first - before} side effects at the "
            "vendor, expected 1 (check side_effect_count() too)"
        )
    await _ok(env, _write(env, env.adapter(), capability, "conformance-idempotency-1"))
    if env.side_effects(capability) != after_first:
        raise ConformanceFailure(
            f"{capability.value}: the same idempotency key sent twice made "
            f"{env.side_effects(capability) - before} side effects at the vendor, expected 1"
        )
    await _ok(env, _write(env, env.adapter(), capability, "conformance-idempotency-2"))
    if env.side_effects(capability) != after_first + 1:
        raise ConformanceFailure(
            f"{capability.value}: a new idempotency key made no new side effect (is the "
            "adapter ignoring the key it is given?)"
        )


# --- webhooks --------------------------------------------------------------------------------


async def check_webhook(env: ConformanceEnv) -> None:
    """A signed push returns contract-valid records; a tampered or unsigned one is AuthError."""
    adapter = env.adapter()
    headers, body = env.suite.webhook_push(env.config())
    lowered = {k.lower(): v for k, v in headers.items()}
    page = await _ok(env, adapter.handle_webhook(lowered, body))
    if not isinstance(page, Page) or not page.records:
        raise ConformanceFailure("handle_webhook returned no records for a valid signed push")
    for record in page.records:
        natural_key(record)
        again = type(record).model_validate(record.model_dump())
        if again != record:
            raise ConformanceFailure("handle_webhook returned a record that is not valid")
    tampered = body + b" "
    for name, attempt in (("tampered", (lowered, tampered)), ("unsigned", ({}, body))):
        try:
            await _bounded(env, adapter.handle_webhook(*attempt))
        except AuthError:
            continue
        except Exception as exc:
            raise ConformanceFailure(
                f"handle_webhook raised {type(exc).__name__} for a {name} push, expected AuthError"
            ) from exc
        raise ConformanceFailure(f"handle_webhook accepted a {name} push")


async def _ok(env: ConformanceEnv, awaitable: Awaitable[T]) -> T:
    """A call that must succeed: any exception is a conformance failure naming it."""
    try:
        return await _bounded(env, awaitable)
    except ConformanceFailure:
        raise
    except Exception as exc:
        raise ConformanceFailure(
            f"an adapter call that must succeed raised {type(exc).__name__}: {exc}"
        ) from exc


async def _bounded(env: ConformanceEnv, awaitable: Awaitable[T]) -> T:
    """Every wait in the kit is bounded: an adapter that hangs fails instead of stalling CI."""
    deadline = asyncio.timeout(env.suite.operation_timeout)
    try:
        async with deadline:
            return await awaitable
    except TimeoutError as exc:
        if deadline.expired():
            raise ConformanceFailure(
                f"an adapter call did not finish within {env.suite.operation_timeout:g}s"
            ) from exc
        raise
