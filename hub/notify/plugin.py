"""The hub's own plugin module (entry point ``core`` of ``attendance_hub.plugins``).

It registers the built-in notifiers through the same hook a vendor plugin would use, so they
are listed by `hub plugins list` and can be blocked like any plugin (``plugins.block =
["core"]``).
"""

from __future__ import annotations

from hub.notify.email import EmailNotifier
from hub.notify.webhook import WebhookNotifier
from hub.sdk import NotifierRegistry, hookimpl


@hookimpl
def hub_register_notifiers(registry: NotifierRegistry) -> None:
    registry.register("webhook", WebhookNotifier)
    registry.register("email", EmailNotifier)
