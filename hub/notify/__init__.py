"""Built-in notifiers: delivery channels that are not vendor adapters.

They are registered through the ``core`` entry point of the ``attendance_hub.plugins`` group
(`hub.notify.plugin`), so the hub discovers them exactly like a vendor's plugin. A connection
whose ``plugin`` names a notifier (``plugin = "webhook"``) is a notifier connection: the
dispatcher delivers notifications to it with `Notifier.send`.

- ``webhook`` (`hub.notify.webhook`): POST the notification as signed JSON to a URL.
- ``email``: SMTP e-mail arrives in a later issue, as `hub.notify.email`, registered in
  `hub.notify.plugin` beside the webhook.
"""
