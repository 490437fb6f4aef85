"""HTTP request metrics for Prometheus, labelled by route template so ids do not explode them."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.review import QueueStats

REQUESTS = Counter("clipguard_http_requests", "HTTP requests served", ["method", "route", "status"])
LATENCY = Histogram("clipguard_http_request_seconds", "Time to serve an HTTP request", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class HttpMetrics:
    """ASGI middleware: one count and one latency observation per request."""

    def __init__(self, app: ASGIApp):
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, remember_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)


def exposition(stats: QueueStats) -> bytes:
    """The process's metrics plus the review queue's state, read from the registry at scrape time
    (a per-scrape registry, since the queue lives in the database, not in this process)."""
    queue = CollectorRegistry()
    depth = Gauge("clipguard_review_queue_depth", "Review items waiting or claimed", ["kind"], registry=queue)
    for kind, n in stats.depth.items():
        depth.labels(kind).set(n)
    Gauge("clipguard_review_queue_overdue", "Review items past their deadline", registry=queue).set(stats.overdue)
    oldest = Gauge("clipguard_review_queue_oldest_created_seconds", "Creation time of the oldest waiting item",
                   registry=queue)
    if stats.oldest_open is not None:
        oldest.set(stats.oldest_open.timestamp())
    return generate_latest() + generate_latest(queue)
