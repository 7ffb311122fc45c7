"""Logs are JSON lines and never carry pupil data or secrets (DESIGN §6)."""

from __future__ import annotations

import io
import json
import logging

import structlog

from hub.logging import REDACTED, configure_logging
from hub_contracts import make_upn

UPN = make_upn("999200101001")


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_sensitive_keys_and_upns_are_redacted() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream, extra_sensitive_fields=["school_pin"])
    structlog.get_logger("t").info(
        "mark_rejected",
        upn=UPN,
        reason=f"code K not in force for {UPN}",
        client_secret="s3cret",
        api_token="hub_abc",
        school_pin="1234",
        nested={"family_name": "Synthetig", "count": 2},
        count=3,
    )
    (line,) = _lines(stream)
    text = json.dumps(line)
    assert UPN not in text
    assert "s3cret" not in text
    assert "hub_abc" not in text
    assert "1234" not in text
    assert "Synthetig" not in text
    assert line["upn"] == REDACTED
    assert line["reason"] == f"code K not in force for {REDACTED}"
    assert line["nested"] == {"family_name": REDACTED, "count": 2}
    assert line["count"] == 3
    assert line["event"] == "mark_rejected"
    assert line["level"] == "info"


def test_standard_library_loggers_go_through_the_redactor() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    logging.getLogger("aiohttp.client").warning("Authorization: Bearer hub_sekret for %s", UPN)
    (line,) = _lines(stream)
    assert "hub_sekret" not in json.dumps(line)
    assert UPN not in json.dumps(line)


def test_level_filters() -> None:
    stream = io.StringIO()
    configure_logging("WARNING", stream=stream)
    structlog.get_logger("t").info("quiet")
    structlog.get_logger("t").warning("loud")
    assert [line["event"] for line in _lines(stream)] == ["loud"]
