"""Reading FHIR Bulk Data NDJSON (one resource per line), as ``$export`` writes it, never holding more than a line.

Both layouts: one or more files per resource type in one directory (``Observation.ndjson``, ``Observation_2.ndjson``
...), and the patient-organised layout (a directory per patient). Every ``*.ndjson`` file below the input directory
is read, line by line. A line that is not a JSON object with a ``resourceType`` is a ``BadLine`` (file and line
number), reported and skipped: nothing is dropped silently.

**Line length.** A line longer than ``max_line_bytes`` (``DEFAULT_MAX_LINE_BYTES``, 16 MiB; ``cds-service cohort
--max-line-bytes``) is a ``BadLine`` too ("longer than N bytes"), read past in 1 MiB pieces and never held: the
reader holds at most the limit plus one byte of a line (``split_lines``: ``readline(limit)``, then the rest of an
over-long line read and dropped). Before, a 300 MiB line cost the run 1.3 GB (the line, its copy, the parsed
string). Why 16 MiB: the largest lines of real exports are DocumentReference or Binary resources carrying a file
inline as base64 (``attachment.data``, a third larger than the file): scanned letters and reports of a few MB. 16 MiB
admits a 12 MB attachment and keeps a line's worst cost (the bytes, their copy, the parsed string: about 4x the
line) near 64 MB.

**Compression.** ``.ndjson.gz`` files (and any file that starts with the gzip magic bytes, whatever its name: a
client may keep a server's gzip answer under ``.ndjson``) are read through ``gzip``, streamed: never decompressed
whole, on disk or in memory.

**Ranges.** ``split_lines`` reads the lines that *start* in a byte range of a file (Hadoop's rule for splits), so the
Spark engine reads one file in several tasks by the same code (``cohort.spark_engine``); a range's lines are
numbered from 1 and the caller adds the lines of the ranges before it.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple, cast

import orjson

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
"""The longest NDJSON line read, in bytes (its line break not counted): 16 MiB (see the module docstring)."""
DISCARD_CHUNK = 1024 * 1024
"""Bytes read at a time past the limit of an over-long line (read and dropped)."""
SUFFIXES = (".ndjson", ".ndjson.gz")
"""The file names read as NDJSON (``.ndjson.gz``: gzip-compressed)."""
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class BadLine:
    """A line that could not be read: ``path`` and 1-based ``line`` in it, and why.

    ``str()`` gives the report's wording: ``line 7 of Observation.ndjson: not JSON (...)``.
    """

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line} of {self.path}: {self.reason}"


class Line(NamedTuple):
    """One resource line: the parsed resource and its raw bytes (stored as they are, parsed again per patient).

    A named tuple, not a dataclass: one is made per line read, hundreds of thousands a run.
    """

    resource: dict[str, Any]
    raw: bytes


def too_long(path: str, number: int, max_line_bytes: int) -> BadLine:
    """Return the ``BadLine`` of an over-long line: ``longer than N bytes (--max-line-bytes), skipped``."""
    return BadLine(path, number, f"longer than {max_line_bytes} bytes (--max-line-bytes), skipped")


def ndjson_files(directory: Path) -> list[Path]:
    """Return every ``*.ndjson`` and ``*.ndjson.gz`` file below ``directory``, sorted (stable order).

    Raises:
        FileNotFoundError: ``directory`` does not exist or holds no NDJSON file.
    """
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory")
    files = sorted(path for path in directory.rglob("*") if path.name.endswith(SUFFIXES) and path.is_file())
    if not files:
        raise FileNotFoundError(f"no *.ndjson or *.ndjson.gz files below {directory}")
    return files


def is_gzip(path: Path) -> bool:
    """Whether a file is gzip-compressed (its first two bytes are gzip's magic number), whatever its name."""
    with path.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def open_ndjson(path: Path) -> IO[bytes]:
    """Open an NDJSON file for reading bytes, decompressing it as it is read when it is gzip (``is_gzip``)."""
    if is_gzip(path):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def read_lines(path: Path, *, root: Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Line | BadLine]:
    """Yield each non-empty line of one NDJSON file as a ``Line`` or a ``BadLine`` (named relative to ``root``).

    A line longer than ``max_line_bytes`` is a ``BadLine`` (``too_long``), never held whole.
    """
    name = str(path.relative_to(root))
    with open_ndjson(path) as handle:
        for number, raw in enumerate(split_lines(handle, max_line_bytes=max_line_bytes), start=1):
            item = too_long(name, number, max_line_bytes) if raw is None else parse_line(raw, path=name, number=number)
            if item is not None:
                yield item


def split_lines(
    handle: IO[bytes], *, max_line_bytes: int, start: int = 0, end: int | None = None
) -> Iterator[bytes | None]:
    r"""Yield each line of ``handle`` that starts at a byte offset in ``[start, end)``: its bytes, or ``None`` if long.

    Args:
        handle: a file opened in binary mode (seekable when ``start`` > 0).
        max_line_bytes: the longest line yielded, in bytes, its ``\n`` not counted (a ``\r`` before it is).
            A longer line yields ``None``: at most ``max_line_bytes + 1`` of its bytes are ever held, the rest is
            read in ``DISCARD_CHUNK`` pieces and dropped.
        start: the first byte of the range. A line starts at 0 or after a ``\n``; one that began before ``start``
            belongs to the range before (it is read past, in pieces).
        end: the byte after the range (``None``: the end of the file). The last line may run past it.

    Every line starting in the range is yielded (blank ones too), in order: the k-th yield is the range's k-th line.
    """
    if start > 0:
        handle.seek(start - 1)
        skipped = _read_past_line(handle, None if end is None else end - start)
        if skipped is None:  # the line holding byte start-1 runs past the range: no line starts in it
            return
        position = start - 1 + skipped
    else:
        handle.seek(0)
        position = 0
    while end is None or position < end:
        raw = handle.readline(max_line_bytes + 1)
        if not raw:
            return
        position += len(raw)
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            yield None
            rest = _read_past_line(handle, None if end is None else max(end - position, 0))
            if rest is None:  # it runs past the range: no other line starts in it
                return
            position += rest
        else:
            yield raw


BLOCK_BYTES = 256 * 1024
"""Bytes read at a time by ``line_blocks`` (and ``block_lines``): small enough that a run and its copies stay in a
core's L2 cache through the several searches made over it (1 MiB was 10-25% slower to read and judge here)."""


def line_blocks(handle: IO[bytes], *, max_line_bytes: int, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes | None]:
    r"""Yield a whole file as runs of lines: ``bytes`` holding one or more whole lines, or ``None`` for a long line.

    Joined in order, the runs are the file's lines exactly as ``split_lines(handle, max_line_bytes=...)`` yields them
    (``block_lines`` splits them again): every line of a run ends in its ``\n`` (the file's last line may lack one)
    and is at most ``max_line_bytes`` long, its ``\n`` not counted; a longer line is one ``None``, dropped as it is
    read, never held. Read ``block_bytes`` at a time (``handle.read``, no call per line): so a caller can judge many
    lines with a few searches over their joined bytes (``cohort.relevance.block_to_judge``) instead of a call each.
    Holds at most a block and ``max_line_bytes + 1`` bytes of an unfinished line.
    """
    carry = b""
    over = False  # the unfinished line is already longer than the limit: its bytes are dropped until its end
    while chunk := handle.read(block_bytes):
        if over:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            over = False
            yield None
            chunk = chunk[newline + 1 :]
        cut = chunk.rfind(b"\n")
        if cut < 0:
            carry += chunk
        else:
            run = carry + chunk[: cut + 1] if carry else chunk[: cut + 1]
            carry = chunk[cut + 1 :]
            if len(run) - 1 > max_line_bytes:  # a line of it may be over the limit: look at each (small limits only)
                yield from _within_limit(run, max_line_bytes)
            else:
                yield run
        if len(carry) > max_line_bytes:
            over, carry = True, b""
    if over:
        yield None
    elif carry:
        yield carry


def _within_limit(run: bytes, max_line_bytes: int) -> Iterator[bytes | None]:
    """``run`` (whole lines, each ending in a newline) cut into runs of lines within the limit and ``None`` s."""
    lines: list[bytes] = []
    for line in lines_of(run):
        if len(line) - 1 > max_line_bytes:
            if lines:
                yield b"".join(lines)
                lines = []
            yield None
        else:
            lines.append(line)
    if lines:
        yield b"".join(lines)


def lines_of(run: bytes) -> list[bytes]:
    r"""The lines of one of ``line_blocks``' runs, each with its ``\n`` (the last without, if the run lacks one)."""
    parts = run.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def block_lines(handle: IO[bytes], *, max_line_bytes: int, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes | None]:
    r"""Yield the lines of a whole file exactly as ``split_lines(handle, max_line_bytes=...)`` does, read in blocks.

    The same lines (their ``\n`` kept, ``None`` for a line longer than ``max_line_bytes``): ``line_blocks``' runs cut
    with ``bytes.split``, no call per line into the file object (for gzip, a Python-level ``readline`` per line was
    a third of reading's time). ``tests/cohort/test_lines.py`` compares both, however blocks fall.
    """
    for run in line_blocks(handle, max_line_bytes=max_line_bytes, block_bytes=block_bytes):
        if run is None:
            yield None
        else:
            yield from lines_of(run)


def _read_past_line(handle: IO[bytes], budget: int | None = None) -> int | None:
    r"""Read to just after the next ``\n`` (or the end of the file) in ``DISCARD_CHUNK`` pieces; return bytes read.

    With a ``budget``, read at most that many bytes: ``None`` when they hold no ``\n`` (the line goes on past them).
    A range never reads much past its end, however long the line it starts or ends in.
    """
    read = 0
    while budget is None or read < budget:
        chunk = handle.readline(DISCARD_CHUNK if budget is None else min(DISCARD_CHUNK, budget - read))
        if not chunk or chunk.endswith(b"\n"):
            return read + len(chunk)
        read += len(chunk)
    return None


def parse_line(raw: bytes, *, path: str, number: int) -> Line | BadLine | None:
    """Read one line of ``path``: a ``Line``, a ``BadLine`` (why, with file and 1-based line), or ``None`` if blank.

    The one rule both engines read lines by (``read_lines`` here, ``cohort.spark_engine`` on Spark).
    """
    raw = raw.strip()
    if not raw:
        return None
    try:
        resource = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return BadLine(path, number, f"not JSON ({error.msg})")
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return BadLine(path, number, "not a FHIR resource (no resourceType)")
    return Line(resource, raw)
