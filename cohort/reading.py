"""One rule for every line of an export, in both engines: skip it unparsed, or parse it and say whose it is.

``classify`` takes one raw line (``cohort.bulk.split_lines``) and returns what it is (``Kind``): a line the rules
cannot use (``cohort.relevance.decide_bytes``: another type, or an Observation the pre-filter proves unused),
unreadable (``cohort.bulk.parse_line``), a ``Medication`` (the formulary), one of this export's patients' resources
(``Kept``: patient, type, id, bytes), or one that names no patient or another server's patient
(``cohort.export.Export.owner``). ``Tally`` counts them per type for the input inventory (``cohort.inventory``);
the local engine keeps one, each Spark task one, merged by the driver.

A resource's key in the run state (``cohort.state``) is ``(type, id)``; a resource without an id is keyed by a
digest of its bytes (``#sha1``), so the same line read again is the same resource.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from cohort.bulk import BadLine, parse_line, too_long
from cohort.export import Export
from cohort.inventory import TypeCount
from cohort.ownership import FOREIGN
from cohort.relevance import READ_TYPES, SKIP_TYPE, decide_bytes

Kind = Literal["blank", "bad", "skip", "medication", "patient", "orphan", "foreign"]
UNKNOWN_TYPE = "(unknown)"
"""The inventory's type for lines whose type could not be told (unreadable lines)."""


class Kept(NamedTuple):
    """A resource line kept for a patient: ``patient`` id, ``resource_type``, ``rid`` (id or ``#digest``), ``raw``.

    A named tuple, not a dataclass: one is made per kept line, hundreds of thousands a run, and a tuple is built in a
    fraction of a frozen dataclass's time.
    """

    patient: str
    resource_type: str
    rid: str
    raw: bytes


@dataclass
class Tally:
    """Per resource type: lines seen, parsed and placed (``read``), skipped by type, skipped by the pre-filter."""

    lines: Counter[str] = field(default_factory=Counter)
    read: Counter[str] = field(default_factory=Counter)
    skipped_type: Counter[str] = field(default_factory=Counter)
    skipped_prefilter: Counter[str] = field(default_factory=Counter)

    def merge(self, other: Tally) -> None:
        """Add another tally's counts (another file's, another task's)."""
        for mine, theirs in zip(self._counters(), other._counters(), strict=True):
            mine.update(theirs)

    def add_skips(self, skips: dict[tuple[str, str], int]) -> None:
        """Count lines skipped by their bytes: ``(reason, type) -> lines`` (``cohort.relevance.decide_bytes``)."""
        for (reason, kind), count in skips.items():
            self.lines[kind] += count
            (self.skipped_type if reason == SKIP_TYPE else self.skipped_prefilter)[kind] += count

    def _counters(self) -> tuple[Counter[str], ...]:
        return (self.lines, self.read, self.skipped_type, self.skipped_prefilter)

    def type_counts(self) -> list[TypeCount]:
        """The counts as ``TypeCount`` s, one per type seen."""
        return [
            TypeCount(kind, self.lines[kind], self.read[kind], self.skipped_type[kind], self.skipped_prefilter[kind])
            for kind in sorted(self.lines)
        ]


def resource_id(resource: dict[str, Any], raw: bytes) -> str:
    """A resource's id in the run state: its ``id``, or ``#`` and the SHA-1 of its bytes when it has none."""
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        return rid
    return "#" + hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def classify(
    export: Export, path: str, number: int, raw: bytes | None, tally: Tally, *, bytes_checked: bool = False
) -> tuple[Kind, Any]:
    """Classify one line of ``path`` (1-based ``number``; ``raw`` ``None``: longer than the export's limit).

    ``bytes_checked``: the caller has already found ``decide_bytes(raw)`` to keep the line (not tested again: it is
    most of a kept line's cost).

    Returns ``("blank", None)``, ``("skip", None)``, ``("bad", BadLine)``, ``("medication", ("Medication/id",
    resource))``, ``("patient", Kept)``, ``("orphan", None)`` (names no patient) or ``("foreign", None)`` (another
    server's patient); counts it in ``tally``.
    """
    if raw is not None and not bytes_checked:
        skipped, kind = decide_bytes(raw)
        if skipped is not None:
            tally.lines[kind] += 1
            (tally.skipped_type if skipped == SKIP_TYPE else tally.skipped_prefilter)[kind] += 1
            return "skip", None
    if raw is None:
        tally.lines[UNKNOWN_TYPE] += 1
        return "bad", too_long(path, number, export.max_line_bytes)
    item = parse_line(raw, path=path, number=number)
    if item is None:
        return "blank", None
    if isinstance(item, BadLine):
        tally.lines[UNKNOWN_TYPE] += 1
        return "bad", item
    resource, body = item
    kind = resource["resourceType"]
    tally.lines[kind] += 1
    if kind not in READ_TYPES:  # the bytes could not tell (an escape): the parse does
        tally.skipped_type[kind] += 1
        return "skip", None
    if kind == "Medication":
        tally.read[kind] += 1
        return "medication", (f"Medication/{resource.get('id')}", resource)
    patient = export.owner(resource)
    if patient is None:
        return "orphan", None
    if patient is FOREIGN:
        return "foreign", None
    tally.read[kind] += 1
    return "patient", Kept(patient, kind, resource_id(resource, body), body)
