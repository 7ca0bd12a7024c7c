"""One patient of the cohort, decided as a ``patient-view`` hook call decides it.

The same ``decision.decide`` as the hook path, under the patient-view policy (``WORKLIST_POLICY``: the follow-up
reminder, a card only where the guideline concerns the patient). The result is a ``WorklistRow``: the decision, its
dates, and what is missing.

Two kinds of patient get no worklist row (issue "clinical fidelity 3" §9, §10): a **deceased** patient
(``Patient.deceased[x]``, ``Assessment.deceased``: no recommendation, as on every hook) and a patient the guideline
**does not concern** at all (``Assessment.in_scope`` is False: no haematological disease, HSCT, CAR-T, bsAb,
immunoglobulin record or low IgG). Their row carries the recommendation ``deceased`` or ``not-relevant`` (the
worklist's own codes, not the guideline's), nothing else, and ``on_worklist`` False: the outputs count them apart and
write no worklist line and no ``GuidanceResponse`` for them. A deceased patient is counted as deceased whether or not
the guideline concerns them (the guideline checks that first too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from cohort.bulk import BadLine
from cohort.display import display_from_resources
from cohort.inventory import Inventory
from decision import Decision, Policy, decide_mapped, map_record
from guideline.concepts import Recommendation
from guideline.model import PatientRecord
from guideline.parameters import Parameters
from guideline.relevance import in_scope
from guideline.text import english

WORKLIST_POLICY = Policy(quiet_unless_concerned=True, follow_up=True)
"""The worklist decides as patient-view does: its card column is whether patient-view would show a card."""

DECEASED = "deceased"
"""The recommendation of a deceased patient's row (``Patient.deceased[x]``): not on the worklist, counted apart."""
NOT_RELEVANT = "not-relevant"
"""The recommendation of the row of a patient the guideline does not concern: not on the worklist, counted apart."""
EXCLUDED = (DECEASED, NOT_RELEVANT)
"""The worklist's own codes for the patients it leaves out (``WorklistRow.on_worklist`` False)."""


@dataclass(frozen=True)
class WorklistRow:
    """The decision for one patient on ``as_of`` (dates ISO, ``None`` where the rule sets none).

    ``missing`` lists, in words, the data the decision lacked or could not use (the card's data issues, and the lab
    tests to order when the rule asks for them). ``patient_view_card``: patient-view would show this patient a card
    (``guideline.relevance.worth_showing``): on IgRT, or a start, consider or missing-data finding for a patient the
    guideline concerns; the other rows are patients the guideline has nothing to say about now. A row whose
    recommendation is ``DECEASED`` or ``NOT_RELEVANT`` is not on the worklist (``on_worklist``): only counted.
    """

    patient_id: str
    recommendation: str
    rule: str
    population: int | None
    t0: date | None
    window_end: date | None
    stop_due: date | None
    next_follow_up: date | None
    on_igrt: bool
    patient_view_card: bool
    missing: tuple[str, ...]
    order_lab_tests: bool
    interpretations: tuple[str, ...] = ()
    display: str = ""
    """How the worklist shows the patient: the value of the site's identifier (``evaluate_patient``'s
    ``display_system``), or ``""`` until the outputs put a keyed pseudonym there (``cohort.display``); never the FHIR
    id alone."""

    @property
    def on_worklist(self) -> bool:
        """Whether the patient gets a worklist line and a ``GuidanceResponse`` (not deceased, not out of scope)."""
        return self.recommendation not in EXCLUDED


def evaluate_patient(
    patient_id: str,
    raw_resources: Sequence[bytes],
    *,
    as_of: date,
    parameters: Parameters,
    tz: ZoneInfo,
    medications: Mapping[str, Mapping[str, Any]],
    compare: Parameters | None = None,
    display_system: str | None = None,
) -> tuple[WorklistRow, WorklistRow | None]:
    """Map and evaluate one patient; with ``compare``, evaluate the same mapped record again under those parameters.

    Args:
        patient_id: the Patient id the resources belong to.
        raw_resources: the patient's resources as JSON bytes (one NDJSON line each).
        as_of: the evaluation date.
        parameters: the guideline parameters (the service's settings, interpretations included).
        tz: the time zone dates are read in (``CDS_TIMEZONE``).
        medications: ``"Medication/id"`` -> Medication, for ``medicationReference``.
        compare: other parameters (``--compare-settings``), or ``None``.
        display_system: the ``Patient.identifier.system`` the worklist shows the patient by (site setting), or
            ``None``: ``WorklistRow.display`` is that identifier's value (``cohort.display.identifier_display``),
            else ``""`` (the outputs then show a keyed pseudonym, ``cohort.display.pseudonym``).

    Returns:
        ``(row under parameters, row under compare or None)``.
    """
    record = map_patient(patient_id, raw_resources, tz=tz, medications=medications)
    if compare is None and not record.deceased and not in_scope(record, as_of=as_of, p=parameters):
        # The row the whole decision gives such a patient (_row: not deceased, not in scope), without deciding:
        # most of a real export's patients (7 in 10 at realistic density), and the decision was most of their cost.
        row = _excluded(patient_id, NOT_RELEVANT, "")
    else:
        decision = decide_mapped(record, as_of=as_of, parameters=parameters, policy=WORKLIST_POLICY)
        row = _row(patient_id, decision)
    display = display_from_resources(patient_id, raw_resources, display_system) if display_system else ""
    if display:
        row = replace(row, display=display)
    if compare is None:
        return row, None
    other = decide_mapped(record, as_of=as_of, parameters=compare, policy=WORKLIST_POLICY)
    return row, replace(_row(patient_id, other), display=display)


