"""Prometheus metrics. Labels use route templates, never raw paths (bounded cardinality)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "clinicflow_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "clinicflow_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
JOBS_RUN = Counter(
    "clinicflow_jobs_total",
    "Background job attempts by task and outcome (succeeded, failed).",
    ["task", "outcome"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "clinicflow_job_duration_seconds",
    "Background job attempt duration by task.",
    ["task"],
    registry=REGISTRY,
)
WORKER_RESTARTS = Counter(
    "clinicflow_worker_restarts_total",
    "Times this process's job worker stopped (usually: the database went away) and was restarted.",
    registry=REGISTRY,
)
DB_POOL = Gauge(
    "clinicflow_db_pool_connections",
    "Database pool connections by pool (write, read, read_orm) and state (size, checked_out, overflow).",
    ["pool", "state"],
    registry=REGISTRY,
)


def track_pool(status: Callable[[], dict[str, dict[str, int]]]) -> None:
    """Report the pools' state on every scrape."""

    def reader(pool: str, state: str) -> Callable[[], float]:
        return lambda: float(status()[pool][state])

    for pool in ("write", "read", "read_orm"):
        for state in ("size", "checked_out", "overflow"):
            DB_POOL.labels(pool=pool, state=state).set_function(reader(pool, state))
