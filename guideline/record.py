"""The guideline's input: ``PatientRecord``, what the FHIR mappers produce, and the facts it holds.

All models are frozen; collections are tuples. Every input fact keeps the reference of the FHIR resource it
came from (``ref``, e.g. ``"Observation/igg-1"``) so that cards can cite their evidence.
Units: lab values in g/L, dates as calendar dates in the deployment's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from guideline.concepts import (
    Analyte,
    DiagnosisKind,
    IgrtRoute,
    InfectionKind,
    InfectionSite,
    MeasurementKind,
    TherapyKind,
    VaccineKind,
)
from guideline.quick_init import quick_init
from guideline.text import Decimals, Message, msg

Comparator = Literal["<", "<=", ">", ">="]


class FrozenModel(BaseModel):
    """A frozen pydantic model that refuses unknown fields: the base of ``PatientRecord``.

    The records made for the resources of every call (every class of this module but ``PatientRecord``), the
    finding and advice with their criteria, evidence and dates (``guideline.finding``) and an order's dose
    (``guideline.ordered_dose``) are frozen dataclasses instead (issue 32: pydantic's validation was a tenth of a
    call's CPU, and buys nothing for values the mappers and rules build from already checked data): keyword-only,
    refusing unknown fields too, with ``float`` fields converting an ``int`` as pydantic did, and copied with
    ``dataclasses.replace`` (``Advice.updated`` for advice). Their ``__init__`` fills the slots directly
    (``guideline.quick_init``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class PolyclonalEstimate:
    """How an IgG value was estimated as polyclonal IgG: total IgG minus the M-protein (COMMIT; addendum table 8-7).

    Attributes:
        total_g_per_l: the measured total IgG.
        m_protein_g_per_l: the M-protein subtracted (0 when it was below the detection limit).
        m_protein_ref / m_protein_on: the M-protein result used.
    """

    total_g_per_l: float
    m_protein_g_per_l: float
    m_protein_ref: str
    m_protein_on: date


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class UpperBoundReason:
    """Why an IgG is only an upper bound of the patient's own IgG: the immunoglobulin dose drawn after.

    Attributes:
        dose_display / dose_ref / dose_on: the immunoglobulin exposure (its last day) the sample follows.
        own_from: the first day an own IgG can be drawn (the dose + ``igg_washout_days``).
    """

    dose_display: str
    dose_ref: str
    dose_on: date
    own_from: date


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class LabResult:
    """One immunoglobulin or M-protein result.

    Attributes:
        value_g_per_l: the value normalised to g/L.
        comparator: set when the lab reported a bound (``"<"`` for "< 0.3 g/L"); the true value is beyond it.
        reported: the value as reported, e.g. ``"340 mg/dL"``.
        reference_low_g_per_l: the lab's reference-range low in g/L, when given.
        upper_bound_after: set by the guideline core (``guideline.own_igg``) on an IgG drawn under or within the
            washout after immunoglobulin: infused IgG only raises the value, so it is an upper bound of the own IgG.
        decimals: the decimals the lab reported (``3.0`` g/L: 1), so the card shows "3,0 g/L"; ``None``: as needed.
    """

    analyte: Analyte
    value_g_per_l: float
    comparator: Comparator | None = None
    effective: date
    ref: str
    reported: str
    reference_low_g_per_l: float | None = None
    estimate: PolyclonalEstimate | None = None
    upper_bound_after: UpperBoundReason | None = None
    decimals: int | None = None

    def __post_init__(self) -> None:
        """Hold the values as ``float`` (an ``int`` given is converted, as the pydantic model did)."""
        if type(self.value_g_per_l) is int:
            object.__setattr__(self, "value_g_per_l", float(self.value_g_per_l))
        if type(self.reference_low_g_per_l) is int:
            object.__setattr__(self, "reference_low_g_per_l", float(self.reference_low_g_per_l))

    @property
    def upper_bound(self) -> bool:
        """Whether the value is only an upper bound of the patient's own IgG (drawn under immunoglobulin)."""
        return self.upper_bound_after is not None

    def is_below(self, threshold_g_per_l: float) -> bool | None:
        """Return whether the true value is strictly below the threshold; ``None`` when the bound can't tell.

        An IgG drawn under or soon after immunoglobulin (``upper_bound``) is read as an upper bound of the own IgG:
        below a threshold it proves the own IgG is below it too; at or above it, it cannot tell (``None``).
        """
        value = self.value_g_per_l
        if self.comparator is None:
            below: bool | None = value < threshold_g_per_l
        elif self.comparator == "<":
            below = True if value <= threshold_g_per_l else None
        elif self.comparator == "<=":
            below = True if value < threshold_g_per_l else None
        else:
            below = False if value >= threshold_g_per_l else None
        return None if below is False and self.upper_bound else below

    def number(self) -> float | Decimals:
        """Return the value as a card parameter: with the lab's own decimals when known ("3.0", not "3")."""
        return self.value_g_per_l if self.decimals is None else Decimals(self.value_g_per_l, self.decimals)

    def shown(self) -> Message:
        """Return the value for display, in g/L with its comparator, e.g. ``"< 0.3 g/L"``, ``"3.0 g/L"``."""
        if self.comparator:
            return msg("{comparator} {value} g/L", comparator=self.comparator, value=self.number())
        return msg("{value} g/L", value=self.number())


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class PreliminaryLab:
    """A lab result that is not final yet (``Observation.status`` ``preliminary``): never decides, always named.

    A newer preliminary low IgG keeps a confident not-indicated from being issued (``guideline.start.not_indicated``).
    """

    lab: LabResult


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class TherapyAdministration:
    """A CAR-T infusion or a bsAb administration (or, with ``date_certain=False``, a CAR-T history code).

    ``substance`` is the drug as recorded (for the card); ``substance_key`` the active substance from the code
    table (INN, e.g. ``"teclistamab"``), ``""`` when unknown: a bsAb of another key starts a new course.
    """

    kind: TherapyKind
    substance: str
    on: date
    ref: str
    date_certain: bool = True
    substance_key: str = ""


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class InfectionRecord:
    """A coded infection (Condition).

    Attributes:
        kinds: how its codes count (bacterial, possibly bacterial, bacterial sepsis, sepsis unspecified).
        onset: the episode date; ``date_source`` names the element it came from (``"onsetDateTime"``, ...).
        verification: ``Condition.verificationStatus`` code, ``None`` when absent.
        severity_severe: ``Condition.severity`` is Severe (SNOMED 24484000).
        encounter_refs: ``Condition.encounter`` references.
        abatement: ``Condition.abatement[x]`` as a date, when given (the infection is active from onset to it).
        severe_by_code: the code itself names a severe infection (meningitis, endocarditis; ``infection_sites.csv``).
        classified: ``False`` for a code in an infection chapter that the code tables do not classify: it never
            counts as bacterial, but a sample taken while it is active is a sample during infection.
        code_key: the first coding as ``system|code``; with ``date_source == "recordedDate"`` (no onset) a record
            of the same code as an earlier dated one may be its problem-list copy (``guideline.infections``).
    """

    ref: str
    display: str
    kinds: frozenset[InfectionKind]
    onset: date
    date_source: str
    verification: str | None = None
    severity_severe: bool = False
    encounter_refs: tuple[str, ...] = ()
    site: InfectionSite | None = None
    abatement: date | None = None
    severe_by_code: bool = False
    classified: bool = True
    code_key: str = ""
    """The Condition's first coding as ``system|code`` (a copy of one infection in another list has the same)."""


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Admission:
    """An inpatient (IMP) or emergency (EMER) Encounter, with the Conditions it lists as diagnoses."""

    ref: str
    encounter_class: Literal["IMP", "EMER"]
    start: date
    end: date | None = None
    diagnosis_refs: tuple[str, ...] = ()


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class AntibioticRecord:
    """A systemic antibacterial (ATC J01) given, prescribed or taken."""

    ref: str
    display: str
    start: date
    reason_refs: tuple[str, ...] = ()
    active_order: bool = False
    """An active MedicationRequest/Statement (ongoing, e.g. prophylaxis), not a single course given."""


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class IgrtRecord:
    """An immunoglobulin (ATC J06BA) administration, order or statement.

    Attributes:
        source: the FHIR resource type it came from, in guideline words.
        start: first day of exposure (administration date, authoredOn, effective start); ``None`` if unknown.
        end: last day of exposure when known; an administration has ``end == start``.
        active: an order or statement that is still active (status ``active``).
        purpose: ``"immunomodulation"`` when its reason (``reasonCode``) names an immunomodulatory indication
            (ITP, ICANS, Guillain-Barré, ...): such a dose is not IgRT, but it still confounds IgG.
        reason_refs: ``reasonReference`` targets (``"Condition/id"``); a reason Condition coded as an
            immunomodulatory indication also makes the dose immunomodulatory (``guideline.own_igg``).
    """

    ref: str
    display: str
    source: Literal["administration", "order", "statement"]
    route: IgrtRoute
    start: date | None
    end: date | None = None
    active: bool = False
    purpose: Literal["replacement", "immunomodulation"] = "replacement"
    reason_refs: tuple[str, ...] = ()


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """A body weight (kg) or a CD19 B-cell count (unit as reported, compared only within one kind)."""

    kind: MeasurementKind
    value: float
    unit: str
    effective: date
    ref: str

    def __post_init__(self) -> None:
        """Hold ``value`` as a ``float``: an ``int`` is converted, as the pydantic model did."""
        if type(self.value) is int:
            object.__setattr__(self, "value", float(self.value))


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Vaccination:
    """A completed influenza or pneumococcal vaccination (Immunization)."""

    kind: VaccineKind
    display: str
    on: date
    ref: str


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class MProteinTyping:
    """An immunofixation (M-component typing) result.

    ``isotypes`` holds the heavy chains the result names ("IgG", ...); empty when it names none.
    """

    isotypes: frozenset[str]
    text: str
    effective: date
    ref: str


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    """A Condition or Procedure that places the patient in a population (or outside the guideline)."""

    ref: str
    kind: DiagnosisKind
    display: str
    recorded: date | None = None


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class DataIssue:
    """A resource (or prefetch key) the service could not use, and why. Shown on the card."""

    ref: str
    reason: Message


class PatientRecord(FrozenModel):
    """Everything the rules know about one patient. Lab results in g/L; all tuples in no particular order.

    Attributes:
        birth_date: the birth date; for a partial ``birthDate`` ("1999", "2009-04") the earliest possible one.
        birth_date_latest: the latest possible birth date of a partial ``birthDate``; ``None`` when exact.
        deceased: ``Patient.deceased[x]`` says the patient has died: no recommendation is made.
    """

    birth_date: date | None = None
    birth_date_latest: date | None = None
    deceased: bool = False
    labs: tuple[LabResult, ...] = ()
    therapies: tuple[TherapyAdministration, ...] = ()
    infections: tuple[InfectionRecord, ...] = ()
    admissions: tuple[Admission, ...] = ()
    antibiotics: tuple[AntibioticRecord, ...] = ()
    igrt: tuple[IgrtRecord, ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()
    data_issues: tuple[DataIssue, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    vaccinations: tuple[Vaccination, ...] = ()
    m_protein_typings: tuple[MProteinTyping, ...] = ()
    preliminary_labs: tuple[PreliminaryLab, ...] = ()
