"""A 300 MiB NDJSON line is skipped with a message, and the run never holds it (issue 29 §4).

Before: the line was read whole (``for raw in handle``), copied and parsed: 1.35 GB peak RSS for the run. Now
``cds-service cohort`` reports ``line 2 of Patient.ndjson: longer than 16777216 bytes (--max-line-bytes), skipped``
and its peak stays near start-up plus the limit (measured 180 MiB, 149 MiB for an export without the line;
``.venv/bin/python -m tests.cohort.huge_lines`` prints both numbers, and the old cost with a limit above the line).
"""

from __future__ import annotations

from pathlib import Path

from tests.cohort.huge_lines import HUGE_LINE, MIB, cohort_peak, write_huge_export

MESSAGE = f"line {HUGE_LINE} of Patient.ndjson: longer than {16 * MIB} bytes (--max-line-bytes), skipped"


def test_a_300_mib_line_is_skipped_and_never_held(tmp_path: Path) -> None:
    export = write_huge_export(tmp_path / "export", 300).parent
    peak = cohort_peak(export, tmp_path / "out")
    assert peak.returncode == 0, peak.stderr[-2000:]
    assert peak.stdout.startswith("2 patients as of 2026-11-20")  # the lines around it are read
    assert f"1 unreadable lines skipped:\n  {MESSAGE}\n" in peak.stderr + "\n"
    assert f"<li>{MESSAGE}</li>" in (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    # The line alone is 300 MiB; holding it cost 1.35 GB. The run stays near start-up (~150 MiB) plus the limit.
    assert peak.high_water < 256 * MIB, f"peak RSS {peak.high_water / MIB:.0f} MiB"


def test_the_limit_is_a_setting(tmp_path: Path) -> None:
    export = write_huge_export(tmp_path / "export", 1).parent
    small = cohort_peak(export, tmp_path / "small", "--max-line-bytes", str(MIB))
    assert small.returncode == 0 and f"line {HUGE_LINE} of Patient.ndjson: longer than {MIB} bytes" in small.stderr
    large = cohort_peak(export, tmp_path / "large", "--max-line-bytes", str(2 * MIB))
    assert large.returncode == 0 and "unreadable" not in large.stderr
    refused = cohort_peak(export, tmp_path / "refused", "--max-line-bytes", "0")
    assert refused.returncode == 1
    assert "cds-service cohort: --max-line-bytes 0: a number of bytes of at least 1 is expected" in refused.stderr
