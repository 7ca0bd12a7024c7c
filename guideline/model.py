"""The guideline model: what the FHIR mappers produce (``PatientRecord``) and what rules return (``Finding``).

The inputs live in ``guideline.record``, the outputs (``Finding``, ``Advice`` and their criteria) in
``guideline.finding``; this module names them all in one place, with the order hooks' ``OrderedDose``.
"""

from __future__ import annotations

from guideline.finding import Advice, Criterion, Evidence, Finding, KeyDates, Overrule
from guideline.ordered_dose import OrderedDose
from guideline.record import (
    Admission,
    AntibioticRecord,
    Comparator,
    DataIssue,
    Diagnosis,
    FrozenModel,
    IgrtRecord,
    InfectionRecord,
    LabResult,
    Measurement,
    MProteinTyping,
    PatientRecord,
    PolyclonalEstimate,
    PreliminaryLab,
    TherapyAdministration,
    UpperBoundReason,
    Vaccination,
)

__all__ = [
    "Admission",
    "Advice",
    "AntibioticRecord",
    "Comparator",
    "Criterion",
    "DataIssue",
    "Diagnosis",
    "Evidence",
    "Finding",
    "FrozenModel",
    "IgrtRecord",
    "InfectionRecord",
    "KeyDates",
    "LabResult",
    "Measurement",
    "MProteinTyping",
    "OrderedDose",
    "Overrule",
    "PatientRecord",
    "PolyclonalEstimate",
    "PreliminaryLab",
    "TherapyAdministration",
    "UpperBoundReason",
    "Vaccination",
]
