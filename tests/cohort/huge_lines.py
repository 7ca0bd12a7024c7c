"""An export with one huge NDJSON line, and the peak memory of a ``cds-service cohort`` run over it (issue 29 §4).

``write_huge_export`` writes ``Patient.ndjson``: a Patient, one DocumentReference line of ``mib`` MiB (an inline
base64 attachment, written 1 MiB at a time: the test never holds it), and a second Patient. ``cohort_peak`` runs
the command in a subprocess and returns its peak resident memory twice: sampled with psutil every 5 ms over the
process tree, and the kernel's high-water mark of the largest process (``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of
a wrapper whose only child is the command: exact, nothing missed between samples, but only for processes that were
waited for: with ``--engine spark`` the JVM is not, so read the sampled figure).

Measure (before and after in one command: a limit above the line is how every line was read before)::

    .venv/bin/python -m tests.cohort.huge_lines            # 300 MiB line: default limit, then --max-line-bytes 400 MiB
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

MIB = 1024 * 1024
HUGE_LINE = 2
"""The huge line's number in ``Patient.ndjson``."""
_WRAPPER = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print(f'ru_maxrss_kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); "
    "sys.exit(done.returncode)"
)


@dataclass(frozen=True)
class Peak:
    """A finished run: exit status, its output, and its peak resident memory in bytes (sampled tree, kernel mark)."""

    returncode: int
    stdout: str
    stderr: str
    sampled: int
    high_water: int


def write_huge_export(directory: Path, mib: int) -> Path:
    """Write ``directory/Patient.ndjson`` with a line of about ``mib`` MiB between two Patients; return the file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "Patient.ndjson"
    piece = b"A" * MIB
    with path.open("wb") as handle:
        handle.write(b'{"resourceType":"Patient","id":"before","birthDate":"1960-01-01"}\n')
        handle.write(
            b'{"resourceType":"DocumentReference","id":"scan","status":"current",'
            b'"subject":{"reference":"Patient/before"},"content":[{"attachment":{"contentType":"application/pdf",'
            b'"data":"'
        )
        for _ in range(mib):
            handle.write(piece)
        handle.write(b'"}}]}\n')
        handle.write(b'{"resourceType":"Patient","id":"after","birthDate":"1970-01-01"}\n')
    return path


def cohort_peak(export: Path, out: Path, *options: str) -> Peak:
    """Run ``cds-service cohort EXPORT --out OUT --workers 1 OPTIONS`` in a subprocess; return its ``Peak``."""
    command = [sys.executable, "-m", "commands.cli", "cohort", str(export), "--as-of", "2026-11-20"]
    command += ["--out", str(out), "--workers", "1", *options]
    process = subprocess.Popen(
        [sys.executable, "-c", _WRAPPER, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CDS_AUTH": "off"},
    )
    peak = [0]
    sampler = threading.Thread(target=_sample, args=(process, peak), daemon=True)
    sampler.start()
    stdout, stderr = process.communicate(timeout=600)
    sampler.join()
    lines = stderr.splitlines()
    high_water = int(lines[-1].removeprefix("ru_maxrss_kib=")) * 1024
    return Peak(process.returncode, stdout, "\n".join(lines[:-1]), peak[0], high_water)


def _sample(process: subprocess.Popen[str], peak: list[int]) -> None:
    try:
        wrapper = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                total = sum(child.memory_info().rss for child in wrapper.children(recursive=True))
                peak[0] = max(peak[0], total)
            except psutil.Error:
                pass
            time.sleep(0.005)
    except psutil.Error:
        pass


def main() -> None:
    """Print the peak memory of a run over a 300 MiB line with the default limit, then with a limit above the line."""
    with tempfile.TemporaryDirectory(prefix="huge-line-") as scratch:
        root = Path(scratch)
        started = time.monotonic()
        write_huge_export(root / "export", 300)
        print(f"wrote a {300} MiB line in {time.monotonic() - started:.1f} s")
        for label, options in (
            ("default limit (16 MiB)", ()),
            ("limit above the line (as before)", ("--max-line-bytes", str(400 * MIB))),
        ):
            started = time.monotonic()
            peak = cohort_peak(root / "export", root / "out", *options)
            print(
                f"{label}: exit {peak.returncode} in {time.monotonic() - started:.1f} s, peak RSS "
                f"{peak.high_water / MIB:.0f} MiB (kernel high-water mark), {peak.sampled / MIB:.0f} MiB (sampled)"
            )
            print("  " + "\n  ".join(line for line in peak.stderr.splitlines() if "line" in line))


if __name__ == "__main__":
    main()
