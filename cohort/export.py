"""A Bulk Data export on disk and the rules it is read by: its files, its longest line, its own server's base.

``open_export`` gives an ``Export``: the directory, the line limit (``cohort.bulk.DEFAULT_MAX_LINE_BYTES`` unless
given) and the server base that tells this export's patients from another server's (``cohort.ownership``). Both
engines and the evidence pages read through one ``Export``, so every line is placed alike.

**The manifest.** A Bulk Data export is kept with its manifest as ``manifest.json`` (the body of the export's final
status answer; FHIR Bulk Data Access 2.0, "Response - Complete Status"). When there is one:

* the files read are exactly its ``output[]`` items (``ExportFile``: ``url`` a path relative to the directory, as
  ``cds-service cohort --from-fhir`` keeps it, or the server's URL, then the file of that name in the directory),
  each with the resource ``type`` the manifest gives it. A listed file that is missing stops the run
  (``ExportError``): a partial download is not a population. A file the manifest does not list (a bulk client's
  ``log.ndjson``, an earlier download) is not read as data: it is named in ``Export.unlisted``;
* ``error[]`` items (OperationOutcome files: what the server could not export) are reported, never read as data
  (``Export.error_summaries``: their lines counted);
* ``deleted[]`` items (Bundles of ``DELETE`` requests: resources deleted since ``_since``) are read by
  ``Export.deleted``, for an incremental run (``cohort.state``) to remove those resources;
* ``request`` gives the server's base (unless ``--fhir-base`` is given).

Without a manifest, every ``*.ndjson`` and ``*.ndjson.gz`` below the directory is read, its type told by its name
when it is named by type (``cohort.relevance.file_type``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from cohort.bulk import DEFAULT_MAX_LINE_BYTES, BadLine, Line, ndjson_files, open_ndjson, read_lines, split_lines
from cohort.ownership import Foreign, base_of_request, patient_of, server_base
from cohort.relevance import file_type

MANIFEST = "manifest.json"
"""The Bulk Data manifest's file name, directly in the export directory."""
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
"""The largest ``manifest.json`` read (a manifest lists the output files' URLs: thousands of files are a few MB)."""


class ExportError(ValueError):
    """The export cannot be read as given: ``--max-line-bytes``, ``--fhir-base`` or ``manifest.json``, and why."""


@dataclass(frozen=True)
class ExportFile:
    """One file of the export: its path and the resource type its manifest item or name gives it (or ``None``)."""

    path: Path
    resource_type: str | None


@dataclass(frozen=True)
class ManifestItem:
    """An ``error[]`` or ``deleted[]`` item of the manifest: its ``type``, its ``url`` as written, the local file."""

    resource_type: str
    url: str
    path: Path | None


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
    outputs: tuple[ExportFile, ...] | None = None
    """The manifest's ``output[]`` files, or ``None`` without a manifest (then every NDJSON file is read)."""
    errors: tuple[ManifestItem, ...] = ()
    deleted_items: tuple[ManifestItem, ...] = ()
    unlisted: tuple[str, ...] = field(default=())
    """NDJSON files in the directory that a manifest does not list as output: not read (names relative to it)."""

    def inputs(self) -> list[ExportFile]:
        """The files to read as data, with their types when known (see the module docstring).

        Raises:
            FileNotFoundError: no manifest and no NDJSON file (``cohort.bulk.ndjson_files``).
        """
        if self.outputs is not None:
            return list(self.outputs)
        return [ExportFile(path, file_type(path.name)) for path in ndjson_files(self.directory)]

    def files(self) -> list[Path]:
        """The paths of ``inputs``, in their order (raises as it does)."""
        return [item.path for item in self.inputs()]

    def error_summaries(self) -> tuple[str, ...]:
        """Each ``error[]`` item as ``"<type> <url>: <n> issues"`` (lines of its file; ``not downloaded`` if absent)."""
        summaries = []
        for item in self.errors:
            if item.path is None or not item.path.is_file():
                summaries.append(f"{item.resource_type} {item.url}: not downloaded")
                continue
            with open_ndjson(item.path) as handle:
                count = sum(
                    1 for raw in split_lines(handle, max_line_bytes=self.max_line_bytes) if raw is None or raw.strip()
                )
            summaries.append(f"{item.resource_type} {item.url}: {count} issues")
        return tuple(summaries)

    def deleted(self) -> list[tuple[str, str]]:
        """``(type, id)`` of every resource the ``deleted[]`` Bundles name (``request.url`` ``Type/id``), in order.

        Entries that are not a ``DELETE`` of ``Type/id`` are ignored; absent files give nothing (they are reported
        by ``missing_deleted``).
        """
        found: list[tuple[str, str]] = []
        for item in self.deleted_items:
            if item.path is None or not item.path.is_file():
                continue
            for line in read_lines(item.path, root=self.directory, max_line_bytes=self.max_line_bytes):
                if isinstance(line, Line):
                    found.extend(_deletions(line.resource))
        return found

    def missing_deleted(self) -> tuple[str, ...]:
        """The ``deleted[]`` items whose file is not in the directory (their deletions cannot be applied)."""
        return tuple(item.url for item in self.deleted_items if item.path is None or not item.path.is_file())

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
    base: str | None = None
    base_from = ""
    if fhir_base is not None:
        base = server_base(fhir_base)
        if base is None:
            raise ExportError(f"--fhir-base {fhir_base!r}: an http or https URL is expected")
        base_from = "--fhir-base"
    path = directory / MANIFEST
    if not path.is_file():
        return Export(directory, base, max_line_bytes, base_from)
    manifest = _read_manifest(path)
    if base is None:
        base, base_from = _manifest_base(path, manifest), MANIFEST
    outputs = tuple(
        ExportFile(_local(directory, item, path, required=True) or directory, item["type"])
        for item in _items(manifest, "output", path)
    )
    errors, deleted = (
        tuple(
            ManifestItem(item["type"], item["url"], _local(directory, item, path, required=False))
            for item in _items(manifest, section, path)
        )
        for section in ("error", "deleted")
    )
    # error[] and deleted[] files are reported as such; "unlisted" is what the manifest does not name at all.
    listed = {file.path.resolve() for file in outputs} | {
        item.path.resolve() for item in (*errors, *deleted) if item.path is not None
    }
    unlisted = tuple(
        str(p.relative_to(directory))
        for p in sorted(directory.rglob("*"))
        if p.name.endswith((".ndjson", ".ndjson.gz")) and p.is_file() and p.resolve() not in listed
    )
    return Export(directory, base, max_line_bytes, base_from, outputs, errors, deleted, unlisted)


