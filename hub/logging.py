"""structlog JSON logging with a redaction processor.

Pupil data and secrets never reach the logs (DESIGN §6): values under sensitive keys are
replaced, and any UPN-shaped token in any string is masked, whatever key carries it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"

# Secrets: any key containing one of these fragments.
SECRET_KEY_FRAGMENTS = (
    "password",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "subscription_key",
    "credential",
    "cookie",
)
# Pupil fields from the contracts (Learner, Registration): exact key names.
PUPIL_FIELDS = frozenset(
    {
        "upn",
        "given_name",
        "family_name",
        "date_of_birth",
        "address",
        "social_worker_email",
        "learner",
        "learners",
        "payload",
        "raw_payload",
        "name_of_pupil",
    }
)
# A UPN: check letter, 11 digits, digit or letter (DfE UPN format).
_UPN_PATTERN = re.compile(r"\b[A-Z][0-9]{11}[0-9A-Z]\b")
_BEARER_PATTERN = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")


class Redactor:
    """A structlog processor that masks secrets and pupil data in the event dict."""

    def __init__(self, extra_fields: Iterable[str] = ()) -> None:
        self.fields = PUPIL_FIELDS | {f.lower() for f in extra_fields}

    def _sensitive(self, key: str) -> bool:
        lowered = key.lower()
        return lowered in self.fields or any(f in lowered for f in SECRET_KEY_FRAGMENTS)

    def _clean(self, value: Any, depth: int = 0) -> Any:
        if depth > 6:
            return REDACTED
        if isinstance(value, str):
            return _BEARER_PATTERN.sub(r"\1 " + REDACTED, _UPN_PATTERN.sub(REDACTED, value))
        if isinstance(value, MutableMapping):
            return {
                k: (REDACTED if self._sensitive(str(k)) else self._clean(v, depth + 1))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean(v, depth + 1) for v in value]
        return value

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        for key in list(event_dict):
            if key == "event":
                event_dict[key] = self._clean(event_dict[key])
            elif self._sensitive(key):
                event_dict[key] = REDACTED
            else:
                event_dict[key] = self._clean(event_dict[key])
        return event_dict


def configure_logging(
    level: str = "INFO",
    fmt: str = "json",
    *,
    extra_sensitive_fields: Iterable[str] = (),
    stream: TextIO | None = None,
) -> Redactor:
    """Configure structlog and the standard library to write one JSON object per line."""
    redactor = Redactor(extra_sensitive_fields)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redactor,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that log request lines or SQL must not leak parameters. aiosqlite logs every
    # call with its arguments at DEBUG (pupil data in the parameters): found by the security
    # suite's log scan (tests/security/test_log_scan.py).
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=False,
    )
    return redactor
