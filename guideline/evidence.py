"""Data as card evidence: a lab result, the therapy that set T0, a recorded diagnosis; and their names on cards.

Every ``Evidence`` states the value and unit, the date and the FHIR resource it came from, so a card can show
exactly what a rule read.
"""

from __future__ import annotations

from datetime import date

from guideline.concepts import Analyte, TherapyKind
from guideline.index_dates import IndexDate
from guideline.model import Diagnosis, Evidence, InfectionRecord, LabResult
from guideline.text import msg, plural

THERAPY_LABELS = {TherapyKind.CAR_T: "CAR-T", TherapyKind.BSAB: "bsAb"}
ANALYTE_LABELS = {Analyte.IGG: "IgG", Analyte.IGA: "IgA", Analyte.IGM: "IgM", Analyte.M_PROTEIN: "M-protein"}


def lab_evidence(lab: LabResult) -> Evidence:
    """Return a lab result as card evidence (value in g/L, date, reference).

    An IgG drawn under immunoglobulin (``LabResult.upper_bound``) says so: it is an upper bound of the own IgG.
    """
    label = ANALYTE_LABELS[lab.analyte]
    shown = lab.shown()  # once: the same value text in the check and the message
    if lab.estimate is not None:
        text = msg(
            "{analyte} {value} (estimated polyclonal IgG: total {total} g/L minus M-protein {m_protein} g/L of {m_on})",
            analyte=label,
            value=shown,
            total=lab.estimate.total_g_per_l,
            m_protein=lab.estimate.m_protein_g_per_l,
            m_on=lab.estimate.m_protein_on,
        )
    elif lab.reported == shown.english():
        text = msg("{analyte} {value}", analyte=label, value=shown)
    else:
        text = msg("{analyte} {value} (reported {reported})", analyte=label, value=shown, reported=lab.reported)
    bound = lab.upper_bound_after
    if bound is not None:
        text = msg(
            "{lab} (drawn {days} days after immunoglobulin {drug} of {dose_on}: the own IgG is at most this)",
            lab=text,
            days=(lab.effective - bound.dose_on).days,
            drug=bound.dose_display,
            dose_on=bound.dose_on,
        )
    return Evidence(
        text=text,
        ref=lab.ref,
        value=lab.value_g_per_l,
        decimals=lab.decimals,
        comparator=lab.comparator,
        unit="g/L",
        on=lab.effective,
    )


def t0_evidence(index: IndexDate) -> tuple[Evidence, ...]:
    """Return the administration that set T0 as card evidence, and how many more the bsAb course holds.

    A course of weekly bsAb doses over years would otherwise list hundreds of administrations on the card; T0 is
    the first of them (addendum §4.1), and the count says how long the course is.
    """
    first = Evidence(
        text=msg("{kind} {substance}", kind=THERAPY_LABELS[index.kind], substance=index.substance),
        ref=index.refs[0],
        on=index.t0,
    )
    if len(index.refs) == 1:
        return (first,)
    more = plural(
        "{count} further administration in the same course",
        "{count} further administrations in the same course",
        len(index.refs) - 1,
    )
    return (first, Evidence(text=more))


def recorded_evidence(display: str, ref: str, on: date | None = None) -> Evidence:
    """Return a record as card evidence by its display text as recorded (untranslated), with its date if any."""
    return Evidence(text=msg("{display}", display=display), ref=ref, on=on)


def diagnosis_evidence(diagnosis: Diagnosis) -> Evidence:
    """Return a recorded diagnosis as card evidence (its display text as recorded, untranslated)."""
    return recorded_evidence(diagnosis.display, diagnosis.ref, diagnosis.recorded)


def infection_evidence(infection: InfectionRecord) -> Evidence:
    """Return a coded infection as card evidence (its display text as recorded, untranslated, and its onset)."""
    return recorded_evidence(infection.display, infection.ref, infection.onset)
