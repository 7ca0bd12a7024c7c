"""What a cohort run writes: the worklist CSV, one FHIR R4 ``GuidanceResponse`` per worklist patient, an HTML summary.

* ``worklist.csv``: one row per patient on the worklist, what is due first at the top
  (``cohort.evaluation.due_order``). Deceased patients and patients the guideline does not concern
  (``WorklistRow.on_worklist`` False) get no line: they are counted in the summary. Every cell quoted and safe from
  spreadsheet formula injection (``cohort.spreadsheet``: patient ids and missing-data texts come from the export).
* ``guidance-responses.ndjson``: one FHIR R4 ``GuidanceResponse`` per patient on the worklist (status ``success``, or
  ``data-required`` with a ``dataRequirement`` for IgG, IgA and IgM when the decision needs them),
  ``moduleCanonical`` naming the guideline and its version, the decision and dates in a contained ``Parameters``
  referenced by ``outputParameters``. Its ``id`` and ``subject`` are FHIR-valid whatever the export's patient id
  (``cohort.ids``).
* ``summary.html``: self-contained (inline SVG, no scripts, nothing fetched): the patients evaluated, on the worklist,
  not relevant and deceased (``patient_counts``), patients per recommendation and population, stop-due dates per
  month over the coming 12 months, the resources not evaluated (no patient, another server's patient), the
  unreadable lines (over-long ones included).
* ``changes.csv`` (compare runs): each patient whose recommendation, rule, population, dates or card would change
  under other interpretation settings, a line per changed field, with the settings behind the change (cells as in
  ``worklist.csv``).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from cohort.bulk import BadLine
from cohort.evaluation import DECEASED, NOT_RELEVANT, WorklistRow, changes
from cohort.ids import guidance_response_id as guidance_response_id  # re-exported: the id of a GuidanceResponse
from cohort.ids import subject_of
from cohort.spreadsheet import write_rows
from guideline.calendar import add_calendar_months
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
"""The ``WorklistRow`` fields written as they are; ``missing_data`` follows them."""
COLUMNS = (*FIELDS, "missing_data")


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
            ([*(_cell(getattr(row, field)) for field in FIELDS), "; ".join(row.missing)] for row in listed),
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


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def write_summary(
    rows: Sequence[WorklistRow],
    bad_lines: Sequence[BadLine],
    path: Path,
    *,
    as_of: date,
    version: str,
    changed: int | None = None,
    without_patient: int = 0,
    other_server: int = 0,
) -> None:
    """Write the self-contained HTML summary (see the module docstring); ``changed``: patients a compare changed.

    ``rows``: every patient evaluated (those not on the worklist are counted, not charted); ``bad_lines``: the
    unreadable and over-long lines (the first 200 listed); ``without_patient`` and ``other_server``: resources not
    evaluated because they name no patient, or a patient on another server (``cohort.ownership``).
    """
    counts = patient_counts(rows)
    shown = [row for row in rows if row.patient_view_card]
    by_recommendation = Counter(row.recommendation for row in shown)
    by_population = Counter(f"population {row.population}" if row.population else "no population" for row in shown)
    months = [add_calendar_months(as_of.replace(day=1), n) for n in range(12)]
    stop_due = Counter(row.stop_due.replace(day=1) for row in rows if row.stop_due is not None)
    overdue = sum(1 for row in rows if row.stop_due is not None and row.stop_due < as_of)
    per_month = [(month.strftime("%Y-%m"), stop_due.get(month, 0)) for month in months]
    bad = "".join(f"<li>{html.escape(str(b))}</li>" for b in bad_lines[:200])
    more = f"<p>… and {len(bad_lines) - 200} more.</p>" if len(bad_lines) > 200 else ""
    compared = (
        f" Under the compared settings, {changed} patients' decision would change (<code>changes.csv</code>)."
        if changed is not None
        else ""
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IgRT worklist {as_of.isoformat()}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}} svg text{{font-size:12px}}</style>
</head><body>
<h1>IgRT worklist, as of {as_of.isoformat()}</h1>
<p>{counts["evaluated"]} patients evaluated ({html.escape(version)}); {counts["worklist"]} on the worklist, of
whom {counts["card"]} would get a patient-view card (the worklist's first rows; the others are patients the
guideline has nothing to say about now); {overdue} are past their stop or stop-attempt date;
{len(bad_lines)} unreadable lines skipped. The worklist (what is due first at the top) is
<code>worklist.csv</code>.{compared}</p>
<h2>Patients not on the worklist</h2>
<ul>
<li>{counts[NOT_RELEVANT]} not relevant: the guideline does not concern them (no haematological disease, HSCT,
CAR-T, bispecific antibody, primary immunodeficiency, immunoglobulin record, or IgG below 6 g/L or its lab's
reference range).</li>
<li>{counts[DECEASED]} deceased (<code>Patient.deceased[x]</code>): no recommendation.</li>
</ul>
<p>They have no line in <code>worklist.csv</code> and no <code>GuidanceResponse</code>.</p>
<h2>Resources not evaluated</h2>
<ul>
<li>{without_patient} name no patient (no <code>subject</code> or <code>patient</code> reference to a Patient, or a
<code>urn:</code> one, which NDJSON cannot resolve).</li>
<li>{other_server} name a patient on another server (an absolute reference outside this export's base): another
server's <code>Patient/x</code> is not this export's <code>Patient/x</code>.</li>
</ul>
<h2>Patients with a card, per recommendation</h2>
{_bars(sorted(by_recommendation.items(), key=lambda kv: -kv[1]))}
<h2>Patients with a card, per population</h2>
{_bars(sorted(by_population.items()))}
<h2>Stop or stop attempt due, per month (the next 12 months; {overdue} overdue not shown)</h2>
{_bars(per_month)}
<h2>Unreadable lines</h2>
{f"<ul>{bad}</ul>{more}" if bad_lines else "<p>None.</p>"}
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def _bars(items: Sequence[tuple[str, int]]) -> str:
    """A horizontal bar chart as inline SVG (labels escaped)."""
    if not items:
        return "<p>None.</p>"
    top = max(count for _, count in items) or 1
    height = 22 * len(items) + 4
    bars = []
    for index, (label, count) in enumerate(items):
        y = 4 + 22 * index
        width = 0 if count == 0 else max(2, round(360 * count / top))
        bars.append(
            f'<text x="0" y="{y + 14}">{html.escape(label)}</text>'
            f'<rect x="190" y="{y}" width="{width}" height="16" fill="#3b6ea5"/>'
            f'<text x="{196 + width}" y="{y + 14}">{count}</text>'
        )
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{height}" role="img">{"".join(bars)}</svg>'
