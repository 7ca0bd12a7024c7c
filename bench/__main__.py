"""``make bench``: the service against a minimal Flask baseline, on 127.0.0.1, under the same gunicorn configuration.

For each synthetic patient (``bench.payloads``: typical ~60, heavy ~600, extreme ~6,000 resources) it measures,
with ``wrk`` as the load generator, single-client latency (p50/p95/p99, one kept-alive connection) and throughput
and latency at a fixed concurrency (``--connections`` connections), for the baseline and for the service,
interleaved; then latency as an EHR calls (``_ehr_calls``: one request at a time, a new connection each, baseline
and service alternating). It reports the ratios service/baseline, the workers' CPU time per request, the peak RSS of
every gunicorn worker (sampled all along), the targets of issue 32 (``TARGETS``), and profiles (pyinstrument) of the
service on each patient. Beside them, the request path alone (``_request_path``): the service with its evaluation
answered from a memo (``bench.canned``) against the baseline on the typical patient, what no work on the mapping,
the guideline or the cards can go below. Output: a table on stdout, ``bench/results/latest.json``,
``bench/results/latency-vs-resources.png`` and ``bench/results/profile-<patient>.txt``.

The service runs as in production (``cds_service.http.gunicorn_conf``, audit rows written) except: client
authentication off (the baseline has none either), a fixed evaluation date, and a latency budget of 60 s so that
every call does all its work (a budget cut would make the service look faster than it is); the run fails if any
call was cut anyway or answered other than 200.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.payloads import AS_OF, Payload, all_payloads

RESULTS = Path(__file__).parent / "results"
SERVICE_PATH = "/cds-services/sid-igrt-order-sign"
WRK_SCRIPT = Path(__file__).parent / "post.lua"
TARGETS: tuple[tuple[str, str, float], ...] = (
    # (label, figure in the report's "figures", bound): issue 32's targets, every ratio from one run
    ("worker CPU per typical request at 8 connections <= 1.2 ms", "typical_cpu_ms", 1.2),
    ("typical p50 at 8 connections <= 3x baseline", "typical_concurrent_p50", 3.0),
    ("heavy p50 at 8 connections <= 3x baseline", "heavy_concurrent_p50", 3.0),
    ("extreme p50 at 8 connections <= 2.5x baseline", "extreme_concurrent_p50", 2.5),
    ("typical throughput at 8 connections >= 0.3x baseline", "typical_throughput", 0.3),
    ("heavy throughput at 8 connections >= 0.3x baseline", "heavy_throughput", 0.3),
    ("typical p50 as an EHR calls (a new connection each) <= 2x baseline", "typical_ehr_p50", 2.0),
    ("heavy p50 as an EHR calls (a new connection each) <= 2x baseline", "heavy_ehr_p50", 2.0),
    ("linear cost: per-resource service time (p50 over baseline) extreme <= 1.25x heavy", "growth", 1.25),
    ("service worker peak RSS < 150 MB", "peak_rss_mb", 150.0),
)
"""Each target: its label, the figure it reads and its bound (a floor for throughput, a ceiling for the rest)."""
EHR_CALLS = {"typical": 400, "heavy": 150, "extreme": 20}
"""Calls per app in the as-an-EHR-calls harness (``_ehr_calls``), by payload."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: latency percentiles (ms), requests per second, requests and failed requests.

    ``cpu_ms_per_request``: the CPU time (user + system) the app's workers spent per request in the run, in ms.
    """

    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    requests: int
    errors: int
    cpu_ms_per_request: float = 0.0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0 (targets missed are reported, not failures), 1 if a run itself failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run (default 8)")
    parser.add_argument("--connections", type=int, default=8, help="connections for the throughput run (8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both apps (2)")
    parser.add_argument("--database-url", help="audit database (default: a new SQLite file)")
    parser.add_argument("--no-profile", action="store_true", help="skip the pyinstrument profile")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory (bench/results)")
    args = parser.parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed: `apt-get install wrk` (make bench does this)", file=sys.stderr)
        return 1
    payloads = all_payloads()
    work = Path(tempfile.mkdtemp(prefix="sid-igrt-bench-"))
    bodies = {p.name: _write_body(work, p) for p in payloads}
    database_url = args.database_url or f"sqlite:///{work / 'audit.sqlite3'}"
    service_env = {
        "CDS_AUTH": "off",
        "CDS_FIXED_DATE": AS_OF.isoformat(),
        "CDS_AUDIT_HMAC_KEY": "bench-only-hmac-key-0123456789abcdef",
        "CDS_LATENCY_BUDGET_MS": "60000",
        "CDS_FHIR_BUDGET_SECONDS": "1",
        "DATABASE_URL": database_url,
    }
    print(f"payloads: {', '.join(f'{p.name} {p.resources} resources' for p in payloads)}", flush=True)
    with (
        _gunicorn("bench.baseline:create_app()", {}, args.workers, work / "baseline") as baseline,
        _gunicorn("cds_service.http.app:create_app()", service_env, args.workers, work / "service") as service,
    ):
        _check_answers(baseline.url, service.url, payloads)
        sampler = _RssSampler({"baseline": baseline.pid, "service": service.pid})
        sampler.start()
        runs: dict[str, dict[str, dict[str, WrkResult]]] = {}
        for p in payloads:
            runs[p.name] = {"single": {}, "concurrent": {}}
            for mode, connections in (("single", 1), ("concurrent", args.connections)):
                for app in ("baseline", "service"):
                    server = baseline if app == "baseline" else service
                    result = _measured(wrk, server, bodies[p.name], connections=connections, seconds=args.duration)
                    runs[p.name][mode][app] = result
                    print(f"  {p.name:8s} {mode:10s} {app:8s} {_describe(result)}", flush=True)
        ehr = {}
        for p in payloads:
            ehr[p.name] = _ehr_calls(baseline.url, service.url, p, calls=EHR_CALLS.get(p.name, 20))
            print(f"  {p.name:8s} as an EHR calls: {_describe_ehr(ehr[p.name])}", flush=True)
        sampler.stop()
        with _gunicorn("bench.canned:create_app()", service_env, args.workers, work / "canned") as canned:
            _check_answers(baseline.url, canned.url, payloads[:1])
            request_path = _request_path(wrk, baseline, canned, payloads[0], bodies[payloads[0].name], args)
        print(f"  {payloads[0].name:8s} request path alone: {_describe_request_path(request_path)}", flush=True)
        overruns = _metric(service.url, "cds_latency_budget_overruns_total")
    failures = [
        f"{name} {mode} {app}: {r.errors} failed requests"
        for name, modes in runs.items()
        for mode, apps in modes.items()
        for app, r in apps.items()
        if r.errors
    ]
    failures += [
        f"request path {app}: {request_path[app]['errors']} failed requests"
        for app in ("baseline", "canned")
        if request_path[app]["errors"]
    ]
    if overruns:
        failures.append(f"{overruns:g} service calls were cut by the latency budget")
    profile = None if args.no_profile else _profile(payloads, args.out)
    report = _report(payloads, runs, ehr, sampler.peaks(), args, profile)
    report["request_path"] = request_path
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _plot(report, args.out / "latency-vs-resources.png")
    print(_table(report))
    print(f"\nwritten: {args.out / 'latest.json'}, {args.out / 'latency-vs-resources.png'}")
    shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print(f"FAILED RUN: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _write_body(directory: Path, payload: Payload) -> Path:
    path = directory / f"{payload.name}.json"
    path.write_text(json.dumps(payload.request, ensure_ascii=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class _Server:
    url: str
    pid: int


@contextmanager
def _gunicorn(app: str, env: dict[str, str], workers: int, directory: Path) -> Iterator[_Server]:
    """Run ``app`` under the service's gunicorn configuration on a free loopback port."""
    directory.mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (directory / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:cds_service.http.gunicorn_conf"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), app],
        # MALLOC_ARENA_MAX as `cds-service serve` and the container image set it, for both apps alike.
        env={**os.environ, "MALLOC_ARENA_MAX": "2", **env, "PROMETHEUS_MULTIPROC_DIR": str(directory / "metrics")},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + "/", timeout=2)
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = (directory / "gunicorn.log").read_text()[-2000:]
                    raise RuntimeError(f"{app} did not start: {output}") from None
                time.sleep(0.2)
        while len(psutil.Process(process.pid).children()) < workers:
            time.sleep(0.1)
        yield _Server(url, process.pid)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        log.close()


