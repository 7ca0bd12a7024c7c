"""A Bulk Data export on disk and the rules it is read by: its files, its longest line, its own server's base.

``open_export`` gives an ``Export``: the directory (its ``*.ndjson`` files, ``cohort.bulk``), the line limit
(``cohort.bulk.DEFAULT_MAX_LINE_BYTES`` unless given) and the server base that tells this export's patients from
another server's (``cohort.ownership``). The base is ``--fhir-base`` when given, else the ``request`` of the Bulk Data
manifest kept with the files as ``manifest.json`` (the body of the export's final status answer: ``transactionTime``,
``request``, ``output`` ...; FHIR Bulk Data Access 2.0, "Response - Complete Status"), else unknown: then every
absolute reference is another server's. Both engines and the evidence pages read through one ``Export``, so every
line is placed alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cohort.bulk import DEFAULT_MAX_LINE_BYTES, BadLine, Line, ndjson_files, read_lines
from cohort.ownership import Foreign, base_of_request, patient_of, server_base

MANIFEST = "manifest.json"
"""The Bulk Data manifest's file name, directly in the export directory."""
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
"""The largest ``manifest.json`` read (a manifest lists the output files' URLs: thousands of files are a few MB)."""


class ExportError(ValueError):
    """The export cannot be read as given: ``--max-line-bytes``, ``--fhir-base`` or ``manifest.json``, and why."""


@dataclass(frozen=True)
class Export:
    """A Bulk Data export directory and how it is read.

    ``base``: this export's server base in ``cohort.ownership.server_base`` form, or ``None`` (unknown);
    ``base_from``: where it came from (``--fhir-base``, ``manifest.json``, or ``""``).
    ``max_line_bytes``: the longest line read, in bytes (longer lines are ``BadLine`` s, never held).
    """

    directory: Path
    base: str | None = None
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    base_from: str = ""

    def files(self) -> list[Path]:
        """Every ``*.ndjson`` file below the directory, sorted (``cohort.bulk.ndjson_files``; raises as it does)."""
        return ndjson_files(self.directory)

    def name(self, path: Path) -> str:
        """A file's name in reports: its path relative to the export directory."""
        return str(path.relative_to(self.directory))

    def lines(self, path: Path) -> Iterator[Line | BadLine]:
        """Each non-empty line of one of the files (``cohort.bulk.read_lines`` with this export's line limit)."""
        return read_lines(path, root=self.directory, max_line_bytes=self.max_line_bytes)

    def owner(self, resource: dict[str, Any]) -> str | Foreign | None:
        """This export's patient a resource belongs to, ``FOREIGN``, or ``None`` (``cohort.ownership.patient_of``)."""
        return patient_of(resource, base=self.base)

    def describe_base(self) -> str:
        """The base for a report: ``https://ehr.example/fhir (manifest.json)``, or why it is unknown."""
        if self.base is None:
            return f"unknown: no {MANIFEST} in the export and no --fhir-base"
        return f"{self.base} ({self.base_from})"


def open_export(
    directory: Path, *, fhir_base: str | None = None, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Export:
    """Return the ``Export`` in ``directory``: its base from ``fhir_base``, else its ``manifest.json``, else none.

    Raises:
        ExportError: ``max_line_bytes`` below 1; ``fhir_base`` not an http(s) URL; a ``manifest.json`` that is not
            a JSON object whose ``request`` is a Bulk Data kick-off URL (a manifest must have one), or larger than
            ``MAX_MANIFEST_BYTES``. Whether the directory holds NDJSON files is checked when they are listed
            (``Export.files``).
    """
    if max_line_bytes < 1:
        raise ExportError(f"--max-line-bytes {max_line_bytes}: a number of bytes of at least 1 is expected")
    if fhir_base is not None:
        base = server_base(fhir_base)
        if base is None:
            raise ExportError(f"--fhir-base {fhir_base!r}: an http or https URL is expected")
        return Export(directory, base, max_line_bytes, "--fhir-base")
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return Export(directory, None, max_line_bytes)
    return Export(directory, _manifest_base(manifest), max_line_bytes, MANIFEST)


def _manifest_base(path: Path) -> str:
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ExportError(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes, not read")
    try:
        manifest = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise ExportError(f"{path}: not JSON ({error.msg})") from error
    request = manifest.get("request") if isinstance(manifest, dict) else None
    base = base_of_request(request) if isinstance(request, str) else None
    if base is None:
        raise ExportError(f"{path}: not a Bulk Data manifest (its request is not a $export kick-off URL)")
    return base
