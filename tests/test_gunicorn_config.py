"""The serving configuration (``cds_service/http/gunicorn_conf.py``): connection cap and garbage collection.

The connection cap is checked on the real server: eight busy kept-alive clients must keep both workers busy.
Without the cap (gunicorn's default of 1,000 connections per worker) the first worker to wake took every
connection and the second sat idle (measured: 0 % CPU on one worker, half the throughput).
"""

from __future__ import annotations

import gc
import importlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import psutil
import pytest
import requests

from bench.payloads import payload
from tests import live_server

CLIENTS = 8
SECONDS = 4.0


@pytest.fixture
def gunicorn_conf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    # Imported with PROMETHEUS_MULTIPROC_DIR set: otherwise the module sets it for the whole test process, and the
    # in-process /metrics of later tests would read an empty multiprocess directory.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return importlib.import_module("cds_service.http.gunicorn_conf")


def test_a_worker_holds_its_threads_plus_two_connections(gunicorn_conf: ModuleType) -> None:
    assert gunicorn_conf.worker_connections == gunicorn_conf.threads + 2


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_after_start_up_the_worker_freezes_its_objects_and_collects_less_often(gunicorn_conf: ModuleType) -> None:
    gunicorn_conf.post_worker_init(object())
    assert gc.get_freeze_count() > 10_000  # the test process's modules, code tables, schemas
    assert gc.get_threshold() == gunicorn_conf.GC_THRESHOLDS
    assert gc.get_count()[0] < 1_000  # collected just before freezing


@pytest.mark.e2e
def test_busy_kept_alive_clients_keep_both_workers_busy(tmp_path: Path) -> None:
    body = payload("typical", 60).request
    with live_server.running_service({"CDS_LATENCY_BUDGET_MS": "60000"}, tmp_path / "service.log") as service:
        workers = [psutil.Process(pid) for pid in service.worker_pids()]
        assert len(workers) == 2
        url = f"{service.base}/cds-services/sid-igrt-order-sign"
        requests.post(url, json=body, timeout=30).raise_for_status()  # both workers are up and warm enough
        before = [w.cpu_times() for w in workers]
        failures: list[str] = []
        stop_at = time.monotonic() + SECONDS

        def client() -> None:
            with requests.Session() as session:  # one kept-alive connection per client, as wrk and proxies do
                while time.monotonic() < stop_at:
                    answer = session.post(url, json=body, timeout=30)
                    if answer.status_code != 200:
                        failures.append(str(answer.status_code))

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = [w.cpu_times() for w in workers]
    assert not failures
    spent = [(a.user + a.system) - (b.user + b.system) for a, b in zip(after, before, strict=True)]
    assert min(spent) >= 0.25 * sum(spent), f"CPU seconds per worker: {spent}: one worker took the connections"
