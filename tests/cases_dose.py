"""Golden cases of issue "clinical fidelity 4": the dose as ordered, dates that agree, Danish a clinician would write.

Each case shows one item of the issue as a request and the cards the service answers (``fixtures/golden/``):
every dosage step read (loading course, then maintenance; the unreadable part named), the dose check for every
patient, frequencies in words, fSCIG in small children, product advice only beside a start or continuation,
immunomodulatory orders outside the guideline (no card), and a trough that is a trough.
"""

from __future__ import annotations

from typing import Any

from tests import factories as f
from tests.golden_case import IVIG, ORDER_SELECT, ORDER_SIGN, PATIENT_VIEW, Case, order_select

HIZENTRA = ("J06BA01", "Hizentra 200 mg/ml injektionsvæske")
CUTAQUIG = ("J06BA01", "Cutaquig 165 mg/ml injektionsvæske")
HYQVIA = ("J06BA01", "HyQvia 100 mg/ml infusionsvæske, subkutan")
CLL = ("DC911", "Kronisk lymfatisk leukæmi af B-celle type")
ICANS = ("http://hl7.org/fhir/sid/icd-10-cm", "G92.0", "Immune effector cell-associated neurotoxicity syndrome")


def _instance(n: int) -> str:
    return f"22222222-2222-4222-8222-{n:012d}"


