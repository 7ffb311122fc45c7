"""Every conformance check can fail: each deliberately bad adapter breaks exactly the rule its
check enforces, and the well-behaved reference adapter passes every check."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import pytest
from aiohttp import web

from hub.sdk import Adapter, AdapterConfig, Capability, sign_hmac_sha256
from hub.testing import AdapterConformance, ConformanceFailure, Fault, checks
from hub.testing.hygiene import check_log_hygiene
from hub_contracts import AttendanceMark
from tests.testing import reference_vendor as ref

LEARNERS = Capability.READ_LEARNERS


class RosterSuite(AdapterConformance):
    adapter_class = ref.RosterAdapter

    def emulator_app(self) -> web.Application:
        return ref.build_roster_app()

    def seed_emulator(self, app: web.Application) -> None:
        app[ref.ROSTER].seed()

    def connection_config(self, base_url: str) -> Mapping[str, object]:
        return {
            "base_url": base_url,
            "api_key": ref.API_KEY,
            "webhook_secret": ref.WEBHOOK_SECRET,
        }

    def side_effect_count(self, app: web.Application, capability: Capability) -> int:
        state = app[ref.ROSTER]
        return state.mark_writes if capability is Capability.WRITE_MARKS else len(state.concerns)

    def sample_write_batch(self) -> Sequence[AttendanceMark]:
        return ref.sample_marks()

    def webhook_push(self, config: AdapterConfig) -> tuple[Mapping[str, str], bytes]:
        state = ref.RosterState()
        state.seed(1)
        body = json.dumps({"items": state.learners}).encode()
        return {"X-Signature": sign_hmac_sha256(ref.WEBHOOK_SECRET.encode(), body)}, body

    def sensitive_values(self, app: web.Application) -> Iterable[str]:
        for row in app[ref.ROSTER].learners:
            yield row["given"]
            yield row["family"]


def suite_for(adapter_class: type[Adapter[Any]]) -> RosterSuite:
    suite_class: type[RosterSuite] = type(
        f"{adapter_class.__name__}Suite", (RosterSuite,), {"adapter_class": adapter_class}
    )
    return suite_class()


Check = Callable[..., Awaitable[None]]

# (bad adapter, check, its arguments, what the failure must say)
BROKEN: list[Any] = [
    pytest.param(
        ref.BrokenCheck,
        checks.check_connection_check,
        (),
        r"check\(\) failed",
        id="check-fails-with-valid-credentials",
    ),
    pytest.param(
        ref.CheckWithoutVendor,
        checks.check_bad_credentials,
        (),
        "succeeded with credentials the vendor rejects",
        id="check-ignores-credentials",
    ),
    pytest.param(
        ref.InvalidRecords,
        checks.check_records,
        (LEARNERS,),
        "does not validate against the contract",
        id="records-invalid",
    ),
    pytest.param(
        ref.DuplicateKeys,
        checks.check_records,
        (LEARNERS,),
        "natural key",
        id="records-duplicate-keys",
    ),
    pytest.param(
        ref.NoFinalCursor,
        checks.check_incremental,
        (LEARNERS,),
        "no cursor",
        id="incremental-no-cursor",
    ),
    pytest.param(
        ref.RewindingCursor,
        checks.check_incremental,
        (LEARNERS,),
        "whole stream again",
        id="incremental-rewinds",
    ),
    pytest.param(
        ref.InMemoryPaging,
        checks.check_interrupted_read,
        (LEARNERS,),
        "points past data not yet returned",
        id="interrupted-cursor-too-far",
    ),
    pytest.param(
        ref.SwallowsCancellation,
        checks.check_interrupted_read,
        (LEARNERS,),
        "cancelled read returned a page",
        id="interrupted-cancel-swallowed",
    ),
    pytest.param(
        ref.BreaksOnEmptyPage,
        checks.check_empty_last_page,
        (LEARNERS,),
        "IndexError",
        id="empty-last-page",
    ),
    pytest.param(
        ref.RateLimitAsTransient,
        checks.check_fault,
        (LEARNERS, Fault.RATE_LIMIT),
        "expected RateLimited",
        id="fault-429",
    ),
    pytest.param(
        ref.ServerErrorAsPermanent,
        checks.check_fault,
        (LEARNERS, Fault.SERVER_ERROR),
        "expected TransientError",
        id="fault-5xx",
    ),
    pytest.param(
        ref.AuthAsTransient,
        checks.check_fault,
        (LEARNERS, Fault.UNAUTHORIZED),
        "expected AuthError",
        id="fault-401",
    ),
    pytest.param(
        ref.SwallowsErrors,
        checks.check_fault,
        (LEARNERS, Fault.TIMEOUT),
        "returned normally",
        id="fault-timeout",
    ),
    pytest.param(
        ref.SwallowsErrors,
        checks.check_fault,
        (LEARNERS, Fault.RESET),
        "silently short",
        id="fault-reset",
    ),
    pytest.param(
        ref.SwallowsErrors,
        checks.check_fault,
        (LEARNERS, Fault.TRUNCATED),
        "silently short",
        id="fault-truncated",
    ),
    pytest.param(
        ref.CrashesOnBadJson,
        checks.check_fault,
        (LEARNERS, Fault.MALFORMED),
        "crashed with JSONDecodeError",
        id="fault-malformed",
    ),
    pytest.param(
        ref.IgnoresIdempotencyKey,
        checks.check_write_idempotency,
        (Capability.WRITE_MARKS,),
        "same idempotency key sent twice",
        id="idempotency-write-marks",
    ),
    pytest.param(
        ref.IgnoresIdempotencyKey,
        checks.check_write_idempotency,
        (Capability.RAISE_CONCERN,),
        "same idempotency key sent twice",
        id="idempotency-raise-concern",
    ),
    pytest.param(
        ref.IgnoresIdempotencyKey,
        checks.check_fault,
        (Capability.RAISE_CONCERN, Fault.TRUNCATED),
        "expected exactly 1",
        id="idempotency-retry-after-fault",
    ),
    pytest.param(
        ref.UnverifiedWebhook,
        checks.check_webhook,
        (),
        "accepted a tampered push",
        id="webhook-unverified",
    ),
    pytest.param(
        ref.LogsSecret,
        check_log_hygiene,
        (),
        "secret config value appears in the logs",
        id="hygiene-secret",
    ),
    pytest.param(
        ref.LogsNames, check_log_hygiene, (), "learner name appears in the logs", id="hygiene-names"
    ),
    pytest.param(
        ref.UpnInErrors, check_log_hygiene, (), "UPN appears in an error message", id="hygiene-upn"
    ),
]


@pytest.mark.parametrize(("adapter_class", "check", "args", "expected"), BROKEN)
def test_check_fails_for_the_adapter_breaking_its_rule(
    adapter_class: type[Adapter[Any]], check: Check, args: tuple[Any, ...], expected: str
) -> None:
    with pytest.raises(ConformanceFailure, match=expected):
        suite_for(adapter_class).run_check(check, *args)


def test_manifest_check_fails_for_an_undeclared_method() -> None:
    with pytest.raises(ConformanceFailure, match="not registrable"):
        checks.check_manifest(suite_for(ref.UndeclaredMethod))


def test_config_check_fails_for_a_secret_kept_as_plain_text() -> None:
    with pytest.raises(ConformanceFailure, match="'api_key' looks like a secret"):
        checks.check_config_schema(suite_for(ref.PlainSecret))


OPERATIONS = [
    LEARNERS,
    Capability.WRITE_MARKS,
    Capability.RAISE_CONCERN,
    Capability.READ_CONCERN_STATUS,
]


def test_reference_adapter_passes_the_static_checks() -> None:
    checks.check_manifest(RosterSuite())
    checks.check_config_schema(RosterSuite())


@pytest.mark.parametrize(
    ("check", "args"),
    [
        pytest.param(checks.check_connection_check, (), id="check"),
        pytest.param(checks.check_bad_credentials, (), id="bad-credentials"),
        pytest.param(checks.check_records, (LEARNERS,), id="records"),
        pytest.param(checks.check_incremental, (LEARNERS,), id="incremental"),
        pytest.param(checks.check_interrupted_read, (LEARNERS,), id="interrupted"),
        pytest.param(checks.check_empty_last_page, (LEARNERS,), id="empty-last-page"),
        pytest.param(checks.check_write_idempotency, (Capability.WRITE_MARKS,), id="idem-marks"),
        pytest.param(
            checks.check_write_idempotency, (Capability.RAISE_CONCERN,), id="idem-concern"
        ),
        pytest.param(checks.check_webhook, (), id="webhook"),
        pytest.param(check_log_hygiene, (), id="hygiene"),
        *(
            pytest.param(checks.check_fault, (op, fault), id=f"fault-{op.value}-{fault.value}")
            for op in OPERATIONS
            for fault in checks.FAULTS
        ),
    ],
)
def test_reference_adapter_passes(check: Check, args: tuple[Any, ...]) -> None:
    RosterSuite().run_check(check, *args)