def _request_path(
    wrk: str, baseline: _Server, canned: _Server, payload: Payload, body: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Measure the request path alone: the service with its evaluation memoized (``bench.canned``) vs the baseline.

    At ``args.connections`` connections (baseline, then the memoized service, each after a 1 s warm-up, with the
    workers' CPU per request) and as an EHR calls (``_ehr_calls``). Returns ``{"payload", "connections"}``,
    ``"baseline"`` and ``"canned"`` (wrk results), ``"ratio"`` (``concurrent_p50``, ``throughput``) and ``"ehr"``
    (``_ehr_calls``'s figures, the memoized service as ``"service"``).
    """
    results = {
        app: _measured(wrk, server, body, connections=args.connections, seconds=args.duration)
        for app, server in (("baseline", baseline), ("canned", canned))
    }
    pair = {"baseline": results["baseline"], "service": results["canned"]}
    return {
        "payload": payload.name,
        "connections": args.connections,
        "baseline": asdict(results["baseline"]),
        "canned": asdict(results["canned"]),
        "ratio": {"concurrent_p50": _ratio(pair, "p50_ms"), "throughput": _ratio(pair, "rps")},
        "ehr": _ehr_calls(baseline.url, canned.url, payload, calls=EHR_CALLS.get(payload.name, 20)),
    }


def _describe_request_path(figures: dict[str, Any]) -> str:
    canned, ratio = figures["canned"], figures["ratio"]
    return (
        f"worker CPU {canned['cpu_ms_per_request']} ms/req at {figures['connections']} connections, "
        f"p50 {ratio['concurrent_p50']}x, "
        f"throughput {ratio['throughput']}x; as an EHR calls p50 {figures['ehr']['ratio']['p50']}x"
    )


def _check_answers(baseline: str, service: str, payloads: list[Payload]) -> None:
    """Fail early unless the baseline answers no cards and the service a decision card, for every payload."""
    for p in payloads:
        answer = requests.post(baseline + SERVICE_PATH, json=p.request, timeout=60)
        if answer.status_code != 200 or answer.json() != {"cards": []}:
            raise RuntimeError(f"baseline answered {answer.status_code} for {p.name}")
        answer = requests.post(service + SERVICE_PATH, json=p.request, timeout=60)
        cards = answer.json().get("cards") if answer.status_code == 200 else None
        if not cards or cards[0]["extension"]["sid-igrt"]["kind"] != "decision":
            raise RuntimeError(f"the service answered {answer.status_code} without a decision card for {p.name}")


def _measured(wrk: str, server: _Server, body: Path, *, connections: int, seconds: int) -> WrkResult:
    """One wrk run on the service path after a 1 s warm-up, with the workers' CPU time per request (ms)."""
    url = server.url + SERVICE_PATH
    _wrk(wrk, url, body, connections=connections, seconds=1)  # warm-up
    cpu_before = _worker_cpu_seconds(server.pid)
    result = _wrk(wrk, url, body, connections=connections, seconds=seconds)
    spent = _worker_cpu_seconds(server.pid) - cpu_before
    return replace(result, cpu_ms_per_request=round(spent / max(result.requests, 1) * 1000, 2))


def _wrk(wrk: str, url: str, body: Path, *, connections: int, seconds: int) -> WrkResult:
    threads = min(connections, 2)
    completed = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(WRK_SCRIPT), url],
        env={**os.environ, "BODY": str(body)},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    line = next(x for x in completed.stdout.splitlines() if x.startswith("{"))
    return WrkResult(**json.loads(line))


def _ehr_calls(baseline: str, service: str, payload: Payload, *, calls: int) -> dict[str, Any]:
    """Latency as an EHR calls: one request at a time, each on a new connection, baseline and service alternating.

    Each call opens a TCP connection, sends the whole request (``Connection: close``) and reads the answer to the
    end; its time is from before the connect to the last byte. The order within each pair alternates, so a
    disturbance of the machine falls on both apps alike. Returns ``{"calls", "baseline": {"p50_ms", "p95_ms"},
    "service": {...}, "ratio": {"p50", "p95"}}``.

    Raises:
        RuntimeError: an answer other than 200.
    """
    body = json.dumps(payload.request, ensure_ascii=False).encode()
    times: dict[str, list[float]] = {"baseline": [], "service": []}
    urls = {"baseline": baseline, "service": service}
    for i in range(calls + 3):
        order = ("baseline", "service") if i % 2 == 0 else ("service", "baseline")
        for app in order:
            seconds = _one_call(urls[app], body)
            if i >= 3:  # the first calls warm the connection path up
                times[app].append(seconds * 1000)
    figures = {app: {"p50_ms": _percentile(t, 50), "p95_ms": _percentile(t, 95)} for app, t in times.items()}
    return {
        "calls": calls,
        **figures,
        "ratio": {
            key.removesuffix("_ms"): round(figures["service"][key] / figures["baseline"][key], 2)
            for key in ("p50_ms", "p95_ms")
        },
    }


def _one_call(base: str, body: bytes) -> float:
    """POST ``body`` to the service path on a new connection; return the seconds until the answer's last byte."""
    host, port = base.removeprefix("http://").split(":")
    head = (
        f"POST {SERVICE_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=60) as connection:
        connection.sendall(head + body)
        answer = bytearray()
        while chunk := connection.recv(65536):
            answer += chunk
    seconds = time.perf_counter() - started
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{base} answered {bytes(answer[:40])!r}")
    return seconds


def _percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))], 3)


