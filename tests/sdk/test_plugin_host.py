"""PluginHost: discovery through entry points, allow/block lists, refusals, inventory."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from hub.plugins import PluginHost, RefusedPlugin
from hub.sdk import (
    ENTRY_POINT_GROUP,
    Adapter,
    AdapterConfig,
    AdapterManifest,
    AdapterRegistry,
    Capability,
    RulePack,
    RulePackRegistry,
    hookimpl,
)

FakePlugin = Callable[..., EntryPoint]
IN_REPO = {"sims", "one", "myconcern", "cpoms"}


class FakeConfig(AdapterConfig):
    vendor_password: SecretStr


def make_adapter(name: str, *, api_version: str = "1.0") -> type[Adapter[FakeConfig]]:
    class FakeAdapter(Adapter[FakeConfig]):
        manifest = AdapterManifest(
            name=name,
            display_name=f"Fake {name}",
            plugin_api_version=api_version,
            capabilities=frozenset({Capability.RAISE_CONCERN}),
            config_model=FakeConfig,
        )

        async def check(self) -> None:
            return None

        async def raise_concern(self, alert: Any, idempotency_key: str) -> Any:
            raise NotImplementedError

    return FakeAdapter


def registers(*adapters: type[Adapter[Any]]) -> Callable[[AdapterRegistry], None]:
    @hookimpl
    def hub_register_adapters(registry: AdapterRegistry) -> None:
        for adapter in adapters:
            registry.register(adapter)

    return hub_register_adapters


def installed() -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP))


def reason_of(host: PluginHost, name: str) -> str:
    (info,) = [info for info in host.inventory() if info.name == name]
    assert info.status == "refused", info
    assert info.reason is not None
    assert RefusedPlugin(name, info.reason) in host.refused
    return info.reason


# -- the real, installed plugins -----------------------------------------------------------------


def test_loads_the_four_in_repo_plugins_through_entry_points() -> None:
    host = PluginHost()
    host.load()
    assert host.refused == []
    assert set(host.adapters) >= IN_REPO
    by_name = {info.name: info for info in host.inventory()}
    for name in IN_REPO:
        info = by_name[name]
        assert info.status == "loaded"
        assert info.distribution == f"attendance-hub-{name}"
        assert info.version == "0.1.0"
        assert info.module == f"hub_{name}.plugin"
        assert info.adapters == (name,)
        assert host.adapters[name].manifest.name == name
    assert set(by_name["sims"].capabilities) == {
        "read_learners",
        "read_roll",
        "read_marks",
        "write_marks",
        "receive_webhook",
    }


def test_sensitive_fields_union_hook_results_and_config_secrets() -> None:
    host = PluginHost()
    host.load()
    fields = host.sensitive_fields()
    assert {"client_secret", "subscription_key", "ocp-apim-subscription-key"} <= fields  # sims
    assert {"api_key", "api_token"} <= fields  # config secrets of one, myconcern, cpoms


def test_allow_list_loads_only_the_named_plugins() -> None:
    host = PluginHost()
    host.load(allow=["sims"])
    assert set(host.adapters) == {"sims"}
    statuses = {info.name: (info.status, info.reason) for info in host.inventory()}
    assert statuses["sims"] == ("loaded", None)
    assert statuses["cpoms"] == ("blocked", "not in the allow list (plugins.allow)")
    assert host.refused == []


def test_block_list_wins_over_the_allow_list() -> None:
    host = PluginHost()
    host.load(allow=["sims", "cpoms"], block=["cpoms"])
    assert set(host.adapters) == {"sims"}
    statuses = {info.name: (info.status, info.reason) for info in host.inventory()}
    assert statuses["cpoms"] == ("blocked", "blocked by configuration (plugins.block)")


def test_load_twice_is_an_error() -> None:
    host = PluginHost(entry_points=[])
    host.load()
    with pytest.raises(RuntimeError, match="already called"):
        host.load()


# -- refusals --------------------------------------------------------------------------------------


def test_async_hookimpl_is_refused(fake_plugin: FakePlugin) -> None:
    @hookimpl
    async def hub_register_adapters(registry: AdapterRegistry) -> None:
        registry.register(make_adapter("async-vendor"))

    host = PluginHost(
        entry_points=[
            *installed(),
            fake_plugin("async", hub_register_adapters=hub_register_adapters),
        ]
    )
    host.load()
    assert "hub_register_adapters is `async def`" in reason_of(host, "async")
    assert "async-vendor" not in host.adapters
    assert set(host.adapters) >= IN_REPO  # the hub runs on without it


def test_hookimpl_returning_a_coroutine_is_refused(fake_plugin: FakePlugin) -> None:
    async def later() -> list[str]:
        return ["x"]

    @hookimpl
    def hub_sensitive_fields() -> Coroutine[Any, Any, list[str]]:
        return later()

    host = PluginHost(
        entry_points=[fake_plugin("sneaky", hub_sensitive_fields=hub_sensitive_fields)]
    )
    host.load()  # filterwarnings=error: an unawaited coroutine would fail this test
    assert "returned an awaitable" in reason_of(host, "sneaky")


def test_incompatible_plugin_api_version_is_refused(fake_plugin: FakePlugin) -> None:
    ep = fake_plugin(
        "future", hub_register_adapters=registers(make_adapter("future", api_version="2.0"))
    )
    host = PluginHost(entry_points=[ep])
    host.load()
    reason = reason_of(host, "future")
    assert "written for plugin API 2.0; this hub provides 1.0" in reason
    assert host.adapters == {}


def test_plugin_that_raises_on_import_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fake_hub_plugin_broken.py").write_text(
        'raise RuntimeError("synthetic import failure")\n', encoding="utf-8"
    )
    monkeypatch.syspath_prepend(tmp_path)
    broken = EntryPoint("broken", "fake_hub_plugin_broken", ENTRY_POINT_GROUP)
    missing = EntryPoint("missing", "fake_hub_plugin_not_installed", ENTRY_POINT_GROUP)
    host = PluginHost(entry_points=[*installed(), broken, missing])
    host.load()
    assert reason_of(host, "broken") == "import failed: RuntimeError: synthetic import failure"
    assert reason_of(host, "missing").startswith("import failed: ModuleNotFoundError")
    assert set(host.adapters) >= IN_REPO


def test_duplicate_adapter_name_refuses_every_claimant(fake_plugin: FakePlugin) -> None:
    # "impostor" sorts before "sims": whichever loads first, neither silently wins.
    impostor = fake_plugin("impostor", hub_register_adapters=registers(make_adapter("sims")))
    host = PluginHost(entry_points=[*installed(), impostor])
    host.load()
    expected = (
        "adapter 'sims' is registered by several plugins ('impostor', 'sims'); "
        "block all but one (plugins.block)"
    )
    assert reason_of(host, "impostor") == expected
    assert reason_of(host, "sims") == expected
    assert "sims" not in host.adapters
    assert set(host.adapters) == IN_REPO - {"sims"}


def test_blocking_one_claimant_resolves_the_conflict(fake_plugin: FakePlugin) -> None:
    impostor = fake_plugin("impostor", hub_register_adapters=registers(make_adapter("sims")))
    host = PluginHost(entry_points=[*installed(), impostor])
    host.load(block=["impostor"])
    assert host.refused == []
    assert host.adapters["sims"].__module__ == "hub_sims.adapter"


def test_duplicate_within_one_plugin_is_refused(fake_plugin: FakePlugin) -> None:
    ep = fake_plugin(
        "twice", hub_register_adapters=registers(make_adapter("twice"), make_adapter("twice"))
    )
    host = PluginHost(entry_points=[ep])
    host.load()
    assert "adapter 'twice' is already registered" in reason_of(host, "twice")


def test_refused_plugin_keeps_nothing_it_registered(fake_plugin: FakePlugin) -> None:
    @hookimpl
    def hub_register_rules(registry: RulePackRegistry) -> None:
        raise KeyError("synthetic bug")

    ep = fake_plugin(
        "half",
        hub_register_adapters=registers(make_adapter("half")),
        hub_register_rules=hub_register_rules,
    )
    host = PluginHost(entry_points=[ep])
    host.load()
    assert reason_of(host, "half") == "hub_register_rules failed: KeyError: 'synthetic bug'"
    assert host.adapters == {}
    assert "vendor_password" not in host.sensitive_fields()
    (info,) = host.inventory()
    assert info.adapters == ()


def test_unknown_hook_and_bad_arguments_are_refused(fake_plugin: FakePlugin) -> None:
    @hookimpl
    def hub_register_widgets(registry: object) -> None:
        return None

    @hookimpl
    def hub_register_adapters(registry: AdapterRegistry, extra: int) -> None:
        return None

    host = PluginHost(
        entry_points=[
            fake_plugin("widgets", hub_register_widgets=hub_register_widgets),
            fake_plugin("extra-arg", hub_register_adapters=hub_register_adapters),
        ]
    )
    host.load()
    assert "unknown hook 'hub_register_widgets'" in reason_of(host, "widgets")
    assert "'extra'" in reason_of(host, "extra-arg")


def test_module_without_hooks_is_refused(fake_plugin: FakePlugin) -> None:
    host = PluginHost(entry_points=[fake_plugin("empty", VERSION="1")])
    host.load()
    assert "has no @hookimpl functions" in reason_of(host, "empty")


@pytest.mark.parametrize(
    ("returned", "message"),
    [("client_secret", "not str"), ([""], "not a field name"), ([1], "not a field name")],
)
def test_sensitive_fields_must_be_names(
    fake_plugin: FakePlugin, returned: object, message: str
) -> None:
    @hookimpl
    def hub_sensitive_fields() -> Iterable[str]:
        return returned  # type: ignore[return-value]

    host = PluginHost(
        entry_points=[fake_plugin("fields", hub_sensitive_fields=hub_sensitive_fields)]
    )
    host.load()
    assert message in reason_of(host, "fields")


def test_duplicate_entry_point_name_is_refused(fake_plugin: FakePlugin) -> None:
    first = fake_plugin("twin", hub_register_adapters=registers(make_adapter("twin-a")))
    second = EntryPoint("twin", "fake_hub_plugin_twin_b", ENTRY_POINT_GROUP)
    host = PluginHost(entry_points=[first, second])
    host.load()
    statuses = [(info.name, info.status) for info in host.inventory()]
    assert statuses == [("twin", "loaded"), ("twin", "refused")]
    assert "entry point name 'twin' is already used" in host.refused[0].reason


# -- rule packs, sensitive fields and the inventory -------------------------------------------


def test_rule_packs_and_sensitive_fields_are_collected(fake_plugin: FakePlugin) -> None:
    @hookimpl
    def hub_register_rules(registry: RulePackRegistry) -> None:
        registry.register(RulePack("cme-every-removal", "Tell the CME team of every removal"))

    @hookimpl
    def hub_sensitive_fields() -> list[str]:
        return ["Case_Notes"]

    ep = fake_plugin(
        "la-pack", hub_register_rules=hub_register_rules, hub_sensitive_fields=hub_sensitive_fields
    )
    host = PluginHost(entry_points=[ep])
    host.load()
    assert set(host.rule_packs) == {"cme-every-removal"}
    assert host.sensitive_fields() == {"case_notes"}
    (info,) = host.inventory()
    assert info.rule_packs == ("cme-every-removal",)
    assert info.hooks == ("hub_register_rules", "hub_sensitive_fields")


def test_inventory_is_json_serialisable(fake_plugin: FakePlugin) -> None:
    host = PluginHost(entry_points=[*installed(), fake_plugin("empty", VERSION="1")])
    host.load(block=["cpoms"])
    document = json.loads(json.dumps([info.as_dict() for info in host.inventory()]))
    assert [entry["name"] for entry in document] == sorted(entry["name"] for entry in document)
    keys = {
        "name",
        "distribution",
        "version",
        "module",
        "status",
        "reason",
        "adapters",
        "capabilities",
        "notifiers",
        "rule_packs",
        "hooks",
    }
    assert all(set(entry) == keys for entry in document)
    by_name = {entry["name"]: entry for entry in document}
    assert by_name["sims"]["status"] == "loaded"
    assert by_name["sims"]["adapters"] == ["sims"]
    assert by_name["cpoms"]["status"] == "blocked"
    assert by_name["empty"]["status"] == "refused"
    assert by_name["empty"]["distribution"] is None


def test_same_module_under_two_entry_point_names_is_refused(fake_plugin: FakePlugin) -> None:
    first = fake_plugin("alias-a", hub_register_adapters=registers(make_adapter("alias")))
    second = EntryPoint("alias-b", first.value, ENTRY_POINT_GROUP)
    host = PluginHost(entry_points=[first, second])
    host.load()
    assert set(host.adapters) == {"alias"}
    assert "loaded by another entry point name" in reason_of(host, "alias-b")
