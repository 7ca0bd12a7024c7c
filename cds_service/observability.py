"""Operational signals: Prometheus metrics and structured JSON logs carrying a request id and the hookInstance.

Metrics (``prometheus-client``; names follow the Prometheus conventions, seconds as the unit):

* ``cds_http_request_duration_seconds{hook, status}``: every HTTP request; ``hook`` is the CDS hook
  (``order-select``, ``order-sign``, ``patient-view``) or ``discovery``, ``feedback``, ``health``, ``metrics``,
  ``other``.
* ``cds_decisions_total{hook, recommendation, rule}``: guideline decisions made (shown or quiet).
* ``cds_fhir_fetch_duration_seconds``: the fallback fetch of one call (all keys, all pages).
* ``cds_fhir_fetch_failures_total{reason}``: prefetch keys the fallback could not fetch, by failure kind.
* ``cds_latency_budget_overruns_total{hook}``: calls answered without cards because the budget ran out.
* ``cds_audit_write_failures_total``: failed writes of a decision or feedback (decisions are then queued).
* ``cds_audit_queued_total`` and ``cds_audit_queue_length``: decision rows queued while the database was
  unavailable, and how many wait now (summed over live workers); see ``cds_service.audit.queue``.
* ``cds_replay_guard_degraded_total``: client JWTs checked for replay by this process only, the database being
  unavailable (``cds_service.auth.client_jwt.FallbackReplayGuard``).

With several gunicorn workers the metrics live in ``PROMETHEUS_MULTIPROC_DIR`` (set by the gunicorn
configuration, ``cds_service.http.gunicorn_conf``) and ``/metrics`` sums them over all workers of the instance.

Logs: one JSON object per line on stderr, with ``time``, ``level``, ``logger``, ``message`` and, inside a request,
``request_id`` (the caller's ``X-Request-ID`` if well-formed, else a new one; echoed in the response) and
``hookInstance``. Patient identifiers and tokens are never logged: only service ids, hookInstances, outcomes,
rule ids and timings are.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from pythonjsonlogger.orjson import OrjsonFormatter

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # multiprocess mode writes the metrics below into this directory
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.4, 0.5, 1.0, 2.5, 10.0)

REQUEST_SECONDS = Histogram(
    "cds_http_request_duration_seconds",
    "HTTP request latency by CDS hook (or endpoint kind) and response status.",
    ["hook", "status"],
    buckets=_LATENCY_BUCKETS,
)
DECISIONS = Counter(
    "cds_decisions_total",
    "Guideline decisions made, by hook, recommendation and rule.",
    ["hook", "recommendation", "rule"],
)
SILENT_DECISIONS = Counter(
    "cds_silent_decisions_total",
    "Cards a service in silent mode would have shown (evaluated and audited, answered with no cards), by hook, "
    "recommendation and rule.",
    ["hook", "recommendation", "rule"],
)
FHIR_FETCH_SECONDS = Histogram(
    "cds_fhir_fetch_duration_seconds",
    "Time of the fallback fetch from fhirServer for one hook call.",
    buckets=_LATENCY_BUCKETS,
)
FHIR_FETCH_FAILURES = Counter(
    "cds_fhir_fetch_failures_total", "Prefetch keys the fallback fetch could not read, by kind.", ["reason"]
)
BUDGET_OVERRUNS = Counter(
    "cds_latency_budget_overruns_total", "Hook calls answered without cards past the latency budget.", ["hook"]
)
FEEDBACK_OUTCOMES = Counter(
    "cds_feedback_outcomes_total",
    "Feedback items stored (each once), by hook, the rule of the card and outcome (accepted or overridden).",
    ["hook", "rule", "outcome"],
)
FEEDBACK_REFUSED = Counter(
    "cds_feedback_refused_total",
    "Feedback bodies refused (404) because an item named a card not issued to that client at that endpoint.",
)
LARGE_REQUESTS_REFUSED = Counter(
    "cds_large_requests_refused_total",
    "Large hook calls answered 503 because no large-request slot freed within the latency budget.",
    ["hook"],
)
AUDIT_WRITE_FAILURES = Counter(
    "cds_audit_write_failures_total", "Failed writes of a decision (then queued) or feedback (answered 503)."
)
REPLAY_GUARD_DEGRADED = Counter(
    "cds_replay_guard_degraded_total", "Client JWTs checked for replay in this process only (database unavailable)."
)
AUDIT_QUEUED = Counter("cds_audit_queued_total", "Decision rows queued because the database was unavailable.")
AUDIT_QUEUE_LENGTH = Gauge(
    "cds_audit_queue_length", "Decision rows waiting to be written.", multiprocess_mode="livesum"
)

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
HOOK_INSTANCE: ContextVar[str | None] = ContextVar("hook_instance", default=None)

_REQUEST_ID_FORMAT = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_from(header: str | None) -> str:
    """Return the caller's ``X-Request-ID`` if it is 1-64 characters of ``[A-Za-z0-9._:-]``, else a new uuid4 hex."""
    if header and _REQUEST_ID_FORMAT.match(header):
        return header
    return uuid.uuid4().hex


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``hookInstance`` to every record written inside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the request's ids (when there is a request); never drops a record."""
        request_id = REQUEST_ID.get()
        if request_id is not None:
            record.request_id = request_id
        hook_instance = HOOK_INSTANCE.get()
        if hook_instance is not None:
            record.hookInstance = hook_instance
        return True


LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _utc_iso(created: float) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2026-11-28T20:50:12.345Z``."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _UtcJsonFormatter(OrjsonFormatter):
    # orjson (python-json-logger's own orjson formatter): the access line is written on every call, and encoding it
    # is about 40 % cheaper than with the json module (12 -> 7 us); the lines are compact JSON, UTF-8 as before.
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging API)
        return _utc_iso(record.created)


class _UtcTextFormatter(logging.Formatter):
    """One line for a person: time, level, logger, message, then the request's ids and any extra fields."""

    _STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging API)
        return _utc_iso(record.created)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = {k: v for k, v in record.__dict__.items() if k not in self._STANDARD and not k.startswith("_")}
        return line + "".join(f" {key}={value}" for key, value in extra.items())


def json_formatter() -> OrjsonFormatter:
    """Return the JSON log formatter: ``time`` (ISO 8601 UTC), ``level``, ``logger``, ``message`` and extra fields."""
    return _UtcJsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def log_format() -> str:
    """``CDS_LOG_FORMAT``: ``json`` or ``text``; unset: ``text`` at a terminal, else ``json``.

    Raises:
        ValueError: another value (settings validation reports it as a start-up error naming the variable).
    """
    value = os.environ.get("CDS_LOG_FORMAT", "").strip().lower()
    if not value:
        return "text" if sys.stderr.isatty() else "json"
    if value not in LOG_FORMATS:
        raise ValueError(f"CDS_LOG_FORMAT: 'json' or 'text', not {value!r}")
    return value


def log_level() -> int:
    """``CDS_LOG_LEVEL``: DEBUG, INFO (default), WARNING or ERROR.

    Raises:
        ValueError: another value.
    """
    value = os.environ.get("CDS_LOG_LEVEL", "INFO").strip().upper()
    if value not in LOG_LEVELS:
        raise ValueError(f"CDS_LOG_LEVEL: one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return int(getattr(logging, value))


def log_formatter() -> logging.Formatter:
    """Return the formatter ``CDS_LOG_FORMAT`` asks for (also used for gunicorn's own log; JSON if invalid)."""
    try:
        text = log_format() == "text"
    except ValueError:
        text = False
    if text:
        return _UtcTextFormatter("{asctime} {levelname:<7} {name}: {message}", style="{")
    return json_formatter()


def configure_logging() -> None:
    """Send the ``cds_service`` logger's lines to stderr in ``CDS_LOG_FORMAT`` at ``CDS_LOG_LEVEL`` (once per process).

    An invalid value falls back to JSON at INFO here; the settings validation then stops the start with one line
    naming the variable (``cds_service.settings``).
    """
    service_logger = logging.getLogger("cds_service")
    if any(getattr(h, "_cds_json", False) for h in service_logger.handlers):
        return
    try:
        formatter, level = log_formatter(), log_level()
    except ValueError:
        formatter, level = json_formatter(), logging.INFO
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.addFilter(RequestContextFilter())
    handler._cds_json = True  # type: ignore[attr-defined]
    service_logger.addHandler(handler)
    service_logger.setLevel(level)


def metrics_exposition() -> tuple[bytes, str]:
    """Return the Prometheus text exposition and its content type (all workers' metrics in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
