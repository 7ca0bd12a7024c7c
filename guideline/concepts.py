"""Closed vocabularies of the guideline core.

Every value here is part of the service's public contract: recommendation codes and rule ids appear in
``extension["sid-igrt"]`` on each decision card, so they are never renamed, only added to.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Recommendation(StrEnum):
    """The eight recommendations a decision card can carry (issue "end to end", §3)."""

    START = "start"
    CONSIDER = "consider"
    NOT_INDICATED = "not-indicated"
    INSUFFICIENT_DATA = "insufficient-data"
    INDIVIDUAL_ASSESSMENT = "individual-assessment"
    CONTINUE = "continue"
    PAUSE = "pause"
    STOP = "stop"


class Population(IntEnum):
    """The four start populations of Medicinrådet's Opsummering v1.1, "Kriterier for opstart"."""

    HAEMATOLOGICAL = 1
    CAR_T_OR_BSAB = 2
    ALLO_HSCT = 3
    OTHER_HYPOGAMMAGLOBULINAEMIA = 4


class RuleId(StrEnum):
    """Stable identifiers of the rules that produce a decision; one per decision-table row."""

    CHILD_AFTER_CAR_T_OR_BSAB = "child-after-car-t-or-bsab"
    PRIMARY_IMMUNODEFICIENCY = "out-of-scope-primary-immunodeficiency"
    AGE_UNKNOWN = "insufficient-data-age-unknown"
    NO_RECENT_IGG = "insufficient-data-no-recent-igg"
    NO_IGG_SINCE_T0 = "insufficient-data-no-igg-since-t0"
    START_POP2_WINDOW = "start-pop2-window"
    START_POP3 = "start-pop3-allo-hsct"
    START_POP1 = "start-pop1-haematological"
    START_POP2_AFTER_WINDOW = "start-pop2-after-window"
    CONSIDER_POP4 = "consider-pop4-specialist-work-up"
    CONSIDER_IGG_BELOW_6 = "consider-igg-below-6"
    UNCONFIRMED_LOW_IGG = "insufficient-data-igg-not-confirmed"
    IGG_NOT_OWN = "insufficient-data-igg-not-own"
    M_COMPONENT_UNTYPED = "insufficient-data-m-component-untyped"
    HSCT_TYPE_UNKNOWN = "insufficient-data-hsct-type-unknown"
    IGRT_START_BASIS_UNKNOWN = "insufficient-data-igrt-start-basis-unknown"
    NOT_INDICATED = "not-indicated"
    IGRT_START_UNKNOWN = "insufficient-data-igrt-start-unknown"
    POP2_SHORT_COURSE_CONTINUE = "continue-pop2-short-course"
    POP2_SHORT_COURSE_STOP = "stop-pop2-short-course"
    STANDARD_CONTINUE = "continue-standard"
    STANDARD_PAUSE_SUMMER = "pause-standard-summer"
    STANDARD_STOP_ATTEMPT = "stop-standard-attempt"
    STANDARD_STOP_OVERDUE = "stop-standard-attempt-overdue"
    STANDARD_CONTINUE_REASSESS = "continue-standard-reassess"
    CONTINUE_TREATMENT_FAILING = "continue-safety-treatment-failing"
    """A stop or pause overruled: a severe or verified bacterial infection on IgRT, or a low trough with infections."""
    CONTINUE_NEW_HIGH_RISK_PERIOD = "continue-safety-new-high-risk-period"
    """A stop or pause overruled: CAR-T, a new bsAb course or an allogeneic HSCT in the last 6 months."""
    INFECTION_NOT_VERIFIED_ON_IGRT = "individual-assessment-safety-infection-not-verified"
    """A stop or pause overruled: an infection on IgRT that would make the treatment failing if verified."""
    START_CRITERIA_NOT_MET = "individual-assessment-igrt-start-criteria-not-met"
    """On IgRT started without IgG < 4 g/L (or the IgG < 6 criterion) before the start: review the indication."""
    CAR_T_DATE_UNKNOWN = "insufficient-data-car-t-date-unknown"
    """A CAR-T history code without the infusion date, where the window decides the answer."""
    PRELIMINARY_IGG = "insufficient-data-preliminary-igg"
    """A newer preliminary low IgG awaits its final result: no not-indicated before it."""
    INFECTION_NOT_VERIFIED = "insufficient-data-infection-not-verified"
    """Infections coded without organism or antibiotic would decide the start: verify them."""
    PATIENT_DECEASED = "no-recommendation-patient-deceased"
    """``Patient.deceased[x]``: no recommendation, and no card on any hook."""


class Analyte(StrEnum):
    """Laboratory analytes the guideline reads; values are normalised to g/L."""

    IGG = "igg"
    IGA = "iga"
    IGM = "igm"
    M_PROTEIN = "m-protein"


class TherapyKind(StrEnum):
    """T-cell-engaging therapies directed at B-cell or plasma-cell antigens (addendum §1, §4)."""

    CAR_T = "car-t"
    BSAB = "bsab"


