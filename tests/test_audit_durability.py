"""What a clean shutdown and a hard crash of a worker can lose of the decision audit (docs/reliability.md).

The real service (gunicorn, 2 workers) on SQLite. The test plays a slow or locked database by holding SQLite's write
lock from another connection, as a long transaction of another process would: the service's commits wait.

* clean shutdown (SIGTERM) while rows are held: every held row is written before the workers exit;
* kill -9 of the workers under load while commits are slow: no call that was answered loses its row;
* kill -9 while rows are held (commits slower than ``commit_wait``): exactly the held rows are lost, as many as
  ``cds_audit_queue_length`` showed, and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from storage import AuditStore, Database
from tests import live_server
from tests.cases import CASES, case_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CASE = next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")
GOLDEN = json.loads((case_dir(CASE) / "request.json").read_text(encoding="utf-8"))


class WriteLock:
    """SQLite's write lock, taken and given back from this process (``BEGIN IMMEDIATE`` ... ``ROLLBACK``)."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def hold(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self._connection.execute("ROLLBACK")


def call(base: str, hook_instance: str) -> requests.Response:
    return requests.post(
        f"{base}/cds-services/{CASE.service}", json={**GOLDEN, "hookInstance": hook_instance}, timeout=10
    )


def stored(url: str) -> set[str]:
    store = AuditStore(Database(url))
    try:
        return {d.hook_instance for d in store.decisions(limit=100_000)}
    finally:
        store.database.dispose()


def held_rows(base: str) -> float:
    text = requests.get(f"{base}/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("cds_audit_queue_length "))


@pytest.fixture
def database(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "audit.sqlite3"
    return f"sqlite:///{path}", path


def test_a_clean_shutdown_writes_every_held_decision(tmp_path: Path, database: tuple[str, Path]) -> None:
    url, path = database
    service = live_server.start({"DATABASE_URL": url}, tmp_path / "service.log")
    try:
        live_server.wait_ready(service)
        assert call(service.base, "before").status_code == 200
        lock = WriteLock(path)
        lock.hold()
        held = [f"held-{i}" for i in range(6)]
        for hook_instance in held:
            response = call(service.base, hook_instance)
            assert response.status_code == 200 and response.json()["cards"]
        assert stored(url) == {"before"}  # answered, not yet written
        assert held_rows(service.base) == len(held)
        threading.Timer(1.5, lock.release).start()  # the database answers again while the workers stop
        live_server.stop(service)  # SIGTERM: gunicorn stops its workers gracefully
    finally:
        live_server.stop(service)
    assert stored(url) == {"before", *held}
    assert "unwritten" not in service.log_text()


def test_killed_workers_lose_no_answered_decision(tmp_path: Path, database: tuple[str, Path]) -> None:
    url, path = database
    answered: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            hook_instance = f"load-{uuid.uuid4()}"
            try:
                response = call(service.base, hook_instance)
            except requests.RequestException:
                refused.append(hook_instance)  # in flight when its worker died (or no worker yet)
                continue
            (answered if response.status_code == 200 else refused).append(hook_instance)

    with live_server.running_service({"DATABASE_URL": url}, tmp_path / "service.log") as service:
        lock = WriteLock(path)
        clients = [threading.Thread(target=client) for _ in range(4)]
        for thread in clients:
            thread.start()
        try:
            for _ in range(10):  # commits wait 0.1 s of every 0.15 s: most calls wait for theirs
                lock.hold()
                time.sleep(0.1)
                lock.release()
                time.sleep(0.05)
            lock.hold()
            time.sleep(0.1)  # calls are waiting for their commits now
            before_kill = len(answered)
            for pid in service.worker_pids():
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
            lock.release()
            live_server.wait_ready(service)  # gunicorn starts new workers
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in clients:
                thread.join(15)
    assert before_kill >= 10 and len(answered) > before_kill
    rows = stored(url)
    assert [h for h in answered if h not in rows] == []  # every answered call's decision was committed
    assert refused  # some calls were cut by the kill: their rows may or may not exist, but none was answered


def test_killed_workers_lose_exactly_the_rows_they_held(tmp_path: Path, database: tuple[str, Path]) -> None:
    url, path = database
    with live_server.running_service({"DATABASE_URL": url}, tmp_path / "service.log") as service:
        assert call(service.base, "before").status_code == 200
        lock = WriteLock(path)
        lock.hold()  # commits take longer than commit_wait: rows are held, calls answered
        held = [f"held-{i}" for i in range(4)]
        responses: list[Any] = [call(service.base, h) for h in held]
        assert [r.status_code for r in responses] == [200] * len(held)
        assert held_rows(service.base) == len(held)  # what the documentation says a crash now loses
        for pid in service.worker_pids():
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        lock.release()
        live_server.wait_ready(service)
        assert call(service.base, "after").status_code == 200
    assert stored(url) == {"before", "after"}  # the held rows are lost, nothing else