def _describe_ehr(figures: dict[str, Any]) -> str:
    b, s, r = figures["baseline"], figures["service"], figures["ratio"]
    return (
        f"p50 baseline {b['p50_ms']:.2f} ms, service {s['p50_ms']:.2f} ms ({r['p50']}x); "
        f"p95 {b['p95_ms']:.2f} / {s['p95_ms']:.2f} ms ({r['p95']}x); {figures['calls']} calls each"
    )


def _describe(r: WrkResult) -> str:
    return (
        f"p50 {r.p50_ms:8.2f} ms  p95 {r.p95_ms:8.2f}  p99 {r.p99_ms:8.2f}  {r.rps:8.1f} req/s  "
        f"cpu {r.cpu_ms_per_request:6.2f} ms/req  n={r.requests} errors={r.errors}"
    )


def _worker_cpu_seconds(master: int) -> float:
    """CPU seconds (user + system) used so far by every worker a gunicorn master has had: live ones and reaped ones.

    The difference of two readings is the workers' CPU time in between, also when gunicorn recycles a worker
    (``max_requests``) during the run: a reaped worker's time stays in its master's ``children_user`` and
    ``children_system`` (the kernel adds a child's time there when it is waited for), where it would otherwise be
    lost. The baseline, at some 2,700 requests per second, recycles both workers within one 8 s run. A worker
    reaped while its live siblings are summed would be in neither sum: the reading is then taken again. A
    replacement worker's start-up (importing the app) counts as well.
    """
    process = psutil.Process(master)
    while True:
        before = process.cpu_times()
        live = 0.0
        for worker in process.children():
            try:
                times = worker.cpu_times()
            except psutil.NoSuchProcess:  # gone (reaped) while being read: read everything again
                break
            live += times.user + times.system
        else:
            after = process.cpu_times()
            if (after.children_user, after.children_system) == (before.children_user, before.children_system):
                return after.children_user + after.children_system + live


