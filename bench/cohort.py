"""Population-worklist speed and memory against a floor measured in the same run (issue 30).

``.venv/bin/python -m bench.cohort [--sizes 10000,100000] [--workers 2] [--profile realistic] [--gzip]
[--data DIR] [--baseline CHECKOUT]``: for each size, writes a synthetic cohort (``cds-service synth-cohort
--profile``; kept in ``--data`` and reused when already there), measures the **floor** on it, then runs
``cds-service cohort --fresh`` once per worker count. Every step runs in its own process; the resident memory of
that process and its children is sampled every 250 ms. Prints a table and writes ``bench/results/cohort.json``. Run
it under ``flock /tmp/bench.lock`` on a shared machine.

* **Floor** (``floor``, measured twice and the faster kept: the first may read from disk, the run reads from the
  page cache): the least any reader of these files must do, in one process: read every line of the files
  the run reads (the files of the types the rules read, decompressed as they are read) and ``orjson.loads`` only the
  lines the rules need (the lines the run parses: a first, untimed pass marks them). The run's time over the floor's
  is ``floor_ratio``.
* **Throughput**: patients per second of the whole run (reading, grouping, evaluating, writing).
* **Before and after** (``--baseline CHECKOUT``, e.g. a ``git worktree`` of an earlier commit): right after each
  run, the same ``cds-service cohort`` of that checkout on the same export, with the same Python; its time, rate,
  ratio to the same floor and peak memory go in the run's ``baseline`` (and the commit it was at).
* **Memory**: ``peak_rss_mb`` is the largest sum of the resident set sizes of the process tree (pages a forked worker
  shares with its parent are counted in both); ``peak_pss_mb`` the largest sum of proportional set sizes (a shared
  page counted once, split among its sharers: the memory the run really holds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-20"


def floor(directory: Path) -> dict[str, float]:
    """Measure the floor on an export (see the module docstring); return seconds, lines read and lines parsed."""
    import orjson

    from cohort.bulk import block_lines, open_ndjson
    from cohort.export import open_export
    from cohort.relevance import READ_TYPES, classify_bytes

    export = open_export(directory)
    files = [f.path for f in export.inputs() if f.resource_type is None or f.resource_type in READ_TYPES]
    needed: dict[Path, bytearray] = {}
    for path in files:  # untimed: which lines the run parses
        with open_ndjson(path) as handle:
            marks = bytearray()
            for raw in block_lines(handle, max_line_bytes=export.max_line_bytes):
                marks.append(raw is not None and bool(raw.strip()) and classify_bytes(raw) is None)
        needed[path] = marks
    started = time.perf_counter()
    lines = parsed = 0
    for path in files:
        marks = needed[path]
        with open_ndjson(path) as handle:
            for number, raw in enumerate(block_lines(handle, max_line_bytes=export.max_line_bytes)):
                lines += 1
                if marks[number]:
                    orjson.loads(raw)  # type: ignore[arg-type]
                    parsed += 1
    return {"seconds": time.perf_counter() - started, "lines": lines, "parsed": parsed}


def _sample(process: subprocess.Popen[bytes], peaks: list[int], stop: threading.Event) -> None:
    try:
        parent = psutil.Process(process.pid)
        while not stop.is_set():
            try:
                tree = [parent, *parent.children(recursive=True)]
                infos = [p.memory_full_info() for p in tree]
            except psutil.Error:
                break
            peaks[0] = max(peaks[0], sum(i.rss for i in infos))
            peaks[1] = max(peaks[1], sum(getattr(i, "pss", i.rss) for i in infos))
            time.sleep(0.25)
    except psutil.Error:
        return


def _run(command: list[str], cwd: Path = ROOT) -> tuple[float, int, int, str]:
    """Run a command in ``cwd``; return its wall seconds, peak RSS and PSS of its process tree (bytes), its stdout."""
    peaks, stop = [0, 0], threading.Event()
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd)
    sampler = threading.Thread(target=_sample, args=(process, peaks, stop), daemon=True)
    sampler.start()
    out, _ = process.communicate()
    elapsed = time.monotonic() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return elapsed, peaks[0], peaks[1], out.decode()


def _export(data: Path, size: int, profile: str, gzip: bool, cli: list[str]) -> tuple[Path, float | None]:
    """The export of ``size`` patients in ``data`` (written unless there already); seconds it took, or ``None``."""
    export = data / f"export-{profile}-{size}{'-gz' if gzip else ''}"
    if (export / ".complete").is_file():
        return export, None
    command = [*cli, "synth-cohort", str(size), str(export), "--as-of", AS_OF, "--profile", profile]
    seconds, _, _, _ = _run([*command, "--gzip"] if gzip else command)
    (export / ".complete").touch()
    return export, seconds


def _baseline(
    checkout: Path, command: list[str], workers: int, size: int, floor_seconds: float, out_dir: Path
) -> dict[str, object]:
    """Run the same ``cds-service cohort`` with ``checkout``'s code (same Python, same export); its measurements."""
    revision = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    other = [*command[:-1], str(out_dir.with_name(out_dir.name + "-baseline"))]  # its own --out
    seconds, rss, pss, _ = _run([*other, "--workers", str(workers), "--fresh"], cwd=checkout)
    return {
        "commit": revision,
        "seconds": round(seconds, 2),
        "patients_per_second": round(size / seconds, 1),
        "floor_ratio": round(seconds / floor_seconds, 2),
        "peak_rss_mb": round(rss / 2**20, 1),
        "peak_pss_mb": round(pss / 2**20, 1),
    }


