"""Small builders of guideline-model records for truth-table tests."""

from __future__ import annotations

from datetime import date

from guideline.concepts import Analyte, DiagnosisKind, IgrtRoute, InfectionKind, TherapyKind
from guideline.model import (
    Admission,
    AntibioticRecord,
    Diagnosis,
    IgrtRecord,
    InfectionRecord,
    LabResult,
    PatientRecord,
    TherapyAdministration,
)

ADULT = date(1960, 1, 1)


def d(text: str) -> date:
    return date.fromisoformat(text)


def igg(value: float, on: str, ref: str = "Observation/igg", comparator: str | None = None) -> LabResult:
    return LabResult(
        analyte=Analyte.IGG,
        value_g_per_l=value,
        effective=d(on),
        ref=f"{ref}-{on}",
        reported=f"{value} g/L",
        comparator=comparator,  # type: ignore[arg-type]
    )


def lab(analyte: Analyte, value: float, on: str, ref: str, low: float | None = None) -> LabResult:
    return LabResult(
        analyte=analyte,
        value_g_per_l=value,
        effective=d(on),
        ref=ref,
        reported=f"{value} g/L",
        reference_low_g_per_l=low,
    )


def car_t(on: str) -> TherapyAdministration:
    return TherapyAdministration(
        kind=TherapyKind.CAR_T, substance="Yescarta", on=d(on), ref=f"MedicationAdministration/cart-{on}"
    )


def bsab(on: str, substance: str = "teclistamab") -> TherapyAdministration:
    return TherapyAdministration(
        kind=TherapyKind.BSAB,
        substance=substance.capitalize(),
        on=d(on),
        ref=f"MedicationAdministration/bsab-{substance}-{on}",
        substance_key=substance,
    )


def dx(kind: DiagnosisKind) -> Diagnosis:
    return Diagnosis(ref=f"Condition/{kind.value}", kind=kind, display=kind.value, recorded=d("2020-01-01"))


HAEM = dx(DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY)
ALLO = Diagnosis(ref="Condition/allo-hsct", kind=DiagnosisKind.ALLO_HSCT, display="allo-hsct", recorded=d("2026-03-01"))
"""An allogeneic HSCT inside the 24-month population-3 period for 2026 evaluation dates."""


def infection(
    on: str,
    *,
    kinds: frozenset[InfectionKind] = frozenset({InfectionKind.BACTERIAL}),
    verification: str | None = "confirmed",
    severe: bool = False,
    encounter: str | None = None,
    abatement: str | None = None,
    classified: bool = True,
    severe_by_code: bool = False,
) -> InfectionRecord:
    return InfectionRecord(
        ref=f"Condition/inf-{on}",
        display="infection",
        kinds=kinds if classified else frozenset(),
        abatement=d(abatement) if abatement else None,
        classified=classified,
        severe_by_code=severe_by_code,
        onset=d(on),
        date_source="onsetDateTime",
        verification=verification,
        severity_severe=severe,
        encounter_refs=(encounter,) if encounter else (),
    )


def admission(start: str, end: str, ref: str = "Encounter/adm", cls: str = "IMP") -> Admission:
    return Admission(ref=ref, encounter_class=cls, start=d(start), end=d(end))  # type: ignore[arg-type]


def antibiotic(on: str) -> AntibioticRecord:
    return AntibioticRecord(ref=f"MedicationRequest/ab-{on}", display="amoxicillin", start=d(on))


def ivig(on: str, *, immunomodulation: bool = False) -> IgrtRecord:
    return IgrtRecord(
        ref=f"MedicationAdministration/ivig-{on}",
        display="Privigen",
        source="administration",
        route=IgrtRoute.IVIG,
        start=d(on),
        end=d(on),
        purpose="immunomodulation" if immunomodulation else "replacement",
    )


def ivig_every(first: str, last: str, days: int = 28) -> tuple[IgrtRecord, ...]:
    from datetime import timedelta

    out, day = [], d(first)
    while day <= d(last):
        out.append(ivig(day.isoformat()))
        day += timedelta(days=days)
    return tuple(out)


def record(**parts: object) -> PatientRecord:
    parts.setdefault("birth_date", ADULT)
    return PatientRecord(**parts)  # type: ignore[arg-type]
