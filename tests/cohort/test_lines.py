"""NDJSON lines read with a length limit, whole or by byte ranges (issue 29 §4).

The limit counts a line's bytes without its ``\\n`` (a ``\\r`` before it counts); a longer line is a ``BadLine``
("longer than N bytes"), and the lines after it keep their numbers. Reading a file in byte ranges (the Spark engine's
tasks) gives the same lines as reading it whole, wherever the ranges are cut.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from cohort.bulk import BadLine, Line, block_lines, line_blocks, read_lines, split_lines, too_long

CAP = 10


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"a" * 9 + b"\n", [b"a" * 9 + b"\n"]),
        (b"a" * 10 + b"\n", [b"a" * 10 + b"\n"]),  # exactly the limit
        (b"a" * 11 + b"\n", [None]),  # one byte over
        (b"a" * 9 + b"\r\n", [b"a" * 9 + b"\r\n"]),  # the CR counts: 10
        (b"a" * 10 + b"\r\n", [None]),  # 11 with the CR
        (b"a" * 10, [b"a" * 10]),  # the last line, no newline: the limit
        (b"a" * 11, [None]),
        (b"a" * 100 + b"\nok\n", [None, b"ok\n"]),  # the next line keeps its place
        (b"\n\n", [b"\n", b"\n"]),  # blank lines are lines
        (b"", []),
        (b"a" * 11 + b"\n" + b"b" * 11 + b"\nc", [None, None, b"c"]),
    ],
)
def test_the_limit_at_its_boundary(data: bytes, lines: list[bytes | None]) -> None:
    assert list(split_lines(io.BytesIO(data), max_line_bytes=CAP)) == lines


def test_an_over_long_line_is_read_past_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most the limit plus one byte of the long line is asked for at once; the rest in ``DISCARD_CHUNK`` pieces."""
    monkeypatch.setattr("cohort.bulk.DISCARD_CHUNK", 7)
    asked: list[int] = []

    class Recording(io.BytesIO):
        def readline(self, size: int | None = -1) -> bytes:
            asked.append(-1 if size is None else size)
            return super().readline(size)

    lines = list(split_lines(Recording(b"x" * 100 + b"\nok\n"), max_line_bytes=CAP))
    assert lines == [None, b"ok\n"]
    assert max(asked) == CAP + 1 and -1 not in asked and asked.count(7) == 13  # 89 bytes and the newline, 7 at a time


def test_read_lines_names_the_long_line(tmp_path: Path) -> None:
    path = tmp_path / "Observation.ndjson"
    path.write_bytes(
        b'{"resourceType":"Patient","id":"p1"}\n' + b"x" * 50 + b'\n{"resourceType":"Patient","id":"p2"}\n'
    )
    items = list(read_lines(path, root=tmp_path, max_line_bytes=40))
    assert [type(item) for item in items] == [Line, BadLine, Line]
    assert items[1] == too_long("Observation.ndjson", 2, 40)
    assert str(items[1]) == "line 2 of Observation.ndjson: longer than 40 bytes (--max-line-bytes), skipped"


def _ranges(data: bytes, split: int, cap: int) -> list[bytes | None]:
    """Read ``data`` range by range, as the Spark engine's tasks do, and join what each range yields."""
    handle = io.BytesIO(data)
    found: list[bytes | None] = []
    for start in range(0, max(len(data), 1), split):
        found += split_lines(handle, max_line_bytes=cap, start=start, end=min(start + split, len(data)))
    return found


@pytest.mark.parametrize("seed", range(40))
def test_ranges_give_the_lines_of_the_whole_file(seed: int) -> None:
    """Random lines (blank, short, at and over the limit, CRLF, no final newline), cut at random range sizes."""
    chance = random.Random(seed)
    lines = []
    for _ in range(chance.randint(0, 30)):
        length = chance.choice([0, 1, CAP - 1, CAP, CAP + 1, chance.randint(0, 5 * CAP)])
        lines.append(b"y" * length + chance.choice([b"\n", b"\r\n"]))
    data = b"".join(lines)
    if data and chance.random() < 0.5:
        data = data.rstrip(b"\n")  # the last line without a newline
    whole = list(split_lines(io.BytesIO(data), max_line_bytes=CAP))
    assert len(whole) == data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
    for split in sorted({1, 2, 3, CAP, CAP + 1, chance.randint(1, 4 * CAP), max(len(data), 1)}):
        assert _ranges(data, split, CAP) == whole, split


def test_a_range_reads_little_past_its_end_however_long_the_line() -> None:
    """A 10,000-byte line cut into 100-byte ranges: each range stops near its end (not at the line's), so the file is
    read about once in all, not once per range."""
    data = b"a\n" + b"x" * 10_000 + b"\nb\n"
    handle = io.BytesIO(data)
    found: list[bytes | None] = []
    for start in range(0, len(data), 100):
        end = min(start + 100, len(data))
        found += split_lines(handle, max_line_bytes=CAP, start=start, end=end)
        assert handle.tell() <= end + CAP + 1, (start, handle.tell())
    assert found == [b"a\n", None, b"b\n"]


@pytest.mark.parametrize("seed", range(40))
def test_block_reading_gives_the_lines_of_line_reading(seed: int) -> None:
    """``block_lines`` (the local engine's reader) yields what ``split_lines`` yields, however blocks fall."""
    rng = random.Random(seed)
    pieces = [b"a" * rng.choice([0, 1, 5, 9, 10, 11, 12, 30]) + rng.choice([b"\n", b"\r\n", b""]) for _ in range(30)]
    data = b"".join(pieces)
    expected = list(split_lines(io.BytesIO(data), max_line_bytes=CAP))
    for block in (1, 2, 3, 7, 10, 11, 64, 1 << 20):
        assert list(block_lines(io.BytesIO(data), max_line_bytes=CAP, block_bytes=block)) == expected, block


@pytest.mark.parametrize("seed", range(20))
def test_runs_of_lines_hold_whole_lines_within_the_limit(seed: int) -> None:
    """``line_blocks``: every run is whole lines (each ending in its newline, but the file's last), none too long."""
    rng = random.Random(seed)
    pieces = [b"a" * rng.choice([0, 1, 5, 9, 10, 11, 12, 30]) + rng.choice([b"\n", b"\r\n", b""]) for _ in range(30)]
    data = b"".join(pieces)
    for block in (1, 2, 3, 7, 10, 11, 64, 1 << 20):
        runs = list(line_blocks(io.BytesIO(data), max_line_bytes=CAP, block_bytes=block))
        for index, run in enumerate(runs):
            if run is None:
                continue
            lines = run.split(b"\n")
            assert all(len(line) <= CAP for line in lines), (block, run)
            if index < len(runs) - 1:
                assert run.endswith(b"\n"), (block, run)  # only the file's last line may lack its newline
