"""``cds-service evaluate --format json|markdown|text --language``: what a person reads in a terminal."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from commands.cli import main
from tests.cases import CASES, case_dir

WINDOW = next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")
REQUEST = str(case_dir(WINDOW) / "request.json")


def test_text_format_is_plain_and_decision_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", REQUEST, "--as-of", "2026-11-20", "--format", "text"]) == 0
    out = capsys.readouterr().out
    first, *rest = out.splitlines()
    assert first.startswith("INFO: Start IgRT: IgG 3.1 g/L < 4 g/L")
    assert "*" not in out and "\\" not in out  # neither **strong** nor *emphasis* (the source line's title)
    assert "-> suggestion: Order serum IgG" in out
    assert max(len(line) for line in rest if not line.startswith("  -> ")) <= 120  # links keep their URL whole


def test_markdown_format_in_danish(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", REQUEST, "--as-of", "2026-11-20", "--format", "markdown", "--language", "da"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## [info] Start immunglobulin: IgG 3,1 g/L")
    assert "Næste skridt: " in out and "Detaljer" not in out  # the short form: the trace is on the evidence page


def test_json_format_is_the_cds_hooks_response(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", REQUEST, "--as-of", "2026-11-20"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [c["extension"]["sid-igrt"]["kind"] for c in body["cards"]] == ["decision"]


def test_a_closed_pipe_ends_quietly() -> None:
    command = [
        sys.executable,
        "-m",
        "commands.cli",
        "evaluate",
        REQUEST,
        "--as-of",
        "2026-11-20",
        "--format",
        "text",
    ]
    producer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert producer.stdout is not None
    producer.stdout.readline()
    producer.stdout.close()  # the reader goes away, as `| head -1` does
    _, stderr = producer.communicate(timeout=60)
    assert producer.returncode == 0
    assert b"BrokenPipeError" not in stderr and b"Traceback" not in stderr


def test_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out and "serve: migrate the database" in out