def _pop1_start(pid: str, born: str) -> list[dict[str, Any]]:
    """A CLL patient who meets the population-1 start criteria (persistent IgG < 4, two bacterial pneumonias)."""
    return [
        f.patient(pid, born),
        f.condition(pid, "cll", *CLL, "2019-02-01"),
        f.condition(pid, "pneumonia-1", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-03-10"),
        f.condition(pid, "pneumonia-2", "DJ149", "Pneumoni forårsaget af Haemophilus influenzae", "2026-07-20"),
        f.lab(pid, "igg-1", "igg", 3.6, "2026-10-05"),
        f.lab(pid, "igg-2", "igg", 3.3, "2026-11-05"),
        f.lab(pid, "iga-2", "iga", 0.3, "2026-11-05"),
        f.lab(pid, "igm-2", "igm", 0.2, "2026-11-05"),
    ]


def _loading_then_maintenance() -> dict[str, Any]:
    """Item 1: a loading course (7 g daily for 5 days) then 50 mL Hizentra weekly, listed maintenance first, with an
    infusion rate before the dose: the monthly dose is the maintenance's (0.57 g/kg), the loading course its own."""
    pid = "sid-dose-loading"
    resources = [*_pop1_start(pid, "1950-06-15"), f.weight(pid, "weight-1", 70.0, "2026-11-05")]
    draft = f.with_dosages(
        f.draft_order(pid, "draft-scig", *HIZENTRA),
        f.dosage(50, "mL", period_unit="wk", sequence=2, rate_ml_per_h=25),
        f.dosage(7, "g", period_unit="d", count=5, sequence=1),
    )
    return f.hook_request(
        "order-select",
        pid,
        resources,
        instance=_instance(1),
        draft=draft,
        selections=["MedicationRequest/draft-scig"],
    )


def _unreadable_step_named() -> dict[str, Any]:
    """Item 1: the first step is text only, the second gives the infusion rate as its dose: the card names the step
    and the unit it could not read, never "the order has no dose"."""
    pid = "sid-dose-unreadable"
    resources = [*_pop1_start(pid, "1952-01-11"), f.weight(pid, "weight-1", 68.0, "2026-11-05")]
    draft = f.with_dosages(
        f.draft_order(pid, "draft-ivig", *IVIG),
        {"text": "Infusionshastighed efter skema"},
        f.dosage(30, "mL/h", period=4, period_unit="wk"),
    )
    return f.hook_request("order-sign", pid, resources, instance=_instance(2), draft=draft)


def _overdose_primary_immunodeficiency() -> dict[str, Any]:
    """Item 2: primary immunodeficiency (outside the SID criteria), 31.5 g Hizentra weekly at 70 kg = 1.8 g/kg per
    month: the overdose is flagged on the card all the same."""
    pid = "sid-dose-pid"
    resources = [
        f.patient(pid, "1985-09-09"),
        f.condition(pid, "cvid", "DD801C", "Common variable agammaglobulinemia", "2012-01-01"),
        f.lab(pid, "igg-1", "igg", 2.4, "2026-11-01"),
        f.weight(pid, "weight-1", 70.0, "2026-11-01"),
    ]
    draft = f.with_dosages(f.draft_order(pid, "draft-scig", *HIZENTRA), f.dosage(31.5, "g", period_unit="wk"))
    return f.hook_request(
        "order-select",
        pid,
        resources,
        instance=_instance(3),
        draft=draft,
        selections=["MedicationRequest/draft-scig"],
    )


def _child_after_car_t() -> dict[str, Any]:
    """Item 2: a 12-year-old after CAR-T on IVIG every 4 weeks: individual assessment, yet the dose range, the trough
    (4.6 g/L drawn before the dose, 28 days after the last) and the product advice still apply."""
    pid = "sid-dose-child"
    resources = [
        f.patient(pid, "2014-05-05"),
        f.condition(pid, "all", "DC910", "Akut lymfoblastær leukæmi", "2025-06-01"),
        f.administration(pid, "kymriah", "L01XL04", "Kymriah (tisagenlecleucel)", "2026-03-02"),
        *f.administrations(pid, "ivig", *IVIG, "2026-04-27", "2026-11-09", 28),
        f.lab(pid, "igg-1", "igg", 4.6, "2026-11-09"),
        f.weight(pid, "weight-1", 40.0, "2026-11-09"),
    ]
    draft = f.with_dosages(f.draft_order(pid, "draft-ivig", *IVIG), f.dosage(0.5, "g/kg", period=4, period_unit="wk"))
    return f.hook_request("order-sign", pid, resources, instance=_instance(4), draft=draft)


def _twice_weekly_ml() -> dict[str, Any]:
    """Item 3: 30 mL Cutaquig twice weekly: "30 mL (4.95 g at 165 mg/mL) twice weekly", 0.66 g/kg per month at 60 kg;
    the machine-readable interval stays 3.5 days."""
    pid = "sid-dose-twice-weekly"
    resources = [*_pop1_start(pid, "1949-12-01"), f.weight(pid, "weight-1", 60.0, "2026-11-05")]
    draft = f.with_dosages(
        f.draft_order(pid, "draft-scig", *CUTAQUIG), f.dosage(30, "mL", frequency=2, period_unit="wk")
    )
    return f.hook_request("order-sign", pid, resources, instance=_instance(5), draft=draft)


def _fscig_small_child() -> dict[str, Any]:
    """Item 4: a 4-year-old after allogeneic HSCT (population 3, IgG < 4: start) ordered HyQvia every 4 weeks: ordinary
    SCIG about once a week is preferred (Anbefalinger for SCIG, "små børn")."""
    pid = "sid-dose-fscig-child"
    resources = [
        f.patient(pid, "2022-03-15"),
        f.condition(pid, "all", "DC910", "Akut lymfoblastær leukæmi", "2025-04-01"),
        f.condition(pid, "allo", "DZ948E1", "Allogent stamcelletransplanteret", "2026-02-02"),
        f.lab(pid, "igg-1", "igg", 3.2, "2026-11-10"),
        f.weight(pid, "weight-1", 16.0, "2026-11-10"),
    ]
    draft = f.with_dosages(
        f.draft_order(pid, "draft-fscig", *HYQVIA), f.dosage(0.5, "g/kg", period=4, period_unit="wk")
    )
    return f.hook_request(
        "order-select",
        pid,
        resources,
        instance=_instance(6),
        draft=draft,
        selections=["MedicationRequest/draft-fscig"],
    )


def _not_indicated_ivig() -> dict[str, Any]:
    """Item 5: IgG 7.5 g/L and no infections: not indicated; the IVIG order gets its dose card but no "IVIG can be
    considered"."""
    pid = "sid-dose-not-indicated"
    resources = [
        f.patient(pid, "1954-04-04"),
        f.condition(pid, "cll", *CLL, "2020-01-01"),
        f.lab(pid, "igg-1", "igg", 7.5, "2026-11-02"),
        f.weight(pid, "weight-1", 75.0, "2026-11-02"),
    ]
    draft = f.with_dosages(f.draft_order(pid, "draft-ivig", *IVIG), f.dosage(30, "g", period=4, period_unit="wk"))
    return f.hook_request(
        "order-select",
        pid,
        resources,
        instance=_instance(7),
        draft=draft,
        selections=["MedicationRequest/draft-ivig"],
    )


def _icans_reason_code() -> dict[str, Any]:
    """Item 6: IVIG ordered for ICANS (reasonCode) 5 weeks after CAR-T with IgG 3.0: not IgRT, so no card at all."""
    pid = "sid-im-icans"
    resources = [
        f.patient(pid, "1963-08-08"),
        f.condition(pid, "dlbcl", "DC833", "Diffust storcellet B-celle lymfom", "2025-12-01"),
        f.administration(pid, "axicel", "L01XL03", "Yescarta (axicabtagene ciloleucel)", "2026-10-15"),
        f.lab(pid, "igg-1", "igg", 3.0, "2026-11-16"),
    ]
    body = order_select(pid, resources, _instance(8), "draft-ivig", IVIG)
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    body["context"]["draftOrders"]["entry"][0]["resource"] = f.with_reason([draft], code=ICANS)[0]
    return body


def _high_dose_course() -> dict[str, Any]:
    """Item 6: IVIG 0.4 g/kg daily for 5 days (2 g/kg per course) without a stated reason: immunomodulatory dose,
    no card ("do not start IgRT" or "prefer SCIG" would be wrong)."""
    pid = "sid-im-course"
    resources = [
        f.patient(pid, "1958-02-20"),
        f.condition(pid, "cll", *CLL, "2018-03-01"),
        f.lab(pid, "igg-1", "igg", 6.8, "2026-11-02"),
        f.weight(pid, "weight-1", 80.0, "2026-11-02"),
    ]
    draft = f.with_dosages(f.draft_order(pid, "draft-ivig", *IVIG), f.dosage(0.4, "g/kg", period_unit="d", count=5))
    return f.hook_request("order-sign", pid, resources, instance=_instance(9), draft=draft)


def _itp_reason_reference() -> dict[str, Any]:
    """Item 6: IVIG 20 g once, its reasonReference the patient's recorded ITP (in the prefetch): no card."""
    pid = "sid-im-itp"
    resources = [
        f.patient(pid, "1956-06-30"),
        f.condition(pid, "mm", "DC900", "Myelomatose", "2022-01-01"),
        f.condition(pid, "itp", "D69.3", "Idiopathic thrombocytopenic purpura", "2026-11-14", system=f.ICD10),
        f.lab(pid, "igg-1", "igg", 3.1, "2026-11-14"),
        f.weight(pid, "weight-1", 72.0, "2026-11-14"),
    ]
    draft = f.with_reason(
        f.with_dosages(f.draft_order(pid, "draft-ivig", *IVIG), f.dosage(20, "g", period_unit="d", count=1)),
        condition="itp",
    )
    return f.hook_request("order-sign", pid, resources, instance=_instance(10), draft=draft)


def _ivig_every_4_weeks(pid: str, igg: float, drawn: str) -> list[dict[str, Any]]:
    """A CLL patient on IVIG every 28 days since 2026-05-04 (last dose 2026-11-16), one IgG on ``drawn``."""
    return [
        f.patient(pid, "1951-05-05"),
        f.condition(pid, "cll", *CLL, "2017-05-01"),
        f.lab(pid, "igg-0", "igg", 3.4, "2026-03-02"),
        f.lab(pid, "igg-00", "igg", 3.2, "2026-04-06"),
        f.condition(pid, "pneumonia-1", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-01-10"),
        f.condition(pid, "pneumonia-2", "DJ149", "Pneumoni forårsaget af Haemophilus influenzae", "2026-03-20"),
        *f.administrations(pid, "ivig", *IVIG, "2026-05-04", "2026-11-16", 28),
        f.lab(pid, "igg-1", "igg", igg, drawn),
    ]


def _within_interval_no_above_8() -> dict[str, Any]:
    """Item 8: IgG 9.4 g/L drawn 3 days after an IVIG dose is not a trough: no "above 8 g/L" and no dose reduction."""
    pid = "sid-trough-early-high"
    return f.hook_request("patient-view", pid, _ivig_every_4_weeks(pid, 9.4, "2026-11-19"), instance=_instance(11))


def _within_interval_low() -> dict[str, Any]:
    """Item 8: IgG 5.1 g/L drawn 3 days after an IVIG dose: the trough is lower still, so the low-trough advice stays,
    with the date to draw the next trough (the day before or the day of the next dose)."""
    pid = "sid-trough-early-low"
    return f.hook_request("patient-view", pid, _ivig_every_4_weeks(pid, 5.1, "2026-11-19"), instance=_instance(12))


def _at_trough_above_8() -> dict[str, Any]:
    """Item 8: IgG 8.6 g/L drawn on the dose day (before the dose, 28 days after the last): a trough above 8 g/L."""
    pid = "sid-trough-at-high"
    return f.hook_request("patient-view", pid, _ivig_every_4_weeks(pid, 8.6, "2026-11-16"), instance=_instance(13))


def _interval_unknown() -> dict[str, Any]:
    """Item 8: one recorded IVIG dose and an active order: the interval cannot be read; IgG 5.0 is still below 6."""
    pid = "sid-trough-unknown"
    resources = [
        f.patient(pid, "1950-02-02"),
        f.condition(pid, "cll", *CLL, "2016-02-01"),
        f.condition(pid, "pneumonia-1", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-06-10"),
        f.condition(pid, "pneumonia-2", "DJ149", "Pneumoni forårsaget af Haemophilus influenzae", "2026-08-20"),
        f.lab(pid, "igg-0", "igg", 3.4, "2026-08-25"),
        f.lab(pid, "igg-00", "igg", 3.2, "2026-09-20"),
        f.order(pid, "ivig-order", *IVIG, "2026-10-19"),
        f.administration(pid, "ivig-1", *IVIG, "2026-10-19"),
        f.lab(pid, "igg-1", "igg", 5.0, "2026-11-10"),
    ]
    return f.hook_request("patient-view", pid, resources, instance=_instance(14))


def _summer_pause_no_dose_up() -> dict[str, Any]:
    """Never "pause" and "adjust the dose up" on one card: on IVIG for 8 months, summer, trough 5.2 g/L without
    infections: the pause card carries no trough advice."""
    pid = "sid-pause-no-dose-up"
    resources = [
        f.patient(pid, "1953-07-07"),
        f.condition(pid, "cll", *CLL, "2016-07-01"),
        f.lab(pid, "igg-0", "igg", 3.3, "2025-08-25"),
        f.lab(pid, "igg-00", "igg", 3.1, "2025-09-22"),
        f.condition(pid, "pneumonia-1", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2025-04-10"),
        f.condition(pid, "pneumonia-2", "DJ149", "Pneumoni forårsaget af Haemophilus influenzae", "2025-08-01"),
        *f.administrations(pid, "ivig", *IVIG, "2025-10-06", "2026-06-15", 28),
        f.lab(pid, "igg-1", "igg", 5.2, "2026-05-18"),
    ]
    return f.hook_request("patient-view", pid, resources, instance=_instance(15))


CASES: tuple[Case, ...] = (
    Case(
        "dose-loading-course-then-maintenance",
        ORDER_SELECT,
        "dose: loading course then maintenance; monthly dose from the maintenance, the loading course its own total",
        _loading_then_maintenance,
    ),
    Case(
        "dose-unreadable-step-named",
        ORDER_SIGN,
        "dose: the part of the order that cannot be read is named with its step",
        _unreadable_step_named,
    ),
    Case(
        "dose-overdose-primary-immunodeficiency",
        ORDER_SELECT,
        "dose: 1.8 g/kg per month flagged also outside the SID criteria (primary immunodeficiency)",
        _overdose_primary_immunodeficiency,
    ),
    Case(
        "dose-child-after-car-t-dose-trough-product",
        ORDER_SIGN,
        "children after CAR-T/bsAb: dose range, trough and product advice still apply",
        _child_after_car_t,
    ),
    Case(
        "dose-twice-weekly-ml-in-words",
        ORDER_SIGN,
        "dose: frequency in words, mL converted to grams at the product's concentration",
        _twice_weekly_ml,
    ),
    Case(
        "product-fscig-small-child",
        ORDER_SELECT,
        "product: fSCIG (HyQvia) for a small child -> ordinary SCIG about weekly preferred",
        _fscig_small_child,
    ),
    Case(
        "product-not-indicated-no-ivig-advice",
        ORDER_SELECT,
        "product: no IVIG advice beside not-indicated",
        _not_indicated_ivig,
    ),
    Case(
        "immunomodulation-icans-reason-no-card",
        ORDER_SELECT,
        "immunomodulatory order (reasonCode ICANS): not IgRT -> no card",
        _icans_reason_code,
    ),
    Case(
        "immunomodulation-high-dose-course-no-card",
        ORDER_SIGN,
        "immunomodulatory order (0.4 g/kg daily x 5 = 2 g/kg per course): not IgRT -> no card",
        _high_dose_course,
    ),
    Case(
        "immunomodulation-itp-reason-reference-no-card",
        ORDER_SIGN,
        "immunomodulatory order (reasonReference to a recorded ITP): not IgRT -> no card",
        _itp_reason_reference,
    ),
    Case(
        "trough-within-interval-not-above-8",
        PATIENT_VIEW,
        "trough: IgG drawn 3 days after IVIG is not a trough -> no above-8 or dose-reduction advice",
        _within_interval_no_above_8,
    ),
    Case(
        "trough-within-interval-below-6-still-low",
        PATIENT_VIEW,
        "trough: IgG < 6 drawn before the trough still proves a low trough; next trough date",
        _within_interval_low,
    ),
    Case(
        "trough-at-trough-above-8-next-date",
        PATIENT_VIEW,
        "trough: drawn before the dose, one interval after the last -> trough > 8; next trough date",
        _at_trough_above_8,
    ),
    Case(
        "trough-interval-unknown-below-6",
        PATIENT_VIEW,
        "trough: dosing interval not readable -> said; low advice stays, no dose reduction",
        _interval_unknown,
    ),
    Case(
        "pause-summer-no-trough-advice",
        PATIENT_VIEW,
        "never pause and adjust the dose on one card: no trough advice beside a pause",
        _summer_pause_no_dose_up,
        as_of="2026-06-15",
    ),
)
