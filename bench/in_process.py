"""In-process CPU per hook call: whole Flask test-client calls, no network, no gunicorn (issue 32).

The cleanest measure on a shared machine: process CPU time (``time.process_time``) per call, best of ``--rounds``
rounds, so other processes' load shows up far less than in wall time. Each call is the whole served path as
``bench.__main__._profile`` runs it: JSON parse, mapping, guideline, card, audit record, access-log line (to
nowhere). Calls need no fetch, so they are evaluated on the request thread. The garbage collector is set up as in a
gunicorn worker (``gunicorn_conf.post_worker_init``) unless ``--default-gc``.

Usage::

    python -m bench.in_process                       # typical and heavy, prints ms CPU and wall per call
    python -m bench.in_process --profile after       # also writes bench/results/profile-<payload>-after.txt

To compare two trees in the same run, run it alternately from each tree's root (``cd TREE && python -m
bench.in_process``): the current directory is first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask.testing import FlaskClient

from bench.payloads import AS_OF, all_payloads

SERVICE_PATH = "/cds-services/sid-igrt-order-sign"
CALLS = {"typical": 300, "heavy": 40, "extreme": 4}
"""Calls per round and payload (about a second of work each)."""
PROFILE_CALLS = {"typical": 200, "heavy": 30, "extreme": 5}
"""Calls profiled per payload, as ``bench.__main__.PROFILE_CALLS``."""


def main(argv: list[str] | None = None) -> None:
    """Print ``<payload>: cpu ms/call X  wall Y`` per payload (best of rounds); optionally write profiles."""
    parser = argparse.ArgumentParser(prog="python -m bench.in_process", description=__doc__)
    parser.add_argument("--payloads", default="typical,heavy", help="comma-separated payload names")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the calls per round")
    parser.add_argument("--profile", metavar="SUFFIX", help="write bench/results/profile-<payload>-SUFFIX.txt")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--default-gc", action="store_true", help="keep Python's GC settings (no worker freeze)")
    args = parser.parse_args(argv)

    wanted = args.payloads.split(",")
    payloads = [p for p in all_payloads() if p.name in wanted]
    with quiet_client("in-process", freeze_gc=not args.default_gc) as client:
        for payload in payloads:
            body = json.dumps(payload.request)
            calls = max(1, int(CALLS.get(payload.name, 4) * args.scale))
            for _ in range(max(3, calls // 10)):
                response = client.post(SERVICE_PATH, data=body, content_type="application/json")
            if response.status_code != 200:
                raise SystemExit(f"{payload.name}: HTTP {response.status_code}")
            best_cpu = best_wall = float("inf")
            for _ in range(args.rounds):
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(calls):
                    client.post(SERVICE_PATH, data=body, content_type="application/json")
                best_cpu = min(best_cpu, (time.process_time() - cpu) / calls * 1000)
                best_wall = min(best_wall, (time.perf_counter() - wall) / calls * 1000)
            print(f"{payload.name}: cpu ms/call {best_cpu:.3f}  wall {best_wall:.3f}", flush=True)
            if args.profile:
                _profile(
                    client,
                    body,
                    PROFILE_CALLS.get(payload.name, 5),
                    args.out / f"profile-{payload.name}-{args.profile}.txt",
                )


@contextmanager
def quiet_client(name: str, *, freeze_gc: bool = True) -> Iterator[FlaskClient]:
    """Yield a Flask test client of the service as the benchmark measures it (in process, quiet).

    No authentication, the payloads' fixed date, a 60 s budget, audit in a new SQLite file ``<name>.sqlite3``
    (removed after), its log lines sent nowhere; with ``freeze_gc``, the garbage collector set up as in a gunicorn
    worker (``gunicorn_conf.post_worker_init``).

    ``bench.stages`` measures through the same client.
    """
    from cds_service.http.app import create_app
    from cds_service.http.gunicorn_conf import post_worker_init

    with tempfile.TemporaryDirectory() as directory, open(os.devnull, "w", encoding="utf-8") as nowhere:
        app = create_app(
            {
                "AUTH": "off",
                "FIXED_DATE": AS_OF.isoformat(),
                "LATENCY_BUDGET_MS": 60000,
                "DATABASE_URL": f"sqlite:///{directory}/{name}.sqlite3",
                "AUDIT_HMAC_KEY": "bench-only-hmac-key-0123456789abcdef",
            }
        )
        for handler in logging.getLogger("cds_service").handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(nowhere)
        client = app.test_client()
        if freeze_gc:
            post_worker_init(None)  # as a gunicorn worker: start-up objects frozen, higher GC threshold
        yield client


def _profile(client: object, body: str, calls: int, path: Path) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(calls):
            client.post(SERVICE_PATH, data=body, content_type="application/json")  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(profiler.output_text(unicode=False, color=False, show_all=False), encoding="utf-8")


if __name__ == "__main__":
    main()