class _RssSampler(threading.Thread):
    """Samples the resident set size of every worker of each gunicorn master every 100 ms; keeps each one's peak."""

    def __init__(self, masters: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self._masters = masters
        self._peaks: dict[str, dict[int, int]] = {name: {} for name in masters}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.1):
            for name, pid in self._masters.items():
                for worker in psutil.Process(pid).children():
                    try:
                        rss = worker.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
                    peaks = self._peaks[name]
                    peaks[worker.pid] = max(peaks.get(worker.pid, 0), rss)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def peaks(self) -> dict[str, list[float]]:
        """Peak RSS in MB of each worker seen, per app."""
        return {name: [round(v / 2**20, 1) for v in peaks.values()] for name, peaks in self._peaks.items()}


def _metric(base: str, name: str) -> float:
    text = requests.get(base + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


PROFILE_CALLS = {"typical": 200, "heavy": 30, "extreme": 5}
"""Calls profiled per payload (about a second of work each)."""


def _profile(payloads: list[Payload], out: Path) -> dict[str, Any]:
    """Profile whole calls in-process (Flask test client: JSON, mapping, guideline, cards, audit, log line).

    As served: these calls need no fetch, so they are evaluated on the request thread, which the profiler follows;
    the log lines are written (to nowhere) at the configured level. Writes ``profile-<payload>.txt`` per payload.
    """
    import logging

    from pyinstrument import Profiler

    from cds_service.http.app import create_app

    files = {}
    with tempfile.TemporaryDirectory() as directory, open(os.devnull, "w", encoding="utf-8") as nowhere:
        app = create_app(
            {
                "AUTH": "off",
                "FIXED_DATE": AS_OF.isoformat(),
                "LATENCY_BUDGET_MS": 60000,
                "DATABASE_URL": f"sqlite:///{directory}/profile.sqlite3",
                "AUDIT_HMAC_KEY": "bench-only-hmac-key-0123456789abcdef",
            }
        )
        handlers = [h for h in logging.getLogger("cds_service").handlers if isinstance(h, logging.StreamHandler)]
        streams = [h.setStream(nowhere) for h in handlers]
        client = app.test_client()
        try:
            for payload in payloads:
                body = json.dumps(payload.request)
                calls = PROFILE_CALLS.get(payload.name, 5)
                for _ in range(3):
                    client.post(SERVICE_PATH, data=body, content_type="application/json")
                profiler = Profiler(interval=0.0005)
                with profiler:
                    for _ in range(calls):
                        client.post(SERVICE_PATH, data=body, content_type="application/json")
                text = profiler.output_text(unicode=False, color=False, show_all=False)
                out.mkdir(parents=True, exist_ok=True)
                (out / f"profile-{payload.name}.txt").write_text(text, encoding="utf-8")
                files[payload.name] = {"calls": calls, "file": f"bench/results/profile-{payload.name}.txt"}
        finally:
            for handler, stream in zip(handlers, streams, strict=True):
                handler.setStream(stream)
    return files


def _machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def _report(
    payloads: list[Payload],
    runs: dict[str, dict[str, dict[str, WrkResult]]],
    ehr: dict[str, dict[str, Any]],
    rss: dict[str, list[float]],
    args: argparse.Namespace,
    profile: dict[str, Any] | None,
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for p in payloads:
        single, concurrent = runs[p.name]["single"], runs[p.name]["concurrent"]
        rows.append(
            {
                "payload": p.name,
                "resources": p.resources,
                "baseline": {"single": asdict(single["baseline"]), "concurrent": asdict(concurrent["baseline"])},
                "service": {"single": asdict(single["service"]), "concurrent": asdict(concurrent["service"])},
                "ehr": ehr.get(p.name),
                "ratio": {
                    "p50": _ratio(single, "p50_ms"),
                    "p95": _ratio(single, "p95_ms"),
                    "p99": _ratio(single, "p99_ms"),
                    "concurrent_p50": _ratio(concurrent, "p50_ms"),
                    "throughput": _ratio(concurrent, "rps"),
                    "ehr_p50": ehr[p.name]["ratio"]["p50"] if p.name in ehr else None,
                },
            }
        )
    by_name = {row["payload"]: row for row in rows}
    own = {
        name: (row["service"]["single"]["p50_ms"] - row["baseline"]["single"]["p50_ms"]) / row["resources"] * 1000
        for name, row in by_name.items()
    }
    peak = max(rss["service"], default=0.0)
    figures: dict[str, float | None] = {
        "typical_cpu_ms": by_name["typical"]["service"]["concurrent"]["cpu_ms_per_request"],
        "growth": round(own["extreme"] / own["heavy"], 2) if own["heavy"] > 0 else float("inf"),
        "peak_rss_mb": peak,
    }
    for name, row in by_name.items():
        figures[f"{name}_concurrent_p50"] = row["ratio"]["concurrent_p50"]
        figures[f"{name}_throughput"] = row["ratio"]["throughput"]
        figures[f"{name}_ehr_p50"] = row["ratio"]["ehr_p50"]
    targets = []
    for label, figure, bound in TARGETS:
        value = figures.get(figure)
        if figure.endswith("throughput"):
            met = value is not None and value >= bound
        elif figure == "peak_rss_mb":
            met = value is not None and value < bound
        else:
            met = value is not None and value <= bound
        targets.append({"target": label, "value": value, "met": met})
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "workers": args.workers,
            "worker_class": "gthread",
            "threads": int(os.environ.get("GUNICORN_THREADS", "4")),
            "load_generator": _wrk_version(),
            "database": "SQLite (default)" if not args.database_url else "DATABASE_URL given",
        },
        "payloads": rows,
        "per_resource_us": {k: round(v, 1) for k, v in own.items()},
        "peak_rss_mb": rss,
        "targets": targets,
        "profile": profile,
    }


