"""Which patients the guideline concerns, and which findings are worth a clinician's attention unprompted.

Used by patient-view (issue "end to end" §6): a card only for patients after CAR-T/bsAb (within
``concern_horizon_calendar_months``), on IgRT, or with haematological disease or allogeneic/unknown-type HSCT and
IgG < 6 g/L; and then only for on-IgRT decisions, or start, consider or missing-data findings.
"""

from __future__ import annotations

from datetime import date

from guideline.calendar import add_calendar_months
from guideline.concepts import Analyte, DiagnosisKind, Recommendation
from guideline.labs import latest
from guideline.model import Finding, PatientRecord
from guideline.parameters import Parameters

_CONCERNING_DIAGNOSES = {
    DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY,
    DiagnosisKind.ALLO_HSCT,
    DiagnosisKind.HSCT_UNKNOWN_TYPE,
}
_WORTH_SHOWING_OFF_IGRT = {Recommendation.START, Recommendation.CONSIDER, Recommendation.INSUFFICIENT_DATA}


def concerns(record: PatientRecord, *, as_of: date, p: Parameters) -> bool:
    """Return whether the guideline concerns a patient who is not on IgRT (on IgRT is read from the finding).

    ``record`` is ``Facts.record``: with an IgG M-component typed, its IgG results are already polyclonal estimates.
    """
    horizon = add_calendar_months(as_of, -p.concern_horizon_calendar_months)
    if any(horizon <= t.on <= as_of for t in record.therapies):
        return True
    if any(d.kind in _CONCERNING_DIAGNOSES for d in record.diagnoses):
        igg = latest(record.labs, Analyte.IGG, as_of=as_of)
        return igg is not None and igg.is_below(p.igg_consider_below_g_per_l) is True
    return False


def in_scope(record: PatientRecord, *, as_of: date, p: Parameters) -> bool:
    """Return whether the guideline has anything to say about a patient at all (the worklist's "not relevant").

    In scope: haematological disease, any HSCT, CAR-T or bsAb (any date, a CAR-T history code included), any
    immunoglobulin record, or an IgG ever below 6 g/L or below its lab's reference low (issue "clinical fidelity 3"
    §10). Everyone else is a patient the SID guideline does not concern: patient-view stays quiet, and the worklist
    counts them apart instead of asking for IgG, IgA and IgM.
    """
    if record.therapies or record.igrt:
        return True
    if any(d.kind in _SCOPE_DIAGNOSES for d in record.diagnoses if d.recorded is None or d.recorded <= as_of):
        return True
    for lab in record.labs:
        if lab.analyte != Analyte.IGG or lab.effective > as_of:
            continue
        if lab.is_below(p.igg_consider_below_g_per_l) is True:
            return True
        if lab.reference_low_g_per_l is not None and lab.is_below(lab.reference_low_g_per_l) is True:
            return True
    return False


_SCOPE_DIAGNOSES = frozenset(
    {
        DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY,
        DiagnosisKind.ALLO_HSCT,
        DiagnosisKind.AUTOLOGOUS_HSCT,
        DiagnosisKind.HSCT_UNKNOWN_TYPE,
        DiagnosisKind.CAR_T_HISTORY,
        DiagnosisKind.PRIMARY_IMMUNODEFICIENCY,
    }
)
"""Diagnoses that bring a patient into the guideline's view (a primary immunodeficiency: to say it does not apply)."""


def worth_showing(finding: Finding, *, concerned: bool) -> bool:
    """Return whether patient-view shows ``finding``.

    Always on IgRT; otherwise only start, consider or missing data, and only for a patient the guideline concerns.
    """
    return finding.on_igrt or (concerned and finding.recommendation in _WORTH_SHOWING_OFF_IGRT)
