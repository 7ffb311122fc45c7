"""Prometheus metrics. One registry per running hub so tests and workers don't collide."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


@dataclass
class HubMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.info = Gauge("hub_build_info", "Hub version", ["version"], registry=self.registry)
        self.http_requests = Counter(
            "hub_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.ready = Gauge(
            "hub_ready", "1 when the database is reachable and migrated", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
