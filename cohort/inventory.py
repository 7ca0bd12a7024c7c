"""What a cohort run read: per resource type, the lines seen, read, and skipped and why (the summary's input inventory).

Filled by the engines while they read the export (``cohort.run``, ``cohort.spark_engine``) and shown by the outputs
(``cohort.outputs``): a data engineer sees what went in, a clinician that nothing they rely on was left out.
Counts are NDJSON lines (one resource each); bytes are on-disk bytes of the files as read (compressed for
``.ndjson.gz``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TypeCount:
    """One resource type's lines in the export.

    ``lines``: non-empty lines of that type seen; ``read``: lines parsed and placed with a patient (or, for
    ``Medication``, kept as the formulary); ``skipped_type``: lines of a type the rules never read (not parsed);
    ``skipped_prefilter``: lines of a read type that the byte pre-filter proved the rules cannot use (not parsed).
    ``read + skipped_type + skipped_prefilter`` may be less than ``lines``: the rest were unreadable
    (``Inventory.bad_lines``), named no patient or another server's patient.
    """

    resource_type: str
    lines: int = 0
    read: int = 0
    skipped_type: int = 0
    skipped_prefilter: int = 0


@dataclass(frozen=True)
class Inventory:
    """The input inventory of a run.

    ``types``: per resource type, sorted by type (``"(unknown)"`` for lines whose type could not be told);
    ``files``: NDJSON files read; ``bytes_read``: their size in bytes; ``bad_lines``: unreadable or over-long lines;
    ``without_patient`` / ``other_server``: resources that name no patient / another server's patient;
    ``manifest_errors``: the Bulk Data manifest's ``error[]`` files, each as ``"<type> <url or path>: <n> issues"``
    (reported, never read as data); ``manifest_outputs``: the ``output[]`` entries the manifest listed.
    """

    types: tuple[TypeCount, ...] = ()
    files: int = 0
    bytes_read: int = 0
    bad_lines: int = 0
    without_patient: int = 0
    other_server: int = 0
    manifest_errors: tuple[str, ...] = ()
    manifest_outputs: int = 0
    notes: tuple[str, ...] = field(default=())
    """Anything else the reader wants the summary to say about the input (plain text, escaped when shown)."""
    files_skipped: tuple[tuple[str, int, int], ...] = ()
    """``(type, files, bytes)`` of files not opened because their type (manifest or name) is never read; their
    lines are not counted in ``types`` (a file is skipped unread: that is the point)."""

    @property
    def lines(self) -> int:
        """Every non-empty line seen, all types together."""
        return sum(t.lines for t in self.types)

    @property
    def skipped(self) -> int:
        """Lines not parsed because the rules cannot use them (by type or by the byte pre-filter)."""
        return sum(t.skipped_type + t.skipped_prefilter for t in self.types)


def merge_type_counts(counts: Iterable[TypeCount]) -> tuple[TypeCount, ...]:
    """Sum ``TypeCount`` s of the same type (from several files or Spark tasks); return them sorted by type."""
    merged: dict[str, list[int]] = {}
    for count in counts:
        totals = merged.setdefault(count.resource_type, [0, 0, 0, 0])
        totals[0] += count.lines
        totals[1] += count.read
        totals[2] += count.skipped_type
        totals[3] += count.skipped_prefilter
    return tuple(TypeCount(name, *totals) for name, totals in sorted(merged.items()))
