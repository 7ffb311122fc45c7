"""Log hygiene: run an adapter through its paces with the core's logging captured, then look
for secrets, UPNs and learner names in what was written (and in the errors it raised).

Logging goes through `hub.logging.configure_logging` exactly as in production, redactor
included: a value the redactor masks is fine; anything that survives it is a leak. Error
messages are checked as they are (operators see them in the API and the CLI), tracebacks as
the core would log them.
"""

from __future__ import annotations

import io
import logging
import re
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from pydantic import SecretBytes, SecretStr

from hub.logging import configure_logging
from hub.sdk import AdapterError, Capability, secret_fields
from hub_contracts import Learner

from .checks import _bounded, _ok, _Operation, _write
from .faults import Fault
from .harness import (
    READ_CAPABILITIES,
    WRITE_CAPABILITIES,
    ConformanceEnv,
    ConformanceFailure,
    read_all,
)

__all__ = ["captured_logs", "check_log_hygiene"]

#: Faults whose error messages and tracebacks are inspected too.
_ERROR_FAULTS = (Fault.UNAUTHORIZED, Fault.SERVER_ERROR, Fault.MALFORMED, Fault.TRUNCATED)
_QUIET_LOGGERS = ("sqlalchemy.engine", "aiohttp.access", "alembic")


@contextmanager
def captured_logs(
    stream: io.StringIO, extra_sensitive_fields: Iterable[str] = ()
) -> Iterator[None]:
    """Route structlog and the standard library, at DEBUG, through the core's logging set-up
    into `stream`; restore the previous configuration afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_levels = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    try:
        configure_logging(
            "DEBUG", "json", extra_sensitive_fields=extra_sensitive_fields, stream=stream
        )
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        structlog.configure(**saved)


async def check_log_hygiene(env: ConformanceEnv) -> None:
    """No secret value, UPN or learner name in the logs or in the errors raised."""
    buffer = io.StringIO()
    seen: list[Any] = []
    messages: list[str] = []
    chains: list[str] = []
    with captured_logs(buffer, env.suite.sensitive_fields):
        log = structlog.get_logger("hub.testing.conformance")
        await _exercise(env, seen, messages, chains, log)
    logged = buffer.getvalue()

    secrets = _secret_values(env)
    upns = {value for record in seen for value in _upns(record)}
    names = {
        part
        for record in seen
        if isinstance(record, Learner)
        for part in (record.given_name, record.family_name)
    } | set(env.suite.sensitive_values(env.app))
    errors = "\n".join(messages)
    texts = (("the logs", logged), ("an error message", errors), ("a traceback", "\n".join(chains)))
    for what, text in texts:
        for secret in secrets:
            if secret in text:
                raise ConformanceFailure(f"a secret config value appears in {what}")
        for name in names:
            if len(name) >= 3 and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text):
                raise ConformanceFailure(f"a learner name appears in {what}")
    for upn in upns:
        if upn in logged:
            raise ConformanceFailure("a UPN appears in the logs (even after the redactor)")
        if upn in errors:
            raise ConformanceFailure("a UPN appears in an error message shown to operators")


async def _exercise(
    env: ConformanceEnv, seen: list[Any], messages: list[str], chains: list[str], log: Any
) -> None:
    adapter = env.adapter()
    await _ok(env, adapter.check())
    for capability in READ_CAPABILITIES:
        if capability not in env.capabilities:
            continue
        run = await _ok(env, read_all(adapter, capability, max_pages=env.suite.max_pages))
        seen.extend(run.records)
    for capability in WRITE_CAPABILITIES:
        if capability not in env.capabilities:
            continue
        if capability is Capability.WRITE_MARKS:
            seen.extend(env.suite.sample_write_batch())
        else:
            seen.append(env.suite.sample_notification(capability))
        await _ok(env, _write(env, adapter, capability, f"hygiene-{capability.value}"))
    operations = [
        c
        for c in (*READ_CAPABILITIES, Capability.READ_CONCERN_STATUS, *WRITE_CAPABILITIES)
        if c in env.capabilities
    ]
    for capability in operations:
        operation = await _Operation.prepare(env, env.adapter(), capability)
        for fault in _ERROR_FAULTS:
            await env.set_faults([fault] * 2)
            try:
                await _bounded(env, operation.run(f"hygiene-{fault.value}"))
            except AdapterError as exc:
                messages.append(str(exc))
                # As the core records a failed operation: the traceback, through the redactor.
                log.error("operation_failed", capability=capability.value, exc_info=exc)
                chains.append(_names_only(exc))
            finally:
                await env.clear_faults()


def _names_only(exc: BaseException) -> str:
    """The exception chain's messages without source lines: checked for secrets and names
    (UPNs in a chained cause are masked by the core's redactor when it logs the traceback)."""
    return "".join(
        line
        for line in traceback.format_exception(exc)
        if not line.startswith("  ")  # frames and source lines
    )


def _upns(record: Any) -> Iterator[str]:
    upn = getattr(record, "upn", None)
    if isinstance(upn, str):
        yield upn


def _secret_values(env: ConformanceEnv) -> set[str]:
    model = env.adapter_class.manifest.config_model
    config = env.config()
    values = set()
    for name in secret_fields(model):
        value = getattr(config, name)
        if isinstance(value, SecretStr):
            values.add(value.get_secret_value())
        elif isinstance(value, SecretBytes):
            values.add(value.get_secret_value().decode("utf-8", "replace"))
    values |= {str(v) for v in env.suite.secret_values(env.app)}
    return {v for v in values if len(v) >= 4}
