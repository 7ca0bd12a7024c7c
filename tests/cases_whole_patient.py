"""Golden cases of issue "clinical fidelity 3": stop, pause and restart see the whole patient.

Each case shows one item of the issue as a request and the cards the service answers (``fixtures/golden/``). Synthetic
patients only; codes from ``../shared/reference/terminology.md``.
"""

from __future__ import annotations

from typing import Any

from tests import factories as f
from tests.golden_case import IVIG, ORDER_SELECT, PATIENT_VIEW, SCIG, Case, order_select

CLL = ("DC911", "Kronisk lymfatisk leukæmi af B-celle type")
HIZENTRA = ("J06BA01", "Hizentra 200 mg/ml injektionsvæske")
PRIVIGEN = ("J06BA02", "Privigen 100 mg/ml infusionsvæske")


def _instance(n: int) -> str:
    return f"33333333-3333-4333-8333-{n:012d}"


def _on_scig(pid: str, first: str, last: str) -> list[dict[str, Any]]:
    return f.administrations(pid, "scig", *HIZENTRA, first, last, 7)


def _treatment_failing() -> dict[str, Any]:
    """Standard IgRT since November, summer: a pause would be proposed, but a verified pneumonia on IgRT in May."""
    pid = "sid-failing"
    resources = [
        f.patient(pid, "1950-05-05"),
        f.condition(pid, "cll", *CLL, "2019-01-10"),
        f.lab(pid, "igg-0", "igg", 3.1, "2025-10-20"),
        *_on_scig(pid, "2025-11-03", "2026-06-08"),
        f.condition(pid, "pneumonia", "DJ13", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-05-04"),
        f.lab(pid, "igg-trough", "igg", 5.4, "2026-06-01"),
    ]
    return f.hook_request("patient-view", pid, resources, instance=_instance(1))


def _new_high_risk_period() -> dict[str, Any]:
    """On IgRT since 2025 (standard rules), stop attempt due; a CAR-T infusion on 2026-09-01 intervenes."""
    pid = "sid-new-car-t"
    resources = [
        f.patient(pid, "1957-02-14"),
        f.condition(pid, "dlbcl", "DC833", "Diffust storcellet B-celle lymfom", "2024-06-01"),
        f.lab(pid, "igg-0", "igg", 3.3, "2025-09-25"),
        *_on_scig(pid, "2025-10-06", "2026-11-16"),
        f.administration(pid, "axicel", "L01XL03", "Yescarta (axicabtagene ciloleucel)", "2026-09-01"),
        f.lab(pid, "igg-1", "igg", 6.8, "2026-11-02"),
    ]
    return f.hook_request("patient-view", pid, resources, instance=_instance(2))


def _population_3_after_car_t() -> dict[str, Any]:
    """CAR-T, IgRT on IgG < 4 alone inside the window, then an allogeneic HSCT: population 3 decides the stop."""
    pid = "sid-allo-after-car-t"
    resources = [
        f.patient(pid, "1966-08-30"),
        f.condition(pid, "all", "DC910", "Akut lymfoblastær leukæmi", "2024-11-01"),
        f.administration(pid, "tisacel", "L01XL04", "Kymriah (tisagenlecleucel)", "2026-03-02"),
        f.lab(pid, "igg-0", "igg", 2.8, "2026-04-10"),
        *f.administrations(pid, "ivig", *PRIVIGEN, "2026-04-15", "2026-11-11", 28),
        f.condition(pid, "allo", "DZ948E1", "Allogent stamcelletransplanteret", "2026-03-20"),
    ]
    return f.hook_request("patient-view", pid, resources, instance=_instance(3))


def _restart_low_igg_in_washout() -> dict[str, Any]:
    """IgRT stopped in August; two severe infections since; IgG 3.2 and 3.4 drawn inside the washout: restart."""
    pid = "sid-restart"
    resources = [
        f.patient(pid, "1949-12-01"),
        f.condition(pid, "cll", *CLL, "2018-03-01"),
        *f.administrations(pid, "ivig", *PRIVIGEN, "2025-08-06", "2026-08-05", 28),
        f.admission(pid, "adm-1", "2026-09-08", "2026-09-14", diagnosis="pneumonia"),
        f.condition(pid, "pneumonia", "DJ13", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-09-08"),
        f.admission(pid, "adm-2", "2026-10-20", "2026-10-25", diagnosis="erysipelas"),
        f.condition(pid, "erysipelas", "DA46", "Erysipelas", "2026-10-20", encounter="adm-2"),
        f.lab(pid, "igg-1", "igg", 3.4, "2026-09-30"),
        f.lab(pid, "igg-2", "igg", 3.2, "2026-11-10"),
        f.lab(pid, "iga-2", "iga", 0.3, "2026-11-10"),
        f.lab(pid, "igm-2", "igm", 0.2, "2026-11-10"),
    ]
    return order_select(pid, resources, _instance(4), "draft-ivig", IVIG)


def _start_without_criterion() -> dict[str, Any]:
    """IgRT started with IgG 6.4 and no infections (primary prophylaxis): review, never a confident continue."""
    pid = "sid-primary-prophylaxis"
    resources = [
        f.patient(pid, "1961-04-22"),
        f.condition(pid, "fl", "DC829", "Follikulært lymfom UNS", "2023-01-15"),
        f.lab(pid, "igg-0", "igg", 6.4, "2026-06-20"),
        *_on_scig(pid, "2026-07-01", "2026-11-18"),
        f.lab(pid, "igg-1", "igg", 8.1, "2026-10-01"),
    ]
    return f.hook_request("patient-view", pid, resources, instance=_instance(5))


def _myeloid_neoplasm() -> dict[str, Any]:
    """Myelodysplastic syndrome (SKS DD469) is a haematological disease: population 1, not 4."""
    pid = "sid-mds"
    resources = [
        f.patient(pid, "1944-07-07"),
        f.condition(pid, "mds", "DD469", "Myelodysplastisk syndrom UNS", "2022-05-01"),
        f.condition(pid, "sepsis", "DA419C", "Svær sepsis", "2026-08-10"),
        f.lab(pid, "igg-1", "igg", 3.6, "2026-10-01"),
        f.lab(pid, "igg-2", "igg", 3.3, "2026-11-05"),
        f.lab(pid, "iga-2", "iga", 0.5, "2026-11-05"),
        f.lab(pid, "igm-2", "igm", 0.3, "2026-11-05"),
    ]
    return order_select(pid, resources, _instance(6), "draft-scig", SCIG)


def _car_t_history_code() -> dict[str, Any]:
    """CAR-T only as a history code (SKS DZ948D) recorded on 2026-10-05, IgG 3.2: the infusion date decides."""
    pid = "sid-car-t-history"
    resources = [
        f.patient(pid, "1959-03-03"),
        f.condition(pid, "mm", "DC900", "Myelomatose", "2021-02-01"),
        f.condition(
            pid,
            "car-t-history",
            "DZ948D",
            "Tidligere behandling med genetisk modificerede autologe blodceller (CAR-T)",
            "2026-10-05",
            category="problem-list-item",
        ),
        f.lab(pid, "igg-1", "igg", 3.2, "2026-11-02"),
        f.lab(pid, "iga-1", "iga", 0.2, "2026-11-02"),
        f.lab(pid, "igm-1", "igm", 0.1, "2026-11-02"),
    ]
    return order_select(pid, resources, _instance(7), "draft-ivig", IVIG)


def _infection_recorded_twice() -> dict[str, Any]:
    """One pneumonia as an encounter diagnosis and as its problem-list copy without onset: one infection."""
    pid = "sid-copy"
    copy = f.condition(
        pid,
        "pneumonia-copy",
        "DJ13",
        "Pneumoni forårsaget af Streptococcus pneumoniae",
        None,
        category="problem-list-item",
    )
    copy["recordedDate"] = "2026-07-20"
    resources = [
        f.patient(pid, "1952-10-10"),
        f.condition(pid, "cll", *CLL, "2017-06-01"),
        f.condition(pid, "pneumonia", "DJ13", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-06-28"),
        copy,
        f.lab(pid, "igg-1", "igg", 3.5, "2026-10-01"),
        f.lab(pid, "igg-2", "igg", 3.4, "2026-11-05"),
        f.lab(pid, "iga-2", "iga", 0.4, "2026-11-05"),
        f.lab(pid, "igm-2", "igm", 0.3, "2026-11-05"),
    ]
    return order_select(pid, resources, _instance(8), "draft-scig", SCIG)


def _preliminary_igg() -> dict[str, Any]:
    """Final IgG 7.2 on 2026-10-20; a newer preliminary IgG 3.8 on 2026-11-18 awaits confirmation."""
    pid = "sid-preliminary"
    resources = [
        f.patient(pid, "1958-01-30"),
        f.condition(pid, "cll", *CLL, "2020-09-01"),
        f.lab(pid, "igg-1", "igg", 7.2, "2026-10-20"),
        f.lab(pid, "igg-2", "igg", 3.8, "2026-11-18", status="preliminary"),
    ]
    return order_select(pid, resources, _instance(9), "draft-scig", SCIG)


def _deceased(hook: str, n: int) -> dict[str, Any]:
    pid = f"sid-deceased-{hook}"
    patient = f.patient(pid, "1947-05-19")
    patient["deceasedDateTime"] = "2026-11-12T04:10:00+01:00"
    resources = [
        patient,
        f.condition(pid, "cll", *CLL, "2016-01-01"),
        f.lab(pid, "igg-1", "igg", 2.9, "2026-10-01"),
        f.lab(pid, "igg-2", "igg", 2.7, "2026-11-01"),
        *_on_scig(pid, "2026-03-02", "2026-11-09"),
    ]
    if hook == "patient-view":
        return f.hook_request(hook, pid, resources, instance=_instance(n))
    return order_select(pid, resources, _instance(n), "draft-scig", SCIG)


def _infection_not_verified_start() -> dict[str, Any]:
    """Persistent IgG < 4, one verified pneumonia and a UTI without organism or antibiotic: verification decides."""
    pid = "sid-unverified"
    resources = [
        f.patient(pid, "1953-09-09"),
        f.condition(pid, "cll", *CLL, "2019-04-01"),
        f.condition(pid, "pneumonia", "DJ13", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-04-02"),
        f.condition(pid, "uti", "DN390", "Urinvejsinfektion UNS", "2026-08-15"),
        f.lab(pid, "igg-1", "igg", 3.7, "2026-10-01"),
        f.lab(pid, "igg-2", "igg", 3.5, "2026-11-05"),
        f.lab(pid, "iga-2", "iga", 0.4, "2026-11-05"),
        f.lab(pid, "igm-2", "igm", 0.3, "2026-11-05"),
    ]
    return order_select(pid, resources, _instance(12), "draft-scig", SCIG)


def _infection_not_verified_on_igrt() -> dict[str, Any]:
    """A stop attempt would be due, but a pneumonia without organism or antibiotic occurred on IgRT in October."""
    pid = "sid-unverified-on-igrt"
    resources = [
        f.patient(pid, "1955-11-11"),
        f.condition(pid, "cll", *CLL, "2018-08-01"),
        f.lab(pid, "igg-0", "igg", 3.2, "2026-01-20"),
        *_on_scig(pid, "2026-02-02", "2026-11-16"),
        f.condition(pid, "pneumonia", "DJ189", "Pneumoni UNS", "2026-10-12"),
    ]
    return f.hook_request("patient-view", pid, resources, instance=_instance(13))


CASES: tuple[Case, ...] = (
    Case(
        "safety-treatment-failing-no-summer-pause",
        PATIENT_VIEW,
        "safety check 1: infection on IgRT -> continue and adjust the dose, never pause",
        _treatment_failing,
        as_of="2026-06-15",
    ),
    Case(
        "safety-new-car-t-no-stop-attempt",
        PATIENT_VIEW,
        "safety check 2: CAR-T less than 6 months ago -> continue, stop moves to the window end",
        _new_high_risk_period,
    ),
    Case(
        "population-3-after-car-t-standard-stop-rules",
        PATIENT_VIEW,
        "safety check 3: allogeneic HSCT after CAR-T -> population 3 stop rules, not the 6-month stop",
        _population_3_after_car_t,
    ),
    Case(
        "restart-low-igg-in-washout-start",
        ORDER_SELECT,
        "IgG < 4 drawn after immunoglobulin is an upper bound of the own IgG -> restart without waiting",
        _restart_low_igg_in_washout,
    ),
    Case(
        "igrt-started-without-criterion-individual-assessment",
        PATIENT_VIEW,
        "IgRT started on IgG >= 4 without infections (primary prophylaxis) -> individual assessment, not continue",
        _start_without_criterion,
    ),
    Case(
        "myeloid-neoplasm-population-1-start",
        ORDER_SELECT,
        "myelodysplastic syndrome is population 1 -> start on persistent IgG < 4 and sepsis",
        _myeloid_neoplasm,
    ),
    Case(
        "car-t-history-code-date-unknown-insufficient-data",
        ORDER_SELECT,
        "CAR-T only as a history code, window may run -> insufficient data: record the infusion date",
        _car_t_history_code,
    ),
    Case(
        "infection-recorded-twice-counts-once-not-indicated",
        ORDER_SELECT,
        "an encounter diagnosis and its problem-list copy without onset count once -> not-indicated",
        _infection_recorded_twice,
    ),
    Case(
        "preliminary-low-igg-insufficient-data",
        ORDER_SELECT,
        "a newer preliminary IgG 3.8 -> no not-indicated on the older final 7.2",
        _preliminary_igg,
    ),
    Case(
        "deceased-patient-view-no-card",
        PATIENT_VIEW,
        "Patient.deceasedDateTime -> no recommendation, no card",
        lambda: _deceased("patient-view", 10),
    ),
    Case(
        "deceased-order-select-no-card",
        ORDER_SELECT,
        "Patient.deceasedDateTime -> no recommendation on an order hook either",
        lambda: _deceased("order-select", 11),
    ),
    Case(
        "infection-not-verified-insufficient-data",
        ORDER_SELECT,
        "a UTI without organism or antibiotic would decide the start -> insufficient data naming it",
        _infection_not_verified_start,
    ),
    Case(
        "safety-infection-not-verified-no-stop",
        PATIENT_VIEW,
        "safety check: an unverified pneumonia on IgRT keeps a stop attempt back -> individual assessment",
        _infection_not_verified_on_igrt,
        as_of="2026-11-20",
    ),
)
