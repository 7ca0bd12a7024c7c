"""Evidence pages for the population worklist: each patient on it linked to the page a card would open.

``cds-service cohort ... --evidence-pages`` writes, after the run, ``evidence/<Patient.id>.html`` for every patient on
the worklist (``cds_service.evidence.evidence_page``, the same page the card's SMART link opens) and
``evidence/index.html``, the worklist in due order with a link per patient (shown by ``WorklistRow.display``, never the
bare id). ``summary.html`` links each patient to the same file: both name it by ``cohort.worklist_html.evidence_href``.
The patients are decided again by the same ``decision.decide`` under the worklist's policy
(``cohort.evaluation.WORKLIST_POLICY``) from the same record: the run state's stored resources after a local run (the
merged record after ``--delta``), the export read again after a Spark run; a page and its worklist line cannot
disagree. This lives with the
commands because it joins the two rooms below it: the worklist (``cohort``) may not import the service
(``tests/test_layering.py``).

Cost: one more streaming pass over the export (only the listed patients' lines are kept, in an embedded SQLite file)
and about 0.1-0.2 s per page (docs/evidence.md, ``bench.evidence_page``); opt-in for that reason. The export is read
through the run's ``cohort.export.Export`` (its line limit, its base: another server's ``Patient/x`` is not merged),
and a page is named by the patient id only when that is a FHIR id (``cohort.ids.is_fhir_id``, the worklist's one
definition).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment

from cds_service.evidence import evidence_page
from cds_service.settings import Settings
from cohort.bulk import BadLine
from cohort.evaluation import WorklistRow, decide_patient
from cohort.export import Export
from cohort.grouping import PatientGrouper
from cohort.ids import is_fhir_id as is_fhir_id  # the one definition, used through evidence_href
from cohort.state import RunState
from cohort.worklist_html import EVIDENCE_DIR, evidence_href

_INDEX = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="{{ language }}"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}td,th{padding:.2rem .6rem;text-align:left}
tr:nth-child(even){background:#f3f5f8}</style></head>
<body><h1>{{ title }}</h1><p><a href="../summary.html#act">Back to the worklist</a></p>
<p>{{ as_of }}: {{ pages|length }} evidence pages{% if skipped %}; {{ skipped }} patients
without a page (a Patient.id that is not a FHIR id){% endif %}.</p>
<table><thead><tr><th>Patient</th><th>Recommendation</th><th>Rule</th><th>Stop due</th><th>Next follow-up</th></tr>
</thead><tbody>{% for row, href in pages %}<tr><td><a href="{{ href }}">{{ row.display or "(no display)" }}</a></td>
<td>{{ row.recommendation }}</td><td>{{ row.rule }}</td><td>{{ row.stop_due or "" }}</td>
<td>{{ row.next_follow_up or "" }}</td></tr>{% endfor %}</tbody></table></body></html>
"""
)


@dataclass(frozen=True)
class EvidencePages:
    """What ``write_evidence_pages`` wrote: the index, the pages, and the patients left without one (bad id)."""

    index: Path
    pages: tuple[Path, ...]
    skipped: tuple[str, ...]


def write_evidence_pages(
    export: Export,
    out_dir: Path,
    rows: Sequence[WorklistRow],
    *,
    settings: Settings,
    as_of: date,
    language: str,
    state: Path | None = None,
) -> EvidencePages:
    """Write ``out_dir/evidence/<id>.html`` for each worklist row and ``out_dir/evidence/index.html`` linking them.

    Args:
        export: the Bulk NDJSON export the worklist was made from, as the run read it (read again, streaming).
        out_dir: the cohort's output directory.
        rows: the worklist rows, in due order (``CohortResult.worklist``).
        settings: the service settings (guideline parameters, time zone, links).
        as_of: the evaluation date of the run.
        language: ``en`` or ``da``.
        state: the run state the local engine evaluated the rows from (``cohort.state.STATE_FILE`` in the output
            directory): each page is decided from the same stored record as its row, which after a ``--delta`` run
            is the merged record, not the delta's few lines. ``None`` (the Spark engine): the export is read again.

    Raises:
        FileNotFoundError: the export holds no NDJSON file.
    """
    listed = [row for row in rows if evidence_href(row.patient_id) is not None]
    skipped = tuple(row.patient_id for row in rows if evidence_href(row.patient_id) is None)
    folder = out_dir / EVIDENCE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {row.patient_id for row in listed}
    written: list[tuple[WorklistRow, str]] = []
    by_id = {row.patient_id: row for row in listed}

    def write(patient_id: str, raw: Iterable[bytes], medications: Mapping[str, Mapping[str, Any]]) -> None:
        html = _page(patient_id, raw, medications, settings=settings, as_of=as_of, language=language)
        href = evidence_href(patient_id)
        assert href is not None  # only listed patients are written
        (out_dir / href).write_text(html, encoding="utf-8")
        written.append((by_id[patient_id], href.removeprefix(f"{EVIDENCE_DIR}/")))

    if state is not None:
        stored = RunState(state)
        try:
            medications = stored.medications()
            for patient_id in sorted(wanted):
                write(patient_id, stored.record_of(patient_id), medications)
        finally:
            stored.close()
    else:
        with tempfile.TemporaryDirectory(prefix="evidence-") as scratch:
            grouper = PatientGrouper(Path(scratch) / "listed.sqlite3")
            try:
                medications = _gather(export, wanted, grouper)
                for patient_id, raw in grouper.patients():
                    write(patient_id, raw, medications)
            finally:
                grouper.close()
    order = {row.patient_id: i for i, row in enumerate(listed)}
    written.sort(key=lambda pair: order[pair[0].patient_id])
    index = folder / "index.html"
    index.write_text(
        _INDEX.render(
            title="IgRT worklist: evidence pages",
            language=language,
            as_of=as_of.isoformat(),
            pages=written,
            skipped=len(skipped),
        ),
        encoding="utf-8",
    )
    return EvidencePages(index, tuple(folder / href for _, href in written), skipped)


def _gather(export: Export, wanted: set[str], grouper: PatientGrouper) -> dict[str, Mapping[str, Any]]:
    """Keep the listed patients' lines (in ``grouper``) and every Medication (for ``medicationReference``)."""
    medications: dict[str, Mapping[str, Any]] = {}
    for path in export.files():
        for item in export.lines(path):
            if isinstance(item, BadLine):
                continue  # reported by the run itself
            if item.resource.get("resourceType") == "Medication":
                medications[f"Medication/{item.resource.get('id')}"] = item.resource
            elif isinstance(patient := export.owner(item.resource), str) and patient in wanted:
                grouper.add(patient, item.raw)
    return medications


def _page(
    patient_id: str,
    raw: Iterable[bytes],
    medications: Mapping[str, Mapping[str, Any]],
    *,
    settings: Settings,
    as_of: date,
    language: str,
) -> str:
    decision = decide_patient(
        patient_id, list(raw), as_of=as_of, parameters=settings.parameters, tz=settings.tz, medications=medications
    )
    return evidence_page(decision, settings=settings, language=language, as_of=as_of)
