"""Sync engine, outbox dispatcher, retries, dead letters and the scheduler that runs them.

- `hub.engine.sync`: read pages from adapters; each page, its rule outcomes and its cursor
  commit in one transaction (`SyncEngine`, `connection_states`).
- `hub.engine.dispatcher`: deliver outbox rows under a lease (`Dispatcher`).
- `hub.engine.routing`: which connections get a notification (`route_notification`,
  `enqueue_notification`).
- `hub.engine.sharing`: the lawful basis of every outbound share, for the audit ledger.
- `hub.engine.scheduler`: `hub run` — API, dispatcher and sync loops in one task group.
- `hub.engine.metrics`: engine metrics on a Prometheus registry (`register_engine_metrics`).
"""

from __future__ import annotations

import os
import socket

from hub.settings import HubSettings


def worker_id(settings: HubSettings) -> str:
    """This process's name in leases: `worker_id` from the settings, else `<host>-<pid>`."""
    if settings.worker_id:
        return settings.worker_id
    return f"{socket.gethostname()}-{os.getpid()}"
