"""Reading FHIR Bulk Data NDJSON (one resource per line), as ``$export`` writes it.

Both layouts: one or more files per resource type in one directory (``Observation.ndjson``, ``Observation_2.ndjson``
...), and the patient-organised layout (a directory per patient). Every ``*.ndjson`` file below the input directory
is read, line by line. A line that is not a JSON object with a ``resourceType`` is a ``BadLine`` (file and line
number), reported and skipped: nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fhir_mappers.references import reference_key


@dataclass(frozen=True)
class BadLine:
    """A line that could not be read: ``path`` and 1-based ``line`` in it, and why."""

    path: str
    line: int
    reason: str


@dataclass(frozen=True)
class Line:
    """One resource line: the parsed resource and its raw bytes (stored as they are, parsed again per patient)."""

    resource: dict[str, Any]
    raw: bytes


def ndjson_files(directory: Path) -> list[Path]:
    """Return every ``*.ndjson`` file below ``directory``, sorted (stable order, reproducible output).

    Raises:
        FileNotFoundError: ``directory`` does not exist or holds no NDJSON file.
    """
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory")
    files = sorted(path for path in directory.rglob("*.ndjson") if path.is_file())
    if not files:
        raise FileNotFoundError(f"no *.ndjson files below {directory}")
    return files


def read_lines(path: Path, *, root: Path) -> Iterator[Line | BadLine]:
    """Yield each non-empty line of one NDJSON file as a ``Line`` or a ``BadLine`` (named relative to ``root``)."""
    name = str(path.relative_to(root))
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            item = parse_line(raw, path=name, number=number)
            if item is not None:
                yield item


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


def patient_of(resource: dict[str, Any]) -> str | None:
    """Return the id of the patient a resource belongs to (``Patient.id``, or ``subject`` / ``patient``), else None.

    The reference is read as the mappers read it (``fhir_mappers.references.reference_key``: relative, absolute or
    versioned), so a resource grouped under a patient is one ``summarize`` accepts for that patient.
    """
    if resource.get("resourceType") == "Patient":
        value = resource.get("id")
        return value if isinstance(value, str) and value else None
    key = reference_key(resource.get("subject") or resource.get("patient"))
    if key is None or not key.startswith("Patient/"):
        return None
    return key.removeprefix("Patient/") or None