def _read_manifest(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ExportError(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes, not read")
    try:
        manifest = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise ExportError(f"{path}: not JSON ({error.msg})") from error
    if not isinstance(manifest, dict):
        raise ExportError(f"{path}: not a Bulk Data manifest (not a JSON object)")
    return manifest


def _manifest_base(path: Path, manifest: dict[str, Any]) -> str:
    request = manifest.get("request")
    base = base_of_request(request) if isinstance(request, str) else None
    if base is None:
        raise ExportError(f"{path}: not a Bulk Data manifest (its request is not a $export kick-off URL)")
    return base


def _items(manifest: dict[str, Any], section: str, path: Path) -> list[dict[str, str]]:
    """The items of ``output``, ``error`` or ``deleted`` (absent: none), each with a string ``type`` and ``url``."""
    items = manifest.get(section, [])
    if not isinstance(items, list):
        raise ExportError(f"{path}: its {section} is not an array")
    for index, item in enumerate(items):
        if not (isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get("url"), str)):
            raise ExportError(f"{path}: {section}[{index}] has no type and url")
    return items


def _local(directory: Path, item: dict[str, str], manifest: Path, *, required: bool) -> Path | None:
    """The file a manifest item names in ``directory``: its relative path, or the last segment of its URL.

    Raises:
        ExportError: a path outside the directory; with ``required``, a file that is not there.
    """
    url = item["url"]
    parts = urlsplit(url)
    relative = unquote(parts.path.rsplit("/", 1)[-1]) if parts.scheme else url
    candidate = directory / relative
    if not candidate.resolve().is_relative_to(directory.resolve()):
        raise ExportError(f"{manifest}: {url!r} is outside the export directory")
    if not candidate.is_file():
        if required:
            raise ExportError(f"{manifest} lists {url} ({item['type']}), which is not in {directory}: a partial "
                              "download is not read")  # fmt: skip
        return None
    return candidate


def _deletions(bundle: dict[str, Any]) -> list[tuple[str, str]]:
    """``(type, id)`` of each ``DELETE Type/id`` entry of a ``deleted[]`` Bundle."""
    found = []
    entries = bundle.get("entry") if bundle.get("resourceType") == "Bundle" else None
    for entry in entries if isinstance(entries, list) else []:
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or str(request.get("method", "")).upper() != "DELETE":
            continue
        url = request.get("url")
        kind, _, rid = url.split("?")[0].strip("/").rpartition("/") if isinstance(url, str) else ("", "", "")
        kind = kind.rsplit("/", 1)[-1]
        if kind and rid:
            found.append((kind, rid))
    return found