class InfectionKind(StrEnum):
    """How a coded infection counts towards the infection criteria (decision table, "Terms")."""

    BACTERIAL = "bacterial"
    """Coded as bacterial (ICD-10 A39-A49, J13-J15; SNOMED bacterial disorders)."""
    POSSIBLY_BACTERIAL = "possibly-bacterial"
    """Organism unspecified (pneumonia UNS, UTI): bacterial only when a J01 antibiotic supports it."""
    BACTERIAL_SEPSIS = "bacterial-sepsis"
    """Life-threatening bacterial sepsis or septic shock (ICD-10 A39.2-A39.4, A40, A41, R57.2)."""
    SEPSIS_UNSPECIFIED = "sepsis-unspecified"
    """Sepsis without a stated organism class: bacterial only when a J01 antibiotic supports it."""


class DiagnosisKind(StrEnum):
    """Diagnoses that place a patient in a population or outside the guideline's scope."""

    HAEMATOLOGICAL_MALIGNANCY = "haematological-malignancy"
    ALLO_HSCT = "allo-hsct"
    HSCT_UNKNOWN_TYPE = "hsct-unknown-type"
    AUTOLOGOUS_HSCT = "autologous-hsct"
    PRIMARY_IMMUNODEFICIENCY = "primary-immunodeficiency"
    CAR_T_HISTORY = "car-t-history"
    BRONCHIECTASIS = "bronchiectasis"
    """A known organ focus (Opsummering, Kriterier for opstart: "kendte bronkiektasier")."""
    IG_IMMUNOMODULATION_INDICATION = "ig-immunomodulation-indication"
    """A reason for high-dose immunoglobulin that is not replacement (ITP, ICANS, Guillain-Barré, Kawasaki, ...)."""


class IgrtRoute(StrEnum):
    """Immunoglobulin route, from ATC J06BA01 (extravascular) or J06BA02 (intravascular)."""

    SCIG = "SCIG"
    IVIG = "IVIG"
    UNKNOWN = "unknown route"


class MeasurementKind(StrEnum):
    """Non-immunoglobulin measurements the guideline reads (body weight for dosing, CD19 B cells for recovery)."""

    BODY_WEIGHT = "body-weight"
    """kg."""
    CD19_ABSOLUTE = "cd19-absolute"
    """CD19 B cells per volume of blood, in the unit reported (10*9/L or /uL); compared only with itself."""
    CD19_PERCENT = "cd19-percent"
    """CD19 B cells as % of lymphocytes."""


class VaccineKind(StrEnum):
    """Vaccinations named in the prerequisites before a start (Opsummering, Kriterier for opstart)."""

    INFLUENZA = "influenza"
    PNEUMOCOCCAL = "pneumococcal"


class InfectionSite(StrEnum):
    """Organ sites of coded infections (``fhir_mappers/codesets/infection_sites.csv``).

    Recurrent infections of one site make a "known organ focus" for targeted prophylaxis; meningitis and
    endocarditis are severe by their site (``SEVERE_SITES``).
    """

    LOWER_RESPIRATORY = "lower-respiratory"
    PLEURA = "pleura"
    URINARY_TRACT = "urinary-tract"
    BLOODSTREAM = "bloodstream"
    CENTRAL_NERVOUS_SYSTEM = "central-nervous-system"
    ENDOCARDIUM = "endocardium"
    SKIN_SOFT_TISSUE = "skin-soft-tissue"
    BONE_JOINT = "bone-joint"
    GASTROINTESTINAL = "gastrointestinal"
    EAR_NOSE_THROAT = "ear-nose-throat"


SEVERE_SITES = frozenset({InfectionSite.CENTRAL_NERVOUS_SYSTEM, InfectionSite.ENDOCARDIUM})
"""Sites whose infection is severe by the code alone: bacterial meningitis and endocarditis are admitted and
life-threatening by nature (issue "clinical fidelity" §5); sepsis is life-threatening through its own kind."""


class AdviceKind(StrEnum):
    """``extension["sid-igrt"].kind`` of the cards beside the decision card (issue "clinical depth")."""

    DOSE = "dose"
    PRODUCT = "product"
    M_COMPONENT = "m-component"
    MONITORING = "monitoring"
    PREREQUISITES = "prerequisites"


class AdviceRule(StrEnum):
    """Stable identifiers of the advice rules; one card per rule that fires."""

    DOSE_IN_RANGE = "dose-monthly-in-range"
    DOSE_OUT_OF_RANGE = "dose-monthly-out-of-range"
    DOSE_NOT_COMPUTABLE = "dose-not-computable"
    TROUGH_ABOVE_8 = "dose-trough-above-8"
    TROUGH_LOW_WITH_SEVERE_INFECTIONS = "dose-trough-below-6-severe-infections"
    TROUGH_HIGH_INFECTION_FREE = "dose-trough-high-infection-free"
    TROUGH_BELOW_6 = "dose-trough-below-6"
    IGG_NOT_AT_TROUGH = "dose-igg-not-at-trough"
    PRODUCT_IVIG_ORDERED = "product-ivig-ordered"
    PRODUCT_SWITCH = "product-switch"
    M_COMPONENT_ESTIMATE = "m-component-polyclonal-estimate"
    M_COMPONENT_ISOTYPE_UNKNOWN = "m-component-isotype-unknown"
    MONITORING_BEFORE_START = "monitoring-before-start"
    MONITORING_FOLLOW_UP = "monitoring-follow-up"
    MONITORING_STOP_MARKERS = "monitoring-stop-markers"
    MONITORING_INFECTIONS_AFTER_STOP = "monitoring-infections-after-stop"
    PREREQUISITES_CHECKLIST = "prerequisites-before-start"
