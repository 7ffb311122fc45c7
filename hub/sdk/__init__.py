"""The public plugin API of attendance-hub (SemVer: `PLUGIN_API_VERSION`).

Plugins import only `hub.sdk`, `hub.testing` and `hub_contracts`. Everything a plugin author
needs is re-exported here; the submodules are public too, but this is the stable spelling:

- hooks: `hookimpl` and the specs in `hub.sdk.hookspecs`;
- adapters: `Adapter`, `AdapterManifest`, `AdapterConfig`, `Capability`, `Page`, `WriteResult`,
  `RecordOutcome`, `Notifier`;
- registries: `AdapterRegistry`, `NotifierRegistry`, `RulePackRegistry`, `RulePack`;
- errors: `AdapterError`, `TransientError`, `RateLimited`, `AuthError`, `ConfigError`,
  `PermanentError`, `ContractViolation`;
- I/O: `HttpClient`, `HttpResponse`; webhook signatures; secret references.
"""

from __future__ import annotations

from .adapter import (
    CAPABILITY_METHODS,
    Adapter,
    Notifier,
    Page,
    RecordOutcome,
    WebhookRecord,
    WriteResult,
    implemented_capabilities,
)
from .errors import (
    RETRIED_ERRORS,
    AdapterError,
    AuthError,
    ConfigError,
    ContractViolation,
    PermanentError,
    RateLimited,
    TransientError,
)
from .hookspecs import PROJECT_NAME, hookimpl
from .http import HttpClient, HttpResponse, parse_retry_after
from .manifest import (
    PLUGIN_API_VERSION,
    AdapterConfig,
    AdapterManifest,
    Capability,
    api_version_compatible,
    config_json_schema,
    host_allowed,
    resolve_secret_options,
    resolve_secret_reference,
    secret_fields,
)
from .registry import (
    AdapterRegistry,
    NotifierRegistry,
    RegistrationError,
    RulePack,
    RulePackRegistry,
    check_adapter_class,
)
from .webhooks import sign_hmac_sha256, verify_hmac_sha256

#: The entry-point group the host loads plugins from.
ENTRY_POINT_GROUP = "attendance_hub.plugins"

__all__ = [
    "CAPABILITY_METHODS",
    "ENTRY_POINT_GROUP",
    "PLUGIN_API_VERSION",
    "PROJECT_NAME",
    "RETRIED_ERRORS",
    "Adapter",
    "AdapterConfig",
    "AdapterError",
    "AdapterManifest",
    "AdapterRegistry",
    "AuthError",
    "Capability",
    "ConfigError",
    "ContractViolation",
    "HttpClient",
    "HttpResponse",
    "Notifier",
    "NotifierRegistry",
    "Page",
    "PermanentError",
    "RateLimited",
    "RecordOutcome",
    "RegistrationError",
    "RulePack",
    "RulePackRegistry",
    "TransientError",
    "WebhookRecord",
    "WriteResult",
    "api_version_compatible",
    "check_adapter_class",
    "config_json_schema",
    "hookimpl",
    "host_allowed",
    "implemented_capabilities",
    "parse_retry_after",
    "resolve_secret_options",
    "resolve_secret_reference",
    "secret_fields",
    "sign_hmac_sha256",
    "verify_hmac_sha256",
]
