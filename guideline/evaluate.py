"""The guideline's single entry point: ``evaluate(record, as_of=..., p=...) -> Finding``."""

from __future__ import annotations

from datetime import date

from guideline.continuation import decide_continuation
from guideline.facts import derive
from guideline.model import Finding, PatientRecord
from guideline.parameters import DEFAULT_PARAMETERS, Parameters
from guideline.start_rules import decide_start


def evaluate(record: PatientRecord, *, as_of: date, p: Parameters = DEFAULT_PARAMETERS) -> Finding:
    """Apply Medicinrådet's SID guideline v1.1 and CAR-T/bsAb addendum to one patient on one date.

    Args:
        record: the patient's mapped data (lab values in g/L).
        as_of: the evaluation date (the clinician's "today" in the deployment's time zone).
        p: thresholds and interpretation settings.

    Returns:
        Exactly one ``Finding``: continuation rules for a patient on IgRT, start rules otherwise.
    """
    facts = derive(record, as_of=as_of, p=p)
    if facts.igrt.on_igrt:
        return decide_continuation(facts)
    return decide_start(facts)
