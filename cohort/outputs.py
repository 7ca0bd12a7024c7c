"""What a cohort run writes: the worklist CSV, one FHIR R4 ``GuidanceResponse`` per worklist patient, an HTML summary.

* ``worklist.csv``: one row per patient on the worklist, what is due first at the top
  (``cohort.evaluation.due_order``). Deceased patients and patients the guideline does not concern
  (``WorklistRow.on_worklist`` False) get no line: they are counted in the summary.
* ``guidance-responses.ndjson``: one FHIR R4 ``GuidanceResponse`` per patient on the worklist (status ``success``, or
  ``data-required`` with a ``dataRequirement`` for IgG, IgA and IgM when the decision needs them),
  ``moduleCanonical`` naming the guideline and its version, the decision and dates in a contained ``Parameters``
  referenced by ``outputParameters``.
* ``summary.html``: self-contained (inline SVG, no scripts, nothing fetched): the patients evaluated, on the worklist,
  not relevant and deceased (``patient_counts``), patients per recommendation and population, stop-due dates per
  month over the coming 12 months, the unreadable lines.
* ``changes.csv`` (compare runs): each patient whose recommendation, rule, population, dates or card would change
  under other interpretation settings, a line per changed field, with the settings behind the change.
"""

from __future__ import annotations

import csv
import hashlib
import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from cohort.bulk import BadLine
from cohort.evaluation import DECEASED, NOT_RELEVANT, WorklistRow, changes
from guideline.calendar import add_calendar_months
from guideline.parameters import Parameters

MODULE = "urn:sid-igrt:guideline:medicinraadet-sid|1.1"
"""``GuidanceResponse.moduleCanonical``: the guideline this service implements, with its version (SID summary v1.1;
the full version text, addendum included, is the ``guidelineVersion`` output parameter)."""
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
"""A FHIR ``id``: 1-64 characters A-Z, a-z, 0-9, '-' or '.'."""
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
    """Write the worklist CSV (rows already in due order; those not on the worklist skipped); dates ISO, yes/no."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            if not row.on_worklist:
                continue
            writer.writerow([*(_cell(getattr(row, field)) for field in FIELDS), "; ".join(row.missing)])


def guidance_response(row: WorklistRow, *, as_of: date, guideline_version: str) -> dict[str, Any]:
    """Return the FHIR R4 ``GuidanceResponse`` of one patient's decision (a JSON-ready dict)."""
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
        "subject": {"reference": f"Patient/{row.patient_id}"},
        "occurrenceDateTime": as_of.isoformat(),
        "outputParameters": {"reference": "#decision"},
    }
    if row.order_lab_tests:
        response["dataRequirement"] = [
            {"type": "Observation", "codeFilter": [{"path": "code", "code": [{"system": LOINC, "code": code}]}]}
            for code, _ in LAB_CODES
        ]
    return response


def guidance_response_id(patient_id: str) -> str:
    """Return ``GuidanceResponse.id``: ``sid-igrt-<patient id>`` when that is a FHIR id, else a hash of the patient id.

    A Bulk export's patient ids need not make a valid id with the prefix (over 55 characters, or characters a FHIR id
    does not allow); those get ``sid-igrt-`` and the first 40 hex digits of the id's SHA-256: valid, and distinct
    where cutting the id short would have made two patients one.
    """
    candidate = f"sid-igrt-{patient_id}"
    if _FHIR_ID.fullmatch(candidate):
        return candidate
    return "sid-igrt-" + hashlib.sha256(patient_id.encode("utf-8")).hexdigest()[:40]


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

    ``why`` names the changed settings the decision used (under either setting), else every changed setting.
    """
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("patient_id", "field", "current", f"with {label}".strip(), "why"))
        for current, other in pairs:
            changed = changes(current, other)
            if not changed:
                continue
            used = [name for name in overrides if name in current.interpretations or name in other.interpretations]
            why = "; ".join(f"{name}: {overrides[name][0]} -> {overrides[name][1]}" for name in used or overrides)
            for field, before, after in changed:
                writer.writerow((current.patient_id, field, _cell(before), _cell(after), why))


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
) -> None:
    """Write the self-contained HTML summary (see the module docstring); ``changed``: patients a compare changed.

    ``rows``: every patient evaluated (those not on the worklist are counted, not charted).
    """
    counts = patient_counts(rows)
    shown = [row for row in rows if row.patient_view_card]
    by_recommendation = Counter(row.recommendation for row in shown)
    by_population = Counter(f"population {row.population}" if row.population else "no population" for row in shown)
    months = [add_calendar_months(as_of.replace(day=1), n) for n in range(12)]
    stop_due = Counter(row.stop_due.replace(day=1) for row in rows if row.stop_due is not None)
    overdue = sum(1 for row in rows if row.stop_due is not None and row.stop_due < as_of)
    per_month = [(month.strftime("%Y-%m"), stop_due.get(month, 0)) for month in months]
    bad = "".join(f"<li>{html.escape(b.path)}, line {b.line}: {html.escape(b.reason)}</li>" for b in bad_lines[:200])
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
