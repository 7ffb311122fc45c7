"""Prometheus metrics. One registry per running hub so tests and workers don't collide.

Counters move as things happen (requests, marks); the gauges that describe stored state
(open discrepancies, overdue notifications) are refreshed from the store on each scrape, so
they are right whichever process produced the rows.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from hub_contracts import DiscrepancyKind, NotificationKind

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass
class HubMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.info = Gauge("hub_build_info", "Hub version", ["version"], registry=r)
        self.ready = Gauge("hub_ready", "1 when the database is reachable and migrated", registry=r)
        self.http_requests = Counter(
            "hub_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "hub_http_request_duration_seconds",
            "HTTP request handling time by route template",
            ["route"],
            registry=r,
        )
        self.marks_ingested = Counter(
            "hub_marks_ingested",
            "Marks accepted into the register, by channel (api, webhook)",
            ["channel"],
            registry=r,
        )
        self.marks_rejected = Counter(
            "hub_marks_rejected",
            "Marks rejected (and quarantined), by channel and reason code",
            ["channel", "reason"],
            registry=r,
        )
        self.discrepancies_open = Gauge(
            "hub_discrepancies_open",
            "Open discrepancies by kind (refreshed from the store on scrape)",
            ["kind"],
            registry=r,
        )
        self.notifications_overdue = Gauge(
            "hub_notifications_overdue",
            "Undelivered notifications past their due time, by kind (statutory deadlines missed)",
            ["kind"],
            registry=r,
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "OTHER"
        self.http_requests.labels(route=route, method=method, status=str(status)).inc()
        self.http_duration.labels(route=route).observe(seconds)

    def count_marks(self, channel: str, accepted: int, rejected_reasons: Iterable[str]) -> None:
        self.marks_ingested.labels(channel=channel).inc(accepted)
        for reason, n in Tally(rejected_reasons).items():
            self.marks_rejected.labels(channel=channel, reason=reason).inc(n)

    def set_store_gauges(
        self, open_by_kind: Tally[DiscrepancyKind], overdue_by_kind: Tally[NotificationKind]
    ) -> None:
        """Every kind gets a value, 0 included, so a resolved backlog drops to 0 on the graph."""
        for kind in DiscrepancyKind:
            self.discrepancies_open.labels(kind=kind.value).set(open_by_kind.get(kind, 0))
        for nkind in NotificationKind:
            self.notifications_overdue.labels(kind=nkind.value).set(overdue_by_kind.get(nkind, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
