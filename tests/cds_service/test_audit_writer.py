"""The audit writer's group commit and acknowledgement point (``cds_service.audit.queue``), against a real store.

A call returns from ``record`` only once its row is committed; past ``commit_wait``, or when the transaction fails,
the row is held (counted, retried) and the call returns without it. Rows that arrive during one transaction share
the next, at most ``batch`` to a transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY

from cds_service.audit import queue
from cds_service.audit.queue import DecisionWriter, close_all
from storage import AuditStore, Database, DecisionEntry, StorageError
from tests.conftest import sqlite_url

ENTRY = DecisionEntry(
    recorded_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
    service_id="sid-igrt-order-sign",
    hook="order-sign",
    hook_instance="hi-0",
    client_issuer=None,
    patient_hmac="p" * 64,
    outcome="card",
    rule_id="start-pop2-window",
    recommendation="start",
    population=2,
    guideline_version="SID 1.1",
    card_uuid="card-0",
    as_of=date(2026, 11, 20),
)


def entry(i: int) -> DecisionEntry:
    return replace(ENTRY, hook_instance=f"hi-{i}", card_uuid=f"card-{i}")


class GatedStore(AuditStore):
    """A real SQLite store whose transactions wait at a gate (closed: a slow commit) or fail (``down``)."""

    def __init__(self) -> None:
        database = Database(sqlite_url())
        database.upgrade()
        super().__init__(database)
        self.gate = threading.Event()
        self.gate.set()
        self.down = False
        self.batches: list[list[str]] = []
        self.entered = threading.Semaphore(0)

    def record_decisions(self, entries: Sequence[DecisionEntry]) -> None:
        self.entered.release()
        if not self.gate.wait(10):
            raise AssertionError("gate never opened")
        if self.down:
            raise StorageError("database error: OperationalError")
        super().record_decisions(entries)
        self.batches.append([e.hook_instance for e in entries])

    def stored(self) -> list[str]:
        return sorted(d.hook_instance for d in self.decisions(limit=1000))


@pytest.fixture
def store() -> Iterator[GatedStore]:
    store = GatedStore()
    yield store
    store.gate.set()
    store.database.dispose()


@pytest.fixture
def make_writer(store: GatedStore) -> Iterator[Any]:
    """Writers on ``store`` with the given options, closed after the test."""
    made: list[DecisionWriter] = []

    def make(**options: Any) -> DecisionWriter:
        made.append(DecisionWriter(store, **options))
        return made[-1]

    yield make
    store.gate.set()
    for writer in made:
        writer.close(timeout=5)


@pytest.fixture
def writer(make_writer: Any) -> DecisionWriter:
    return make_writer(commit_wait=2.0, initial_backoff=0.05)


def in_thread(writer: DecisionWriter, e: DecisionEntry) -> tuple[threading.Thread, threading.Event]:
    returned = threading.Event()

    def call() -> None:
        writer.record(e)
        returned.set()

    thread = threading.Thread(target=call)
    thread.start()
    return thread, returned


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_a_call_returns_only_once_its_row_is_committed(store: GatedStore, writer: DecisionWriter) -> None:
    store.gate.clear()  # the transaction is under way but not committed
    thread, returned = in_thread(writer, entry(1))
    assert store.entered.acquire(timeout=5)
    assert not returned.wait(0.3)  # still waiting for the commit
    assert store.stored() == []
    store.gate.set()
    assert returned.wait(5)
    assert store.stored() == ["hi-1"]  # committed before the call returned
    assert writer.pending() == 0
    thread.join()


def test_rows_arriving_during_a_transaction_share_the_next_one(store: GatedStore, writer: DecisionWriter) -> None:
    store.gate.clear()
    first, _ = in_thread(writer, entry(0))
    assert store.entered.acquire(timeout=5)
    others = [in_thread(writer, entry(i))[0] for i in range(1, 4)]
    time.sleep(0.2)  # all three queued behind the transaction under way
    assert writer.pending() == 4
    store.gate.set()
    for thread in (first, *others):
        thread.join(5)
    assert store.batches == [["hi-0"], ["hi-1", "hi-2", "hi-3"]]  # two transactions for four calls, in order
    assert writer.pending() == 0


def test_a_transaction_takes_at_most_batch_rows(store: GatedStore, make_writer: Any) -> None:
    writer = make_writer(batch=2, commit_wait=2.0)
    store.gate.clear()
    threads = [in_thread(writer, entry(0))[0]]
    assert store.entered.acquire(timeout=5)
    threads += [in_thread(writer, entry(i))[0] for i in range(1, 4)]
    time.sleep(0.2)
    store.gate.set()
    for thread in threads:
        thread.join(5)
    assert [len(b) for b in store.batches] == [1, 2, 1]
    assert store.stored() == ["hi-0", "hi-1", "hi-2", "hi-3"]


def test_a_commit_slower_than_commit_wait_holds_the_rows_and_the_next_calls_do_not_wait(
    store: GatedStore, make_writer: Any
) -> None:
    writer = make_writer(commit_wait=0.2)
    queued = metric("cds_audit_queued_total")
    store.gate.clear()  # a database that hangs rather than refuses
    started = time.monotonic()
    writer.record(entry(0))
    assert 0.2 <= time.monotonic() - started < 1.5  # answered after commit_wait, not after the commit
    started = time.monotonic()
    writer.record(entry(1))  # rows are held: no wait
    assert time.monotonic() - started < 0.1
    assert writer.pending() == 2
    assert metric("cds_audit_queued_total") == queued + 2
    assert metric("cds_audit_queue_length") == 2
    store.gate.set()
    deadline = time.monotonic() + 5
    while writer.pending() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.stored() == ["hi-0", "hi-1"]
    assert metric("cds_audit_queue_length") == 0
    store.gate.clear()  # the backlog is written: calls wait for their commit again
    thread, returned = in_thread(writer, entry(2))
    assert not returned.wait(0.1)
    store.gate.set()
    assert returned.wait(5) and "hi-2" in store.stored()
    thread.join()


def test_a_failed_transaction_answers_its_calls_and_retries_until_written(
    store: GatedStore, writer: DecisionWriter
) -> None:
    failures = metric("cds_audit_write_failures_total")
    store.down = True
    writer.record(entry(0))  # returns: the row is held
    writer.record(entry(1))
    assert writer.pending() == 2 and store.stored() == []
    assert metric("cds_audit_write_failures_total") == failures + 1  # the outage counted once, not per retry
    store.down = False
    deadline = time.monotonic() + 5
    while writer.pending() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.stored() == ["hi-0", "hi-1"]


def test_fire_and_forget_returns_before_the_commit(store: GatedStore, make_writer: Any) -> None:
    writer = make_writer(acknowledge="queued")
    store.gate.clear()
    started = time.monotonic()
    writer.record(entry(0))
    assert time.monotonic() - started < 0.1
    assert store.stored() == [] and writer.pending() == 1  # answered, not committed: a crash now loses it
    store.gate.set()
    assert writer.flush(5) == 0


def test_close_all_writes_what_every_writer_holds(store: GatedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "_WRITERS", type(queue._WRITERS)())
    first = DecisionWriter(store, initial_backoff=60)  # the threads sleep: only the close writes
    second = DecisionWriter(store, initial_backoff=60)
    store.down = True
    first.record(entry(0))
    second.record(entry(1))
    second.record(entry(2))
    store.down = False
    close_all(timeout=5)
    assert (first.pending(), second.pending()) == (0, 0)
    assert store.stored() == ["hi-0", "hi-1", "hi-2"]
    second.record(entry(3))  # a call after the close is written on the caller's thread
    assert store.stored()[-1] == "hi-3" and second.pending() == 0


def test_an_idle_writer_thread_ends_and_the_next_row_starts_another(
    store: GatedStore, make_writer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "_IDLE_SECONDS", 0.05)
    writer = make_writer()
    writer.record(entry(0))
    first = writer._thread
    assert first is not None
    first.join(2)
    assert not first.is_alive() and writer._thread is None
    writer.record(entry(1))
    assert store.stored() == ["hi-0", "hi-1"]
