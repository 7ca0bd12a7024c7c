"""The cost of recording hook-call decisions, in process: ``python scripts/audit_cost.py [--threads 4]``.

Records ``--calls`` realistic decision rows (a decision card and two advice cards beside it) through
``cds_service.audit.queue.DecisionWriter``, from ``--threads`` threads at once (gunicorn's request threads), and
prints per decision: the wall time a calling thread spends in ``record`` (its added latency) and the process CPU
time (every thread, the writer's included), the medians of ``--repeats`` runs. Each run uses a new SQLite file
(WAL, as the service) unless ``--database-url`` names another database (it must be migrated).

``--acknowledge queued`` measures the writer acknowledging a decision as soon as it is queued (not waiting for its
commit), for comparison only: the service waits for the commit (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cds_service.audit.queue import DecisionWriter  # noqa: E402
from storage import AuditStore, Database, DecisionEntry, IssuedCard  # noqa: E402


def entry(i: int) -> DecisionEntry:
    """A typical order-sign decision: a card with one suggestion, two advice cards beside it."""
    return DecisionEntry(
        recorded_at=datetime.now(UTC),
        service_id="sid-igrt-order-sign",
        hook="order-sign",
        hook_instance=f"bench-{i:08d}-d3f1c0de-5b0a-4a57-9f7e-1c2d3e4f5a6b",
        client_issuer=None,
        patient_hmac="9f" * 32,
        outcome="card",
        rule_id="start-pop2-window",
        recommendation="start",
        population=2,
        guideline_version="Medicinrådet IgRT 2024-06 v1.1; addendum 2025-03",
        card_uuid=f"card-{i:08d}",
        as_of=date(2026, 11, 20),
        fetched_keys=(),
        data_issue_count=0,
        issued_cards=(
            IssuedCard(f"card-{i:08d}", "decision", "start-pop2-window", (f"sugg-{i:08d}",)),
            IssuedCard(f"dose-{i:08d}", "dose", "dose-scig-standard", (f"dose-s-{i:08d}",)),
            IssuedCard(f"mon-{i:08d}", "monitoring", "monitoring-trough"),
        ),
        on_igrt=False,
        suggestion_uuids=(f"sugg-{i:08d}",),
    )


def run(url: str, *, calls: int, threads: int, acknowledge: str | None) -> tuple[float, float]:
    """Return (wall seconds a caller spends in ``record``, process CPU seconds), each per decision."""
    store = AuditStore(Database(url))
    options = {"acknowledge": acknowledge} if acknowledge else {}
    if options and "acknowledge" not in inspect.signature(DecisionWriter).parameters:
        raise SystemExit("this DecisionWriter has no acknowledge option")
    writer = DecisionWriter(store, **options)  # type: ignore[arg-type]
    writer.record(entry(-1))  # connect, warm the statement cache
    writer.flush(5)
    entries = [entry(i) for i in range(calls)]
    spent = [0.0] * threads
    start = threading.Barrier(threads + 1)

    def caller(k: int) -> None:
        start.wait()
        total = 0.0
        for e in entries[k::threads]:
            t0 = time.perf_counter()
            writer.record(e)
            total += time.perf_counter() - t0
        spent[k] = total

    workers = [threading.Thread(target=caller, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    cpu0 = time.process_time()
    start.wait()
    for w in workers:
        w.join()
    writer.flush(30)  # what is still queued is part of the cost
    cpu = time.process_time() - cpu0
    writer.close()
    stored = len(store.decisions(limit=calls + 10))
    if stored != calls + 1:
        raise SystemExit(f"{stored} rows stored, expected {calls + 1}")
    store.database.dispose()
    return sum(spent) / calls, cpu / calls


def main() -> None:
    """Parse the options, run, print the medians in microseconds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database-url")
    parser.add_argument("--acknowledge", choices=["commit", "queued"])
    args = parser.parse_args()
    walls, cpus = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as directory:
            url = args.database_url or f"sqlite:///{directory}/audit.sqlite3"
            if not args.database_url:
                Database(url).upgrade()
            wall, cpu = run(url, calls=args.calls, threads=args.threads, acknowledge=args.acknowledge)
        walls.append(wall)
        cpus.append(cpu)
    print(
        f"threads={args.threads} calls={args.calls} acknowledge={args.acknowledge or 'default'}: "
        f"caller wall {statistics.median(walls) * 1e6:.0f} us/decision, "
        f"process CPU {statistics.median(cpus) * 1e6:.0f} us/decision (median of {args.repeats}; "
        f"runs: {', '.join(f'{c * 1e6:.0f}' for c in cpus)})"
    )


if __name__ == "__main__":
    main()
