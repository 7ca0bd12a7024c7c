"""Population-worklist scaling: patients per second and peak memory at 1k, 10k and 100k synthetic patients.

``.venv/bin/python -m bench.cohort [--sizes 1000,10000,100000] [--workers 1,2]``: for each size, writes a synthetic
cohort (``cds-service synth-cohort``), then runs ``cds-service cohort`` on it once per worker count, each in its own
process, sampling the resident memory of that process and its children every 50 ms. Prints a table and writes
``bench/results/cohort.json``. Throughput counts the whole run (reading, grouping, evaluating, writing).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-20"


def _peak_rss(process: subprocess.Popen[bytes], peak: list[int], stop: threading.Event) -> None:
    try:
        parent = psutil.Process(process.pid)
        while not stop.is_set():
            try:
                total = parent.memory_info().rss + sum(c.memory_info().rss for c in parent.children(recursive=True))
            except psutil.Error:
                break
            peak[0] = max(peak[0], total)
            time.sleep(0.05)
    except psutil.Error:
        return


def _run(command: list[str]) -> tuple[float, int]:
    peak, stop = [0], threading.Event()
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    sampler = threading.Thread(target=_peak_rss, args=(process, peak, stop), daemon=True)
    sampler.start()
    if process.wait() != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    elapsed = time.monotonic() - started
    stop.set()
    sampler.join()
    return elapsed, peak[0]


def main() -> int:
    """Run the measurements; print and save them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "commands.cli"]
    env_note = f"{os.cpu_count()} cores"
    results = []
    with tempfile.TemporaryDirectory(prefix="cohort-bench-") as scratch:
        for size in (int(s) for s in args.sizes.split(",")):
            export = Path(scratch) / f"export-{size}"
            synth_seconds, _ = _run([*cli, "synth-cohort", str(size), str(export), "--as-of", AS_OF])
            for workers in (int(w) for w in args.workers.split(",")):
                out = Path(scratch) / f"out-{size}-{workers}"
                command = [*cli, "cohort", str(export), "--as-of", AS_OF, "--out", str(out), "--workers", str(workers)]
                seconds, peak = _run(command)
                results.append(
                    {
                        "patients": size,
                        "workers": workers,
                        "seconds": round(seconds, 2),
                        "patients_per_second": round(size / seconds, 1),
                        "patients_per_second_per_worker": round(size / seconds / workers, 1),
                        "peak_rss_mb": round(peak / 2**20, 1),
                        "synth_seconds": round(synth_seconds, 2),
                    }
                )
                row = results[-1]
                print(
                    f"{size:>7} patients, {workers} worker(s): {row['seconds']:>7} s, "
                    f"{row['patients_per_second']:>7}/s ({row['patients_per_second_per_worker']}/s per worker), "
                    f"peak RSS {row['peak_rss_mb']} MB (process tree)",
                    flush=True,
                )
    target = ROOT / "bench" / "results" / "cohort.json"
    target.write_text(json.dumps({"machine": env_note, "as_of": AS_OF, "runs": results}, indent=2) + "\n")
    print(f"written: {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