def decide_patient(
    patient_id: str,
    raw_resources: Sequence[bytes],
    *,
    as_of: date,
    parameters: Parameters,
    tz: ZoneInfo,
    medications: Mapping[str, Mapping[str, Any]],
) -> Decision:
    """Map and decide one patient of an export under the worklist's policy: the decision its worklist line shows.

    Also what ``commands.worklist_pages`` renders as the patient's evidence page, so page and line cannot disagree.
    Args as ``evaluate_patient``.
    """
    record = map_patient(patient_id, raw_resources, tz=tz, medications=medications)
    return decide_mapped(record, as_of=as_of, parameters=parameters, policy=WORKLIST_POLICY)


def map_patient(
    patient_id: str, raw_resources: Sequence[bytes], *, tz: ZoneInfo, medications: Mapping[str, Mapping[str, Any]]
) -> PatientRecord:
    """Parse and map one patient of an export (``decision.map_record``); args as ``evaluate_patient``."""
    # The same order whatever the engine delivered them in (SQLite, or a Spark shuffle): the same record.
    resources = [orjson.loads(raw) for raw in sorted(raw_resources)]
    return map_record(resources, patient_id=patient_id, tz=tz, medications=medications)


def _row(patient_id: str, decision: Decision) -> WorklistRow:
    assessment = decision.assessment
    assert assessment is not None  # the worklist reads no orders, so every patient is decided
    finding = assessment.finding
    if assessment.deceased:
        return _excluded(patient_id, DECEASED, finding.rule.value)
    if not assessment.in_scope:
        return _excluded(patient_id, NOT_RELEVANT, "")
    missing = [f"{issue.ref}: {english(issue.reason)}" for issue in finding.data_issues]
    if finding.order_lab_tests:
        missing.insert(0, "measure IgG, IgA and IgM")
    return WorklistRow(
        patient_id=patient_id,
        recommendation=finding.recommendation.value,
        rule=finding.rule.value,
        population=int(finding.population) if finding.population else None,
        t0=finding.dates.t0,
        window_end=finding.dates.window_end,
        stop_due=finding.dates.stop_due,
        next_follow_up=finding.dates.next_follow_up,
        on_igrt=finding.on_igrt,
        patient_view_card=decision.shown,
        missing=tuple(missing),
        order_lab_tests=finding.order_lab_tests,
        interpretations=finding.interpretations,
    )


def _excluded(patient_id: str, recommendation: str, rule: str) -> WorklistRow:
    """The row of a patient left off the worklist: the reason, and nothing a worklist line would show."""
    return WorklistRow(
        patient_id=patient_id,
        recommendation=recommendation,
        rule=rule,
        population=None,
        t0=None,
        window_end=None,
        stop_due=None,
        next_follow_up=None,
        on_igrt=False,
        patient_view_card=False,
        missing=(),
        order_lab_tests=False,
    )


COMPARED = ("recommendation", "rule", "population", "t0", "window_end", "stop_due", "next_follow_up")
"""The fields a compare run reports changes in (``patient_view_card`` too)."""


def changes(current: WorklistRow, other: WorklistRow) -> list[tuple[str, object, object]]:
    """Return ``(field, current value, other value)`` for every compared field that differs."""
    fields = (*COMPARED, "patient_view_card")
    return [(f, getattr(current, f), getattr(other, f)) for f in fields if getattr(current, f) != getattr(other, f)]


_URGENCY = {
    Recommendation.STOP.value: 0,
    Recommendation.INSUFFICIENT_DATA.value: 1,
    Recommendation.START.value: 2,
    Recommendation.CONSIDER.value: 3,
    Recommendation.PAUSE.value: 4,
    Recommendation.CONTINUE.value: 5,
}


def due_order(row: WorklistRow) -> tuple[bool, bool, date, int, str]:
    """Sort key: patients with a card first, what is due first (the earliest stop or follow-up date) among them.

    Then by recommendation (stop, missing data, start, consider, pause, continue), then by patient id. Patients not
    on the worklist (deceased, not relevant) come after every worklist row, by patient id.
    """
    dates = [d for d in (row.stop_due, row.next_follow_up) if d is not None]
    due = min(dates) if dates else date.max
    return (not row.on_worklist, not row.patient_view_card, due, _URGENCY.get(row.recommendation, 9), row.patient_id)


def changed_patients(pairs: Iterable[tuple[WorklistRow, WorklistRow]]) -> int:
    """Return how many patients' rows differ between the two evaluations (``changes`` not empty)."""
    return sum(1 for current, other in pairs if changes(current, other))


@dataclass(frozen=True)
class Placed:
    """How an engine placed the export's lines: each patient's row (and compared row), the rest counted.

    ``bad``: unreadable and over-long lines; ``without_patient``: resources that name no patient; ``other_server``:
    resources that name a patient on another server (``cohort.ownership.FOREIGN``).
    """

    pairs: list[tuple[WorklistRow, WorklistRow | None]]
    bad: list[BadLine]
    without_patient: int
    other_server: int
    inventory: Inventory = field(default_factory=Inventory)
    """What was read, per resource type (``cohort.inventory``)."""
    previous: Mapping[str, WorklistRow] | None = None
    """The previous run's rows by patient id (incremental runs), or ``None`` when there was none."""
