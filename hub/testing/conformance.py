"""The adapter conformance suite (and the kit's pytest plugin, entry point ``hub_conformance``).

A vendor subclasses `AdapterConformance` in their tests, names the adapter class explicitly and
gives an emulator; every test below then runs against it over loopback, through the core's real
HTTP client::

    from hub.testing import AdapterConformance
    from hub_acme.adapter import AcmeAdapter
    from hub_acme.emulator import build_app, seed


    class TestAcmeConformance(AdapterConformance):
        adapter_class = AcmeAdapter

        def emulator_app(self) -> web.Application:
            return build_app(page_size=50)          # hub.testing.faults installed

        def seed_emulator(self, app: web.Application) -> None:
            seed(app, learners=120)                 # more than one page per stream

        def connection_config(self, base_url: str) -> dict[str, object]:
            return {"base_url": base_url, "api_key": "synthetic-key"}   # literal secrets

        def side_effect_count(self, app: web.Application, capability: Capability) -> int:
            return app[STATE].applied_writes        # only for write capabilities

Tests for a capability the manifest does not declare are skipped, with that reason; every
other test must pass. What is checked (each check is a function in `hub.testing.checks`):

- the manifest validates and every declared capability has its method; the config schema is
  valid JSON Schema, every secret-looking field is a `SecretStr` marked `writeOnly`;
- `check()` succeeds with the suite's credentials and raises `AuthError` with rejected ones;
- per read stream: contract-valid records with unique natural keys; a second read from the
  saved cursor returns nothing new; a read stopped after any page (crash, fault, cancellation)
  and resumed from the saved cursor loses nothing; an empty last page is handled;
- per operation (reads, writes, concern status), each fault of the catalogue: 429 with
  Retry-After → `RateLimited(retry_after)`, a burst of 5xx → `TransientError`, 401 mid-run →
  `AuthError`, a timeout → `TransientError`, a reset → `TransientError` (or the right result),
  a truncated or malformed body → `TransientError` / `ContractViolation` (or the right result,
  never a silently short page); a write retried with the same key after any fault has exactly
  one effect;
- per write capability: the same idempotency key twice (from a restarted adapter) makes one
  side effect at the emulator, a new key a new one; `write_marks` returns one outcome per record;
- webhooks: a signed push gives valid records, a tampered or unsigned one `AuthError`;
- log hygiene: with logging configured as in production, no secret value, UPN or learner name
  appears in the logs, error messages or tracebacks.

Hooks a suite may override are the methods of `AdapterConformance` below; the emulator must
install `hub.testing.faults` (middleware and control routes) and its paging endpoints must call
`honour_empty_last_page`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import pytest
from aiohttp import web

from hub.sdk import PLUGIN_API_VERSION, Adapter, AdapterConfig, Capability, secret_fields
from hub_contracts import AttendanceMark, Notification, NotificationKind, make_upn

from . import checks
from .faults import Fault
from .harness import (
    READ_CAPABILITIES,
    WRITE_CAPABILITIES,
    ConformanceEnv,
    ConformanceFailure,
    running_env,
)
from .hygiene import check_log_hygiene

__all__ = ["AdapterConformance", "ConformanceFailure"]

_NOTIFICATION_KINDS: Mapping[Capability, NotificationKind] = {
    Capability.SEND_RETURN: NotificationKind.DELETION_RETURN,
    Capability.SEND_NOTIFICATION: NotificationKind.CME_REFERRAL,
    Capability.RAISE_CONCERN: NotificationKind.SAFEGUARDING_ALERT,
}
_FAULT_CAPABILITIES = (*READ_CAPABILITIES, Capability.READ_CONCERN_STATUS, *WRITE_CAPABILITIES)


def pytest_report_header() -> str:
    return f"hub conformance kit: plugin API {PLUGIN_API_VERSION}"


class AdapterConformance:
    """Subclass as ``Test<Vendor>Conformance`` with `adapter_class` and the emulator hooks."""

    #: The adapter under test, named explicitly (no discovery by naming convention).
    adapter_class: ClassVar[type[Adapter[Any]]]
    #: The HTTP client's default timeout: the TIMEOUT fault holds responses longer than this.
    client_timeout: ClassVar[float] = 1.0
    #: Bound on any single adapter call in the kit, in seconds.
    operation_timeout: ClassVar[float] = 60.0
    #: Bound on the pages of one read.
    max_pages: ClassVar[int] = 500
    #: Only requests under this path are faulted (e.g. leave a token endpoint alone).
    fault_path_prefix: ClassVar[str] = "/"
    #: Read streams without an incremental cursor, each with the reason (checks skip them).
    full_refresh_streams: ClassVar[Mapping[Capability, str]] = {}
    #: Extra field names for the log redactor (the plugin's `hub_sensitive_fields()`).
    sensitive_fields: ClassVar[tuple[str, ...]] = ()

    # --- hooks ------------------------------------------------------------------------------

    def emulator_app(self) -> web.Application:
        """A fresh emulator application (a new one per test), with `hub.testing.faults`."""
        raise NotImplementedError(f"{type(self).__name__} must implement emulator_app()")

    def connection_config(self, base_url: str) -> Mapping[str, object]:
        """Raw connection options for an emulator at `base_url`, secrets as literal values."""
        raise NotImplementedError(f"{type(self).__name__} must implement connection_config()")

    def seed_emulator(self, app: web.Application) -> Awaitable[None] | None:
        """Fill the emulator's state before it serves (sync or async). Reads need more
        records than one page holds; names should be distinctive (the hygiene check looks
        for them)."""
        return None

    def side_effect_count(self, app: web.Application, capability: Capability) -> int:
        """How many distinct side effects the emulator has performed for `capability`
        (batches applied, returns received, concerns created), replays excluded."""
        raise NotImplementedError(
            f"{type(self).__name__} declares {capability.value}: implement side_effect_count()"
        )

    def sample_write_batch(self) -> Sequence[AttendanceMark]:
        """Marks the emulator accepts, for `write_marks` checks."""
        raise NotImplementedError(
            f"{type(self).__name__} declares write_marks: implement sample_write_batch()"
        )

    def sample_notification(self, capability: Capability) -> Notification:
        """The notification sent by `send_return`, `send_notification` and `raise_concern`
        checks (a synthetic one by default)."""
        return Notification(
            id=f"conformance-{capability.value}",
            kind=_NOTIFICATION_KINDS[capability],
            upn=make_upn("999999926001"),
            recipient="conformance-recipient",
            created_at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC),
            payload={"reason": "conformance check (synthetic)"},
        )

    async def concern_ref(self, env: ConformanceEnv) -> str:
        """An external reference `concern_status` can look up (by default: raise a concern)."""
        receipt = await env.adapter().raise_concern(
            self.sample_notification(Capability.RAISE_CONCERN), "conformance-concern-ref"
        )
        if not receipt.external_ref:
            raise ConformanceFailure("raise_concern returned no external_ref to look up")
        return str(receipt.external_ref)

    def bad_credentials(self, base_url: str) -> Mapping[str, object]:
        """Option overrides the vendor must reject (by default: every secret replaced)."""
        model = self.adapter_class.manifest.config_model
        return {
            model.model_fields[name].alias or name: f"wrong-{name}-conformance"
            for name in secret_fields(model)
        }

    def webhook_push(self, config: AdapterConfig) -> tuple[Mapping[str, str], bytes]:
        """Headers and body of a validly signed push, for `receive_webhook` checks."""
        raise NotImplementedError(
            f"{type(self).__name__} declares receive_webhook: implement webhook_push()"
        )

    def sensitive_values(self, app: web.Application) -> Iterable[str]:
        """Learner names (or other pupil data) held by the emulator, never to be logged."""
        return ()

    def secret_values(self, app: web.Application) -> Iterable[str]:
        """Secrets the emulator issued (access tokens...), never to be logged."""
        return ()

    # --- running a check --------------------------------------------------------------------

    def run_check(self, check: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run one async check against a freshly built, seeded and served emulator."""

        async def main() -> None:
            async with running_env(self) as env:
                await check(env, *args)

        asyncio.run(main())

    def require(self, capability: Capability) -> None:
        declared = self.adapter_class.manifest.capabilities
        if capability not in declared:
            pytest.skip(f"{self.adapter_class.manifest.name} does not declare {capability.value}")

    def require_incremental(self, capability: Capability) -> None:
        self.require(capability)
        reason = self.full_refresh_streams.get(capability)
        if reason:
            pytest.skip(f"{capability.value} is a full-refresh stream: {reason}")

    # --- the suite --------------------------------------------------------------------------

    def test_manifest_is_valid(self) -> None:
        checks.check_manifest(self)

    def test_config_schema_keeps_secrets_write_only(self) -> None:
        checks.check_config_schema(self)

    def test_check_succeeds_with_valid_credentials(self) -> None:
        self.run_check(checks.check_connection_check)

    def test_check_raises_auth_error_for_rejected_credentials(self) -> None:
        self.run_check(checks.check_bad_credentials)

    @pytest.mark.parametrize("capability", READ_CAPABILITIES, ids=str)
    def test_records_are_contract_valid_with_unique_keys(self, capability: Capability) -> None:
        self.require(capability)
        self.run_check(checks.check_records, capability)

    @pytest.mark.parametrize("capability", READ_CAPABILITIES, ids=str)
    def test_second_read_from_saved_cursor_returns_nothing_new(
        self, capability: Capability
    ) -> None:
        self.require_incremental(capability)
        self.run_check(checks.check_incremental, capability)

    @pytest.mark.parametrize("capability", READ_CAPABILITIES, ids=str)
    def test_interrupted_read_resumes_without_loss(self, capability: Capability) -> None:
        self.require_incremental(capability)
        self.run_check(checks.check_interrupted_read, capability)

    @pytest.mark.parametrize("capability", READ_CAPABILITIES, ids=str)
    def test_empty_last_page_is_handled(self, capability: Capability) -> None:
        self.require(capability)
        self.run_check(checks.check_empty_last_page, capability)

    @pytest.mark.parametrize("fault", checks.FAULTS, ids=str)
    @pytest.mark.parametrize("capability", _FAULT_CAPABILITIES, ids=str)
    def test_fault_is_classified(self, capability: Capability, fault: Fault) -> None:
        self.require(capability)
        self.run_check(checks.check_fault, capability, fault)

    @pytest.mark.parametrize("capability", WRITE_CAPABILITIES, ids=str)
    def test_same_idempotency_key_makes_one_side_effect(self, capability: Capability) -> None:
        self.require(capability)
        self.run_check(checks.check_write_idempotency, capability)

    def test_webhook_signature_is_verified(self) -> None:
        self.require(Capability.RECEIVE_WEBHOOK)
        self.run_check(checks.check_webhook)

    def test_logs_hold_no_secret_or_pupil_data(self) -> None:
        self.run_check(check_log_hygiene)
