"""The gunicorn configuration (``cds-service serve`` passes ``-c python:cds_service.http.gunicorn_conf``).

Each choice, and why:

* ``workers`` (``WEB_CONCURRENCY``, default: the number of CPUs, at least 2). Evaluating a hook call is CPU-bound
  Python, so one process per core gives real parallelism; two at least, so one slow call never blocks the instance.
  Scale further with more instances (the service keeps no state outside the database), not more workers per core.
* ``worker_class = "gthread"`` with ``threads`` (``GUNICORN_THREADS``, default 4). Some calls wait on I/O: the
  fallback fetch from the EHR's FHIR server (up to ``CDS_FHIR_BUDGET_SECONDS``) and the audit write. Threads let a
  worker take other calls meanwhile; more than a few only add GIL contention to CPU-bound work.
* ``worker_connections`` (``GUNICORN_WORKER_CONNECTIONS``, default ``threads + 2``): the connections one worker
  holds at once, in flight or kept alive. A gthread worker otherwise accepts up to 1,000, so the first worker to
  wake takes every kept-alive connection of a busy client or proxy while the others idle; since evaluation is
  CPU-bound under the GIL, a worker cannot serve more than one call at a time faster anyway. Capped, the surplus
  waits in the kernel's accept queue for whichever worker frees first (measured with ``make bench``: twice the
  throughput on 2 cores at 8 connections). gunicorn answers ``Connection: close`` once a worker holds
  ``worker_connections - threads`` idle kept-alive connections, so an idle connection never blocks a new one.
* ``timeout = 30``: a worker silent for 30 s is killed and replaced. Calls answer within the latency budget
  (``CDS_LATENCY_BUDGET_MS``, 400 ms by default), so this catches only a hung worker, never a slow call.
* ``graceful_timeout = 30``: on SIGTERM (a rolling deployment), calls in flight finish and are recorded first.
* ``worker_exit``: a worker leaving (SIGTERM, ``max_requests``) writes the decision rows it still holds (held
  while the database was unavailable) within ``AUDIT_FLUSH_SECONDS`` before it exits, and logs how many it could
  not (``cds_service.audit.queue``). Rows of answered calls are otherwise already committed.
* ``keepalive = 5``: EHRs and proxies reuse connections between hook calls; 5 s covers a clinician's next click
  without holding idle sockets for long.
* ``max_requests = 10000`` with ``max_requests_jitter = 1000``: workers are recycled now and then, so a slow leak
  cannot grow without bound; the jitter keeps both workers from restarting at the same moment.
* ``worker_tmp_dir = "/dev/shm"`` when present: the heartbeat file lives in memory, not on a container's overlay
  disk, where a slow write can make a healthy worker look dead.
* Garbage collection (``post_worker_init``): after the app is loaded, ``gc.freeze()`` moves everything built at
  start-up (code tables, catalogs, schemas: some 110,000 objects) out of the collector's reach, and the
  first-generation threshold rises from 700 to 10,000 allocations. A full collection then walks only what calls
  create, instead of pausing a call for tens of milliseconds now and then (the benchmark's p99). Memory is still
  freed by reference counting as soon as a call ends; the collector only finds cycles.
* ``preload_app = False``: each worker creates its own database pool and threads after the fork (sharing a
  pool's sockets across a fork corrupts connections).
* ``control_socket_disable = True``: gunicorn's control socket has one default path per user, which two
  instances on one host (as in the two-instance test) would fight over; signals do the same job.
* Logs: JSON on stderr for gunicorn's own log, like the service's. gunicorn's access log is off: the service writes
  one JSON line per request with its request id, hookInstance, status and duration (``cds_service.http.app``).
* Metrics: ``PROMETHEUS_MULTIPROC_DIR`` (default: a new temporary directory per start) lets ``/metrics`` sum all
  workers; the files of a dead worker are marked in ``child_exit``.

``HOST`` / ``PORT`` (default ``127.0.0.1:8080``) give the bind address when gunicorn is started without ``--bind``.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

# Before anything imports prometheus_client: the directory selects its multiprocess mode at import.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cds-metrics-")

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", max(os.cpu_count() or 2, 2)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", threads + 2))
timeout = 30
graceful_timeout = 30
keepalive = 5
max_requests = 10000
max_requests_jitter = 1000
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
preload_app = False
control_socket_disable = True  # one fixed path per user would collide between instances on one host
accesslog = None
errorlog = "-"
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "cds_service.observability.log_formatter"}},  # CDS_LOG_FORMAT
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "WARNING", "handlers": []},  # the service's logger has its own JSON handler
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}


def on_starting(server: Any) -> None:
    """Empty the metrics directory, so counters start at zero with the instance (gunicorn master hook)."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if directory.is_dir():
        for child in directory.iterdir():
            if child.is_file():
                child.unlink()
            else:
                shutil.rmtree(child)
    directory.mkdir(parents=True, exist_ok=True)


GC_THRESHOLDS = (10_000, 10, 10)
"""``gc.set_threshold`` in workers: first generation after 10,000 net allocations (Python's default is 700)."""


def post_worker_init(worker: Any) -> None:
    """Freeze the objects built at start-up out of the garbage collector's reach (gunicorn worker hook)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


AUDIT_FLUSH_SECONDS = 5.0
"""How long an exiting worker tries to write the decision rows it holds (within ``graceful_timeout``)."""


def worker_exit(server: Any, worker: Any) -> None:
    """Write the decision rows this worker still holds, then let it exit (gunicorn hook, run in the worker)."""
    from cds_service.audit.queue import close_all

    close_all(AUDIT_FLUSH_SECONDS)


def child_exit(server: Any, worker: Any) -> None:
    """Mark a dead worker's live gauges as gone (prometheus-client multiprocess mode; gunicorn master hook)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