def _ratio(apps: dict[str, WrkResult], field: str) -> float:
    base = getattr(apps["baseline"], field)
    return round(getattr(apps["service"], field) / base, 2) if base else float("inf")


def _wrk_version() -> str:
    completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return (completed.stdout or completed.stderr).splitlines()[0].strip()


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"\nSID IgRT CDS service vs minimal Flask baseline, {report['date']}, {report['machine']['cpu']} "
        f"({report['machine']['cores']} cores), gunicorn {report['settings']['workers']} workers x "
        f"{report['settings']['threads']} threads, {report['settings']['load_generator']}",
        "",
        f"{'payload':<9}{'res.':>6} | {'single client p50 / p95 / p99 (ms)':^52} | "
        f"{'req/s at ' + str(report['settings']['connections']) + ' connections':^30}",
        f"{'':<15} | {'baseline':^24} {'service':^26} | {'baseline':>9} {'service':>9} {'ratio':>8}",
    ]
    for row in report["payloads"]:
        b, s, r = row["baseline"], row["service"], row["ratio"]
        lines.append(
            f"{row['payload']:<9}{row['resources']:>6} | "
            f"{_triple(b['single']):>24} {_triple(s['single']):>26} | "
            f"{b['concurrent']['rps']:>9.1f} {s['concurrent']['rps']:>9.1f} {r['throughput']:>7.2f}x"
        )
        lines.append(
            f"{'':<15} | ratio p50 {r['p50']}x, p95 {r['p95']}x, p99 {r['p99']}x; "
            f"p50 at {report['settings']['connections']} connections {r['concurrent_p50']}x"
        )
        if row.get("ehr"):
            lines.append(f"{'':<15} | as an EHR calls: {_describe_ehr(row['ehr'])}")
        lines.append(
            f"{'':<15} | worker CPU per request (ms), single / concurrent: baseline "
            f"{b['single']['cpu_ms_per_request']} / {b['concurrent']['cpu_ms_per_request']}, service "
            f"{s['single']['cpu_ms_per_request']} / {s['concurrent']['cpu_ms_per_request']}"
        )
    lines.append(
        f"\npeak RSS per worker (MB): baseline {report['peak_rss_mb']['baseline']}, "
        f"service {report['peak_rss_mb']['service']}"
    )
    lines.append(f"service time over baseline per resource (us, p50): {report['per_resource_us']}")
    lines.append("\ntargets:")
    for t in report["targets"]:
        lines.append(f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['value']}")
    if report.get("request_path"):
        lines.append(
            f"\nthe request path alone ({report['request_path']['payload']}; evaluation memoized, bench/canned.py): "
            f"{_describe_request_path(report['request_path'])}"
        )
    if report["profile"]:
        lines.append(f"\nprofiles: {', '.join(p['file'] for p in report['profile'].values())}")
    return "\n".join(lines)


def _triple(r: dict[str, Any]) -> str:
    return f"{r['p50_ms']:.2f} / {r['p95_ms']:.2f} / {r['p99_ms']:.2f}"


def _plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    resources = [row["resources"] for row in report["payloads"]]
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for app, colour in (("baseline", "tab:gray"), ("service", "tab:blue")):
        for field, style in (("p50_ms", "-o"), ("p99_ms", "--s")):
            values = [row[app]["single"][field] for row in report["payloads"]]
            axes.plot(resources, values, style, color=colour, label=f"{app} {field.removesuffix('_ms')}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("FHIR resources in the prefetch")
    axes.set_ylabel("single-client latency (ms)")
    axes.set_title(f"Latency vs resource count ({report['date'][:10]}, {report['machine']['cores']} cores)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


if __name__ == "__main__":
    raise SystemExit(main())
