"""What a cohort run writes: the worklist CSV, one FHIR R4 ``GuidanceResponse`` per worklist patient, an HTML summary.

* ``worklist.csv``: one row per patient on the worklist, what is due first at the top
  (``cohort.evaluation.due_order``), with its ``display`` (``cohort.display``: the site's identifier or a keyed
  pseudonym) and ``action`` (``cohort.actions.action_column``: the page's grouping) last. Deceased patients and
  patients the guideline does not concern (``WorklistRow.on_worklist`` False) get no line: they are counted in the
  summary. Every cell quoted and safe from spreadsheet formula injection (``cohort.spreadsheet``: patient ids,
  displays and missing-data texts come from the export).
* ``guidance-responses.ndjson``: one FHIR R4 ``GuidanceResponse`` per patient on the worklist (status ``success``, or
  ``data-required`` with a ``dataRequirement`` for IgG, IgA and IgM when the decision needs them),
  ``moduleCanonical`` naming the guideline and its version, the decision and dates in a contained ``Parameters``
  referenced by ``outputParameters``. Its ``id`` and ``subject`` are FHIR-valid whatever the export's patient id
  (``cohort.ids``).
* ``summary.html``: the worklist page a clinician acts on (``cohort.worklist_html``).
* ``worklist.parquet`` (``cohort.parquet``, with pyarrow) and ``measure-report.json`` (``cohort.measure_report``): the
  worklist and the counts as a warehouse takes them.
* ``changes-since-previous.csv`` (``cohort.since``): what changed since the previous run, per patient, and why.
* ``changes.csv`` (compare runs): each patient whose recommendation, rule, population, dates or card would change
  under other interpretation settings, a line per changed field, with the settings behind the change (cells as in
  ``worklist.csv``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from cohort.actions import action_column
from cohort.display import pseudonym
from cohort.evaluation import DECEASED, NOT_RELEVANT, WorklistRow, changes
from cohort.ids import guidance_response_id as guidance_response_id  # re-exported: the id of a GuidanceResponse
from cohort.ids import subject_of
from cohort.spreadsheet import write_rows
from guideline.parameters import Parameters

MODULE = "urn:sid-igrt:guideline:medicinraadet-sid|1.1"
"""``GuidanceResponse.moduleCanonical``: the guideline this service implements, with its version (SID summary v1.1;
the full version text, addendum included, is the ``guidelineVersion`` output parameter)."""
LOINC = "http://loinc.org"
LAB_CODES = (("2465-3", "IgG"), ("2458-8", "IgA"), ("2472-9", "IgM"))
FIELDS = (
    "patient_id",
    "recommendation",
    "rule",
    "population",
    "t0",
    "window_end",
    "stop_due",
    "next_follow_up",
    "on_igrt",
    "patient_view_card",
)
"""The ``WorklistRow`` fields written as they are; ``missing_data`` follows them, then ``display`` and ``action``."""
COLUMNS = (*FIELDS, "missing_data", "display", "action")
"""``worklist.csv``'s columns: ``display`` (``cohort.display``) and ``action`` (``cohort.actions.action_column``) last,
so readers of the earlier columns by position are unaffected."""


def patient_counts(rows: Iterable[WorklistRow]) -> dict[str, int]:
    """Return the run's patient counts (the summary's, the CLI's and ``CohortResult.counts``).

    ``evaluated``; ``worklist`` (of whom ``card`` with a patient-view card); ``not-relevant`` and ``deceased`` (no
    worklist line, no ``GuidanceResponse``).
    """
    counts = dict.fromkeys(("evaluated", "worklist", "card", NOT_RELEVANT, DECEASED), 0)
    for row in rows:
        counts["evaluated"] += 1
        if row.on_worklist:
            counts["worklist"] += 1
            counts["card"] += row.patient_view_card
        else:
            counts[row.recommendation] += 1
    return counts


def write_worklist(rows: Iterable[WorklistRow], path: Path) -> None:
    """Write the worklist CSV (rows already in due order; those not on the worklist skipped); dates ISO, yes/no.

    Every cell is quoted and made safe for spreadsheets (``cohort.spreadsheet.safe_cell``: ``=HYPERLINK(...)`` is
    written ``'=HYPERLINK(...)``).
    """
    listed = (row for row in rows if row.on_worklist)
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_rows(
            handle,
            COLUMNS,
            (
                [
                    *(_cell(getattr(row, field)) for field in FIELDS),
                    "; ".join(row.missing),
                    row.display,
                    action_column(row),
                ]
                for row in listed
            ),
        )


def guidance_response(row: WorklistRow, *, as_of: date, guideline_version: str) -> dict[str, Any]:
    """Return the FHIR R4 ``GuidanceResponse`` of one patient's decision (a JSON-ready dict).

    ``id`` is ``cohort.ids.guidance_response_id`` and ``subject`` ``cohort.ids.subject_of`` of the patient id: a
    literal ``Patient/<id>`` for a FHIR id, a logical reference (``subject.identifier``) for any other.
    """
    parameters: list[dict[str, Any]] = [
        {"name": "recommendation", "valueCode": row.recommendation},
        {"name": "rule", "valueCode": row.rule},
        {"name": "onIgrt", "valueBoolean": row.on_igrt},
        {"name": "guidelineVersion", "valueString": guideline_version},
    ]
    if row.population is not None:
        parameters.append({"name": "population", "valueInteger": row.population})
    for name, value in (
        ("t0", row.t0),
        ("windowEnd", row.window_end),
        ("stopDue", row.stop_due),
        ("nextFollowUp", row.next_follow_up),
    ):
        if value is not None:
            parameters.append({"name": name, "valueDate": value.isoformat()})
    parameters += [{"name": "missingData", "valueString": text} for text in row.missing if text]
    response: dict[str, Any] = {
        "resourceType": "GuidanceResponse",
        "id": guidance_response_id(row.patient_id),
        "contained": [{"resourceType": "Parameters", "id": "decision", "parameter": parameters}],
        "moduleCanonical": MODULE,
        "status": "data-required" if row.recommendation == "insufficient-data" else "success",
        "subject": subject_of(row.patient_id),
        "occurrenceDateTime": as_of.isoformat(),
        "outputParameters": {"reference": "#decision"},
    }
    if row.order_lab_tests:
        response["dataRequirement"] = [
            {"type": "Observation", "codeFilter": [{"path": "code", "code": [{"system": LOINC, "code": code}]}]}
            for code, _ in LAB_CODES
        ]
    return response


def write_guidance_responses(rows: Iterable[WorklistRow], path: Path, *, as_of: date, version: str) -> None:
    """Write one ``GuidanceResponse`` per line, for the patients on the worklist (not the deceased, not relevant)."""
    with path.open("wb") as handle:
        for row in rows:
            if not row.on_worklist:
                continue
            handle.write(orjson.dumps(guidance_response(row, as_of=as_of, guideline_version=version)) + b"\n")


def compare_overrides(current: Parameters, other: Parameters) -> dict[str, tuple[Any, Any]]:
    """Return ``{setting: (current value, compared value)}`` for every setting the two parameter sets differ in."""
    mine, theirs = current.model_dump(), other.model_dump()
    return {name: (mine[name], theirs[name]) for name in mine if mine[name] != theirs[name]}


def write_changes(
    pairs: Iterable[tuple[WorklistRow, WorklistRow]],
    path: Path,
    *,
    label: str,
    overrides: Mapping[str, tuple[Any, Any]],
) -> None:
    """Write ``changes.csv``: one line per changed field of each patient whose decision would change.

    ``why`` names the changed settings the decision used (under either setting), else every changed setting. Cells
    as in ``write_worklist`` (quoted, spreadsheet-safe).
    """
    lines: list[list[str]] = []
    for current, other in pairs:
        changed = changes(current, other)
        if not changed:
            continue
        used = [name for name in overrides if name in current.interpretations or name in other.interpretations]
        why = "; ".join(f"{name}: {overrides[name][0]} -> {overrides[name][1]}" for name in used or overrides)
        lines += [[current.patient_id, field, _cell(before), _cell(after), why] for field, before, after in changed]
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_rows(handle, ("patient_id", "field", "current", f"with {label}".strip(), "why"), lines)


def with_pseudonyms(
    pairs: Iterable[tuple[WorklistRow, WorklistRow | None]], key: bytes
) -> list[tuple[WorklistRow, WorklistRow | None]]:
    """Return the pairs with every empty ``display`` set to ``cohort.display.pseudonym(patient_id, key)``."""
    shown: list[tuple[WorklistRow, WorklistRow | None]] = []
    for row, other in pairs:
        if not row.display:
            row = replace(row, display=pseudonym(row.patient_id, key))
        shown.append((row, other if other is None else replace(other, display=row.display)))
    return shown


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


@dataclass(frozen=True)
class OutputOptions:
    """What a caller tells the outputs beyond the rows (``cohort.run.run_cohort``'s ``output_options``).

    ``display_key``: the key of the display pseudonyms (``cohort.display``: the CLI passes ``CDS_AUDIT_HMAC_KEY``, else
    the output directory's own, ``cohort.display.load_or_create_key``), ``None`` for ``cohort.display.PUBLIC_KEY``
    (not secret); ``display_key_source``: where the key came from, for the page's run section; ``display_system``: the
    ``Patient.identifier.system`` the rows' displays came from (``--display-identifier``, named in the page's run
    section); ``evidence_pages``: the caller writes ``evidence/<id>.html`` after the run (``commands.worklist_pages``),
    so the page links each patient to it.
    """

    display_key: bytes | None = None
    display_key_source: str = ""
    display_system: str | None = None
    evidence_pages: bool = False
