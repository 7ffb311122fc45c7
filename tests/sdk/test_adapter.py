"""Adapter base class, pages, write results, and what the registries accept."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from hub.sdk import (
    Adapter,
    AdapterConfig,
    AdapterManifest,
    AdapterRegistry,
    Capability,
    ConfigError,
    HttpResponse,
    Notifier,
    NotifierRegistry,
    Page,
    PermanentError,
    RecordOutcome,
    RegistrationError,
    RulePack,
    RulePackRegistry,
    WriteResult,
    implemented_capabilities,
)
from hub_contracts import AttendanceMark, DeliveryReceipt, Notification


class SyntheticConfig(AdapterConfig):
    api_token: SecretStr


class OtherConfig(AdapterConfig):
    api_token: SecretStr


def make_manifest(name: str = "synthetic", **overrides: Any) -> AdapterManifest:
    fields: dict[str, Any] = {
        "name": name,
        "display_name": "Synthetic",
        "capabilities": frozenset({Capability.READ_MARKS}),
        "config_model": SyntheticConfig,
    }
    return AdapterManifest.model_validate(fields | overrides)


class MarksAdapter(Adapter[SyntheticConfig]):
    manifest = make_manifest()

    async def check(self) -> None:
        return None

    async def read_marks(self, cursor: str | None) -> Page[AttendanceMark]:
        return Page(records=[], next_cursor=cursor, has_more=False)


class NoNetwork:
    async def request(self, method: str, url: str, **kwargs: object) -> HttpResponse:
        raise AssertionError(f"unexpected request {method} {url}")


def config() -> SyntheticConfig:
    return SyntheticConfig(api_token=SecretStr("synthetic-token"))


# -- pages and write results ---------------------------------------------------------------------


def test_page_is_frozen_and_stores_a_tuple() -> None:
    page = Page(records=[1, 2, 3], next_cursor="c2", has_more=True)
    assert page.records == (1, 2, 3)
    with pytest.raises(AttributeError):
        page.has_more = False  # type: ignore[misc]


def test_page_with_more_needs_a_cursor() -> None:
    with pytest.raises(ValueError, match="next_cursor"):
        Page(records=[1], next_cursor=None, has_more=True)


def test_last_page_may_carry_the_high_water_mark() -> None:
    assert Page(records=[], next_cursor="2024-09-02T00:00:00Z").has_more is False


def test_write_result_orders_outcomes_and_splits_them() -> None:
    result = WriteResult(
        [
            RecordOutcome(index=1, ok=False, error="code not in the SIMS code set"),
            RecordOutcome(index=0, ok=True, external_ref="sims-1"),
        ]
    )
    assert [o.index for o in result.outcomes] == [0, 1]
    assert [o.index for o in result.accepted] == [0]
    assert [o.error for o in result.rejected] == ["code not in the SIMS code set"]


def test_write_result_rejects_duplicate_indexes_and_unexplained_failures() -> None:
    with pytest.raises(ValueError, match="same index"):
        WriteResult([RecordOutcome(0, True), RecordOutcome(0, True)])
    with pytest.raises(ValueError, match="must say why"):
        RecordOutcome(0, ok=False)


# -- the adapter base class ----------------------------------------------------------------------


async def test_undeclared_capabilities_raise_permanent_error() -> None:
    adapter = MarksAdapter(config(), NoNetwork(), connection_name="synthetic-1")
    assert (await adapter.read_marks("c1")).next_cursor == "c1"
    with pytest.raises(PermanentError, match="does not declare capability 'read_roll'"):
        await adapter.read_roll(None)
    with pytest.raises(PermanentError, match="'receive_webhook'"):
        await adapter.handle_webhook({}, b"{}")


def test_adapter_refuses_another_config_model() -> None:
    with pytest.raises(ConfigError, match="needs a SyntheticConfig, got OtherConfig"):
        MarksAdapter(
            OtherConfig(api_token=SecretStr("x")),  # type: ignore[arg-type]
            NoNetwork(),
            connection_name="synthetic-1",
        )


def test_implemented_capabilities() -> None:
    assert implemented_capabilities(MarksAdapter) == {Capability.READ_MARKS}


# -- adapter registry ----------------------------------------------------------------------------


def test_registry_accepts_a_valid_adapter() -> None:
    registry = AdapterRegistry()
    registry.register(MarksAdapter)
    assert dict(registry) == {"synthetic": MarksAdapter}
    assert len(registry) == 1
    assert "synthetic" in registry


def test_duplicate_adapter_name_is_rejected() -> None:
    class Again(MarksAdapter):
        manifest = make_manifest()

    registry = AdapterRegistry()
    registry.register(MarksAdapter)
    with pytest.raises(RegistrationError, match="adapter 'synthetic' is already registered"):
        registry.register(Again)


def test_declared_capability_must_be_implemented() -> None:
    class Overclaims(MarksAdapter):
        manifest = make_manifest(
            "overclaims", capabilities=frozenset({Capability.READ_MARKS, Capability.WRITE_MARKS})
        )

    with pytest.raises(RegistrationError, match=r"override write_marks\(\) with async def"):
        AdapterRegistry().register(Overclaims)


def test_capability_method_must_be_async() -> None:
    class SyncRead(Adapter[SyntheticConfig]):
        manifest = make_manifest("sync-read")

        async def check(self) -> None:
            return None

        def read_marks(self, cursor: str | None) -> Page[AttendanceMark]:  # type: ignore[override]
            return Page(records=[])

    with pytest.raises(RegistrationError, match="read_marks"):
        AdapterRegistry().register(SyncRead)


def test_incompatible_plugin_api_version_is_rejected() -> None:
    class Future(MarksAdapter):
        manifest = make_manifest("future", plugin_api_version="2.0")

    with pytest.raises(RegistrationError, match=r"plugin API 2\.0; this hub provides 1\.0"):
        AdapterRegistry().register(Future)


def test_abstract_or_manifestless_or_foreign_classes_are_rejected() -> None:
    class NoCheck(Adapter[SyntheticConfig]):
        manifest = make_manifest("no-check")

    class NoManifest(Adapter[SyntheticConfig]):
        async def check(self) -> None:
            return None

    registry = AdapterRegistry()
    with pytest.raises(RegistrationError, match="does not implement: check"):
        registry.register(NoCheck)  # type: ignore[type-abstract]
    with pytest.raises(RegistrationError, match="no `manifest: AdapterManifest`"):
        registry.register(NoManifest)
    with pytest.raises(RegistrationError, match=r"not a subclass of hub\.sdk\.Adapter"):
        registry.register(dict)  # type: ignore[arg-type]
    assert len(registry) == 0


# -- notifier and rule-pack registries -----------------------------------------------------------


class EmailConfig(AdapterConfig):
    smtp_host: str


class SyntheticEmail(Notifier[EmailConfig]):
    config_model: ClassVar[type[AdapterConfig]] = EmailConfig

    async def send(self, notification: Notification, idempotency_key: str) -> DeliveryReceipt:
        return DeliveryReceipt(
            notification_id=notification.id,
            recipient=notification.recipient,
            idempotency_key=idempotency_key,
            delivered_at=dt.datetime(2024, 9, 2, tzinfo=dt.UTC),
        )


def test_notifier_registry() -> None:
    registry = NotifierRegistry()
    registry.register("email", SyntheticEmail)
    assert registry["email"] is SyntheticEmail
    with pytest.raises(RegistrationError, match="notifier 'email' is already registered"):
        registry.register("email", SyntheticEmail)
    with pytest.raises(RegistrationError, match="must match"):
        registry.register("E-Mail", SyntheticEmail)
    with pytest.raises(RegistrationError, match=r"not a subclass of hub\.sdk\.Notifier"):
        registry.register("adapter", MarksAdapter)  # type: ignore[arg-type]


def test_rule_pack_registry() -> None:
    pack = RulePack("cme-every-removal", "Notify the CME team of every removal", frozenset({"681"}))
    registry = RulePackRegistry()
    registry.register(pack)
    assert registry["cme-every-removal"].applies_to("681")
    assert not registry["cme-every-removal"].applies_to("682")
    assert RulePack("everywhere", "All LAs").applies_to("999")
    with pytest.raises(RegistrationError, match="rule pack 'cme-every-removal' is already"):
        registry.register(pack)


@pytest.mark.parametrize(
    ("name", "description", "la_codes", "message"),
    [
        ("Bad Name", "d", None, "must match"),
        ("ok", " ", None, "needs a description"),
        ("ok", "d", frozenset(), "la_codes is empty"),
        ("ok", "d", frozenset({"68"}), "not 3-digit LA codes"),
    ],
)
def test_invalid_rule_packs(
    name: str, description: str, la_codes: frozenset[str] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RulePack(name, description, la_codes)