def main() -> int:
    """Run the measurements; print and save them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--workers", default="2")
    parser.add_argument("--profile", choices=("basic", "realistic"), default="realistic")
    parser.add_argument("--gzip", action="store_true", help="synthetic exports as .ndjson.gz")
    parser.add_argument("--data", type=Path, default=Path("/tmp/cohort-bench"), help="where exports are kept")
    parser.add_argument("--merge", action="store_true", help="keep the saved runs of other cohorts in cohort.json")
    parser.add_argument("--baseline", type=Path, help="a checkout of an earlier commit, run on the same exports")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)  # internal: measure the floor of one export
    args = parser.parse_args()
    if args.floor is not None:
        print(json.dumps(floor(args.floor)))
        return 0
    cli = [sys.executable, "-m", "commands.cli"]
    args.data.mkdir(parents=True, exist_ok=True)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        export, synth_seconds = _export(args.data, size, args.profile, args.gzip, cli)
        # Twice, the faster kept: the first pass may read from disk, and the run reads from the page cache.
        floors = [json.loads(_run([sys.executable, "-m", "bench.cohort", "--floor", str(export)])[3]) for _ in range(2)]
        measured = min(floors, key=lambda floor: floor["seconds"])
        disk = sum(p.stat().st_size for p in export.rglob("*") if p.is_file())
        print(
            f"{size:>7} patients ({args.profile}, {disk / 1e9:.2f} GB on disk): floor {measured['seconds']:.1f} s "
            f"({measured['lines']} lines read, {measured['parsed']} parsed)",
            flush=True,
        )
        for workers in (int(w) for w in args.workers.split(",")):
            out_dir = args.data / f"out-{args.profile}-{size}-{workers}"
            command = [*cli, "cohort", str(export), "--as-of", AS_OF, "--out", str(out_dir)]
            seconds, rss, pss, _ = _run([*command, "--workers", str(workers), "--fresh"])
            row = {
                "patients": size,
                "profile": args.profile,
                "gzip": args.gzip,
                "export_bytes": disk,
                "workers": workers,
                "seconds": round(seconds, 2),
                "patients_per_second": round(size / seconds, 1),
                "floor_seconds": round(measured["seconds"], 2),
                "floor_ratio": round(seconds / measured["seconds"], 2),
                "floor_lines_read": measured["lines"],
                "floor_lines_parsed": measured["parsed"],
                "peak_rss_mb": round(rss / 2**20, 1),
                "peak_pss_mb": round(pss / 2**20, 1),
                "synth_seconds": None if synth_seconds is None else round(synth_seconds, 1),
            }
            if args.baseline is not None:
                row["baseline"] = _baseline(args.baseline, command, workers, size, measured["seconds"], out_dir)
            results.append(row)
            print(
                f"{size:>7} patients, {workers} worker(s): {row['seconds']:>7} s, {row['patients_per_second']:>7}/s, "
                f"{row['floor_ratio']}x the floor, peak RSS {row['peak_rss_mb']} MB (process tree; PSS "
                f"{row['peak_pss_mb']} MB)",
                flush=True,
            )
    target = ROOT / "bench" / "results" / "cohort.json"
    note = f"{os.cpu_count()} cores"
    if args.merge and target.is_file():

        def key(run: dict[str, object]) -> tuple[object, ...]:
            return (run["patients"], run.get("profile"), run.get("gzip"), run["workers"])

        measured = {key(run) for run in results}
        kept = [run for run in json.loads(target.read_text())["runs"] if key(run) not in measured]
        results = sorted([*kept, *results], key=lambda run: tuple(str(part) for part in key(run)))
    target.write_text(json.dumps({"machine": note, "as_of": AS_OF, "runs": results}, indent=2) + "\n")
    print(f"written: {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
