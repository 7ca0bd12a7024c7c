"""The fixture patients: one per decision-table row (and the quiet and error cases), with the hook that shows it.

``python -m tests.cases`` writes ``fixtures/golden/<service>/<case>/request.json`` and ``case.json``;
``pytest --update-golden`` then writes each ``expected.json`` from the running service, for review.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests import factories as f
from tests.cases_dose import CASES as DOSE_CASES
from tests.cases_whole_patient import CASES as WHOLE_PATIENT_CASES
from tests.golden_case import AS_OF as AS_OF
from tests.golden_case import IVIG, ORDER_SELECT, ORDER_SIGN, PATIENT_VIEW, ROOT, SCIG, Case, order_select


def _pop2_window_start() -> dict[str, Any]:
    pid = "sid-pop2-window"
    resources = [
        f.patient(pid, "1958-04-02"),
        f.condition(
            pid, "dlbcl", "DC833", "Diffust storcellet B-celle lymfom", "2025-11-03", category="problem-list-item"
        ),
        f.administration(pid, "axicel", "L01XL03", "Yescarta (axicabtagene ciloleucel)", "2026-08-31"),
        f.lab(pid, "igg-1", "igg", 3.1, "2026-10-30"),
        f.lab(pid, "iga-1", "iga", 0.2, "2026-10-30"),
        f.lab(pid, "igm-1", "igm", 0.1, "2026-10-30"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000001", "draft-ivig", IVIG)


def _pop2_after_window_start() -> dict[str, Any]:
    pid = "sid-pop2-after"
    tec = f.administrations(pid, "tec", "L01FX24", "Tecvayli (teclistamab)", "2025-09-01", "2026-02-23", 7)
    resources = [
        f.patient(pid, "1951-12-24"),
        f.condition(pid, "mm", "DC900", "Myelomatose", "2023-05-10", category="problem-list-item"),
        *tec,
        f.admission(pid, "adm-sepsis", "2026-06-10", "2026-06-18", diagnosis="sepsis"),
        f.condition(pid, "sepsis", "DA419C", "Svær sepsis", "2026-06-10", encounter="adm-sepsis"),
        f.lab(pid, "igg-1", "igg", 3.4, "2026-10-05"),
        f.lab(pid, "igg-2", "igg", 3.0, "2026-11-02"),
        f.lab(pid, "iga-2", "iga", 0.3, "2026-11-02"),
        f.lab(pid, "igm-2", "igm", 0.2, "2026-11-02"),
    ]
    body = f.hook_request(
        "order-sign",
        pid,
        resources,
        instance="11111111-1111-4111-8111-000000000002",
        draft=f.draft_order(pid, "draft-scig", *SCIG, shape="epic"),
        shape="epic",
    )
    body["prefetch"]["procedures"]["entry"] = [
        {
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "warning",
                        "code": "processing",
                        "details": {"text": "Resource request returns no results."},
                    }
                ],
            },
            "search": {"mode": "outcome"},
        }
    ]
    return body


def _pop2_after_window_not_indicated() -> dict[str, Any]:
    pid = "sid-pop2-noinf"
    resources = [
        f.patient(pid, "1962-06-15"),
        f.condition(pid, "fl", "DC829", "Follikulært lymfom UNS", "2024-02-01"),
        f.administration(pid, "lisocel", "L01XL08", "Breyanzi (lisocabtagene maraleucel)", "2026-01-15"),
        f.lab(pid, "igg-1", "igg", 3.6, "2026-10-01"),
        f.lab(pid, "igg-2", "igg", 3.5, "2026-11-01"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000003", "draft-ivig", IVIG)


def _pop1_start() -> dict[str, Any]:
    pid = "sid-pop1-cll"
    resources = [
        f.patient(pid, "1948-03-09"),
        f.condition(pid, "cll", "DC911", "Kronisk lymfatisk leukæmi af B-celle type", "2019-09-01"),
        f.condition(pid, "pneumonia", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-05-01"),
        f.condition(pid, "erysipelas", "DA46", "Erysipelas", "2026-09-01"),
        f.lab(pid, "igg-1", "igg", 3.5, "2026-10-12"),
        f.lab(pid, "igg-2", "igg", 320, "2026-11-10", unit="mg/dL", coding="loinc"),
        f.lab(pid, "igg-error", "igg", 1.0, "2026-11-15", status="entered-in-error"),
        f.lab(pid, "iga-1", "iga", 0.4, "2026-11-10", unit="umol/L"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000004")


def _pop1_consider() -> dict[str, Any]:
    pid = "sid-pop1-mm"
    resources = [
        f.patient(pid, "1955-01-20"),
        f.condition(pid, "mm", "109989006", "Multiple myeloma", "2022-03-01", system=f.SNOMED),
        f.condition(pid, "uti", "DN390", "Urinvejsinfektion UNS", "2026-07-05"),
        f.order(pid, "pivmecillinam", "J01CA08", "Pivmecillinam", "2026-07-05", status="completed", reason="uti"),
        f.condition(pid, "pneumonia", "J15.9", "Bacterial pneumonia, unspecified", "2026-10-02", system=f.ICD10),
        f.order(pid, "amoxicillin", "J01CA04", "Amoxicillin", "2026-10-03", status="completed"),
        f.lab(pid, "igg-1", "igg", 5.2, "2026-11-01"),
        f.lab(pid, "mprotein-1", "m-protein", 11.0, "2026-11-01", coding="loinc"),
        f.immunofixation(pid, "ifx-1", "Monoklonalt IgA kappa", "2026-11-01"),
        f.lab(pid, "iga-1", "iga", 0.3, "2026-11-01", comparator="<"),
        f.lab(pid, "igm-1", "igm", 0.1, "2026-11-01"),
    ]
    return f.hook_request(
        "order-sign",
        pid,
        resources,
        instance="11111111-1111-4111-8111-000000000005",
        draft=f.draft_order(pid, "draft-scig", *SCIG),
    )


def _m_component_untyped_immunoparesis() -> dict[str, Any]:
    """An M-component without typing: total IgG 7.4 cannot decide; IgA and IgM below reference take its place."""
    pid = "sid-mm-untyped-paresis"
    resources = [
        f.patient(pid, "1951-02-14"),
        f.condition(pid, "mm", "DC900", "Myelomatose", "2023-05-01"),
        f.condition(pid, "pneumonia", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-06-10"),
        f.condition(pid, "uti", "DN390", "Urinvejsinfektion UNS", "2026-09-20"),
        f.order(pid, "pivmecillinam", "J01CA08", "Pivmecillinam", "2026-09-20", status="completed", reason="uti"),
        f.lab(pid, "igg-1", "igg", 7.4, "2026-11-02"),
        f.lab(pid, "mprotein-1", "m-protein", 6.0, "2026-11-02", coding="loinc"),
        f.lab(pid, "iga-1", "iga", 0.3, "2026-11-02", low=0.7),
        f.lab(pid, "igm-1", "igm", 0.2, "2026-11-02", low=0.4),
    ]
    return f.hook_request(
        "order-sign",
        pid,
        resources,
        instance="11111111-1111-4111-8111-000000000120",
        draft=f.draft_order(pid, "draft-scig", *SCIG),
    )


def _m_component_untyped_insufficient() -> dict[str, Any]:
    """An M-component without typing and without IgA/IgM: never not-indicated on a normal total IgG."""
    pid = "sid-mm-untyped"
    resources = [
        f.patient(pid, "1950-10-30"),
        f.condition(pid, "mm", "DC900", "Myelomatose", "2024-01-15"),
        f.condition(pid, "pneumonia-1", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-03-03"),
        f.condition(pid, "pneumonia-2", "DJ149", "Pneumoni forårsaget af Haemophilus influenzae", "2026-09-12"),
        f.lab(pid, "igg-1", "igg", 8.1, "2026-11-04"),
        f.lab(pid, "mprotein-1", "m-protein", 7.5, "2026-11-04", coding="loinc"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000121", "draft-scig", SCIG)


def _igg_not_own_after_icans_ivig() -> dict[str, Any]:
    """High-dose IVIG for ICANS after CAR-T: not IgRT, but the IgG drawn since is not the patient's own."""
    pid = "sid-icans-ivig"
    resources = [
        f.patient(pid, "1962-07-19"),
        f.condition(pid, "dlbcl", "DC833", "Diffust storcellet B-celle lymfom", "2025-09-01"),
        f.administration(pid, "axicel", "L01XL03", "Yescarta (axicabtagene ciloleucel)", "2026-09-15"),
        f.administration(
            pid,
            "ivig-icans",
            *IVIG,
            "2026-09-25",
            reason=("http://hl7.org/fhir/sid/icd-10-cm", "G92.0", "Immune effector cell-associated neurotoxicity"),
        ),
        f.lab(pid, "igg-1", "igg", 9.6, "2026-11-10"),
        f.lab(pid, "iga-1", "iga", 0.2, "2026-11-10"),
        f.lab(pid, "igm-1", "igm", 0.1, "2026-11-10"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000122", "draft-ivig", IVIG)


def _hsct_unknown_type() -> dict[str, Any]:
    pid = "sid-hsct-unknown"
    resources = [
        f.patient(pid, "1970-03-22"),
        f.condition(pid, "hsct", "DZ948E", "Stamcelletransplanteret", "2026-02-10"),
        f.lab(pid, "igg-1", "igg", 3.2, "2026-11-06"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000123", "draft-scig", SCIG)


def _bsab_switch_new_t0() -> dict[str, Any]:
    """Teclistamab, then talquetamab 5 weeks later: a switch is a new start, so T0 is the talquetamab start."""
    pid = "sid-bsab-switch"
    resources = [
        f.patient(pid, "1956-11-11"),
        f.condition(pid, "mm", "DC900", "Myelomatose", "2021-04-01"),
        *f.administrations(pid, "tec", "L01FX24", "Tecvayli (teclistamab)", "2026-01-05", "2026-08-24", 14),
        *f.administrations(pid, "tal", "L01FX29", "Talvey (talquetamab)", "2026-09-28", "2026-11-16", 14),
        f.lab(pid, "igg-1", "igg", 3.3, "2026-11-09"),
        f.lab(pid, "iga-1", "iga", 0.1, "2026-11-09"),
        f.lab(pid, "igm-1", "igm", 0.1, "2026-11-09"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000124", "draft-ivig", IVIG)


def _standard_overdue_stop() -> dict[str, Any]:
    """Weekly SCIG for 17 months with no stop attempt and no infection in 6 months: the attempt is overdue."""
    pid = "sid-overdue"
    resources = [
        f.patient(pid, "1948-02-02"),
        f.condition(pid, "cll", *CLL, "2014-06-01"),
        *f.administrations(pid, "scig", *HIZENTRA, "2025-06-02", "2026-11-16", 7),
        f.condition(pid, "pneumonia", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-02-11"),
        f.lab(pid, "igg-1", "igg", 7.1, "2026-11-16"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000125")


def _standard_continue_reassess() -> dict[str, Any]:
    """The same, with a bacterial pneumonia on IgRT 2 months ago: continue and reassess every 6 months."""
    pid = "sid-reassess"
    resources = [
        f.patient(pid, "1948-02-02"),
        f.condition(pid, "cll", *CLL, "2014-06-01"),
        *f.administrations(pid, "scig", *HIZENTRA, "2025-06-02", "2026-11-16", 7),
        f.condition(pid, "pneumonia", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-09-22"),
        f.lab(pid, "igg-1", "igg", 7.1, "2026-11-16"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000126")


def _samples_during_infection() -> dict[str, Any]:
    """Two IgG < 4 g/L, each taken while an infection was active: persistence is not shown."""
    pid = "sid-during-infection"
    resources = [
        f.patient(pid, "1957-09-09"),
        f.condition(pid, "cll", *CLL, "2019-01-01"),
        f.condition(
            pid,
            "pneumonia",
            "DJ139",
            "Pneumoni forårsaget af Streptococcus pneumoniae",
            "2026-09-25",
            abatement="2026-10-10",
        ),
        f.condition(pid, "cellulitis", "DL031", "Cellulitis på underekstremitet", "2026-11-01"),
        f.order(pid, "amoxicillin", "J01CA04", "Amoxicillin", "2026-11-01", status="completed"),
        f.lab(pid, "igg-1", "igg", 3.4, "2026-10-05"),
        f.lab(pid, "igg-2", "igg", 3.1, "2026-11-05"),
        f.lab(pid, "iga-2", "iga", 0.3, "2026-11-05"),
        f.lab(pid, "igm-2", "igm", 0.2, "2026-11-05"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000127", "draft-scig", SCIG)


def _pop3_start() -> dict[str, Any]:
    pid = "sid-pop3-hsct"
    resources = [
        f.patient(pid, "1979-08-11"),
        f.condition(pid, "aml", "DC920", "Akut myeloid leukæmi", "2025-01-10"),
        f.condition(pid, "allo", "DZ948E1", "Allogent stamcelletransplanteret", "2025-06-02"),
        f.lab(pid, "igg-1", "igg", 3.8, "2026-11-05"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000006")


def _pop4_consider() -> dict[str, Any]:
    pid = "sid-pop4"
    resources = [
        f.patient(pid, "1970-10-30"),
        f.condition(pid, "hgg", "DD801A", "Hypogammaglobulinæmi UNS", "2025-03-01"),
        f.admission(pid, "adm-1", "2026-08-14", "2026-08-20"),
        f.condition(
            pid, "pneumonia", "DJ149", "Pneumoni forårsaget af Haemophilus influenzae", "2026-08-14", encounter="adm-1"
        ),
        f.lab(pid, "igg-1", "igg", 3.3, "2026-09-20", coding="npu-legacy"),
        f.lab(pid, "igg-2", "igg", 3.0, "2026-11-03", coding="npu-legacy"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000007", "draft-ivig", IVIG)


def _no_recent_igg() -> dict[str, Any]:
    pid = "sid-no-igg"
    resources = [
        f.patient(pid, "1950-05-05"),
        f.condition(pid, "cll", "C91.1", "Chronic lymphocytic leukaemia of B-cell type", "2020-01-01", system=f.ICD10),
        f.lab(pid, "igg-old", "igg", 3.9, "2026-06-01"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000008", "draft-ivig", IVIG)


def _child() -> dict[str, Any]:
    pid = "sid-child"
    resources = [
        f.patient(pid, "2015-02-14"),
        f.condition(pid, "all", "DC910", "Akut lymfoblastær leukæmi", "2025-10-01"),
        f.administration(pid, "tisacel", "L01XL04", "Kymriah (tisagenlecleucel)", "2026-07-01"),
        f.lab(pid, "igg-1", "igg", 2.5, "2026-11-01"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000009", "draft-ivig", IVIG)


def _short_course(hook: str, instance: str) -> dict[str, Any]:
    pid = "sid-pop2-short-stop"
    resources = [
        f.patient(pid, "1966-09-01"),
        f.condition(pid, "mcl", "DC831", "Mantlecellelymfom", "2025-08-01"),
        f.administration(pid, "brexucel", "L01XL06", "Tecartus (brexucabtagene autoleucel)", "2026-04-10"),
        f.lab(pid, "igg-1", "igg", 3.0, "2026-04-25"),
        *f.administrations(pid, "ivig", *IVIG, "2026-05-01", "2026-11-01", 28),
    ]
    draft = f.draft_order(pid, "draft-ivig", *IVIG) if hook == "order-sign" else None
    return f.hook_request(hook, pid, resources, instance=instance, draft=draft)


def _short_course_continue() -> dict[str, Any]:
    pid = "sid-pop2-short-cont"
    resources = [
        f.patient(pid, "1960-12-01"),
        f.condition(pid, "dlbcl", "DC833", "Diffust storcellet B-celle lymfom", "2025-12-01"),
        *f.administrations(pid, "epco", "L01FX27", "Tepkinly (epcoritamab)", "2026-07-01", "2026-11-11", 14),
        f.lab(pid, "igg-1", "igg", 3.2, "2026-07-25"),
        *f.administrations(pid, "scig", *SCIG, "2026-08-01", "2026-11-14", 7),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000012")


def _standard_stop_attempt() -> dict[str, Any]:
    pid = "sid-standard-stop"
    resources = [
        f.patient(pid, "1947-07-07"),
        f.condition(pid, "cll", "DC911", "Kronisk lymfatisk leukæmi af B-celle type", "2018-01-01"),
        f.statement(pid, "scig-home", *SCIG, "2026-02-02"),
        f.lab(pid, "igg-1", "igg", 7.1, "2026-11-01"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000013")


def _standard_continue() -> dict[str, Any]:
    pid = "sid-standard-cont"
    resources = [
        f.patient(pid, "1953-02-28"),
        f.condition(pid, "wm", "DC880", "Waldenströms makroglobulinæmi", "2021-01-01"),
        f.order(pid, "scig-order", *SCIG, "2026-09-01"),
        f.lab(pid, "igg-1", "igg", 6.4, "2026-11-02"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000014")


def _standard_pause() -> dict[str, Any]:
    pid = "sid-standard-pause"
    resources = [
        f.patient(pid, "1957-11-11"),
        f.condition(pid, "cll", "DC911", "Kronisk lymfatisk leukæmi af B-celle type", "2017-01-01"),
        *f.administrations(pid, "ivig", *IVIG, "2025-10-01", "2026-06-01", 28),
        f.lab(pid, "igg-1", "igg", 7.4, "2026-05-20"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000015")


def _no_igg_since_t0() -> dict[str, Any]:
    pid = "sid-pop2-no-igg-t0"
    resources = [
        f.patient(pid, "1964-04-04"),
        f.condition(pid, "mm", "DC900", "Myelomatose", "2021-01-01"),
        f.administration(pid, "cilta", "L01XL05", "Carvykti (ciltacabtagene autoleucel)", "2026-10-01"),
        f.lab(pid, "igg-1", "igg", 3.9, "2026-09-20"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000016")


def _unconfirmed() -> dict[str, Any]:
    pid = "sid-unconfirmed"
    resources = [
        f.patient(pid, "1949-01-15"),
        f.condition(pid, "cll", "DC911", "Kronisk lymfatisk leukæmi af B-celle type", "2016-01-01"),
        f.admission(pid, "adm-1", "2026-09-05", "2026-09-09"),
        f.condition(
            pid,
            "pneumonia",
            "DJ139",
            "Pneumoni forårsaget af Streptococcus pneumoniae",
            "2026-09-05",
            encounter="adm-1",
        ),
        f.lab(pid, "igg-1", "igg", 3.5, "2026-11-01"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000017", "draft-ivig", IVIG)


def _pid() -> dict[str, Any]:
    pid = "sid-pid"
    resources = [
        f.patient(pid, "1988-06-06"),
        f.condition(pid, "cvid", "DD801C", "Common variable agammaglobulinemia", "2010-01-01"),
        f.lab(pid, "igg-1", "igg", 2.0, "2026-11-01"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000018", "draft-scig", SCIG)


def _quiet_not_indicated() -> dict[str, Any]:
    pid = "sid-pop2-quiet"
    resources = [
        f.patient(pid, "1961-03-03"),
        f.condition(pid, "mm", "DC900", "Myelomatose", "2022-01-01"),
        *f.administrations(pid, "elra", "L01FX32", "Elrexfio (elranatamab)", "2026-03-01", "2026-10-25", 14),
        f.lab(pid, "igg-1", "igg", 5.0, "2026-11-01"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000019")


def _unrelated_patient() -> dict[str, Any]:
    pid = "sid-unrelated"
    resources = [f.patient(pid, "1975-05-05"), f.condition(pid, "htn", "DI109", "Essentiel hypertension", "2020-01-01")]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000020")


def _unrelated_order() -> dict[str, Any]:
    pid = "sid-pop1-cll"
    resources = [f.patient(pid, "1948-03-09")]
    body = f.hook_request(
        "order-select",
        pid,
        resources,
        instance="11111111-1111-4111-8111-000000000021",
        draft=f.draft_order(pid, "draft-amox", "J01CA04", "Amoxicillin 500 mg"),
        selections=["MedicationRequest/draft-amox"],
    )
    body.pop("prefetch")
    return body


def _missing_prefetch() -> dict[str, Any]:
    body = _pop2_window_start()
    body["hookInstance"] = "11111111-1111-4111-8111-000000000022"
    del body["prefetch"]["conditions"]
    body["prefetch"]["encounters"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout", "details": {"text": "Search timed out"}}],
    }
    return body


HIZENTRA = ("J06BA01", "Hizentra 200 mg/ml injektionsvæske")
CLL = ("DC911", "Kronisk lymfatisk leukæmi af B-celle type")


def _dose_in_range_prerequisites_met() -> dict[str, Any]:
    pid = "sid-dose-scig"
    resources = [
        f.patient(pid, "1950-06-15"),
        f.condition(pid, "cll", *CLL, "2019-02-01"),
        f.condition(pid, "pneumonia-1", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-03-10"),
        f.condition(pid, "pneumonia-2", "DJ149", "Pneumoni forårsaget af Haemophilus influenzae", "2026-07-20"),
        f.order(pid, "prophylaxis", "J01CE02", "Phenoxymethylpenicillin (profylakse)", "2026-08-01"),
        f.lab(pid, "igg-1", "igg", 3.6, "2026-10-05"),
        f.lab(pid, "igg-2", "igg", 3.3, "2026-11-05"),
        f.lab(pid, "iga-2", "iga", 0.3, "2026-11-05"),
        f.lab(pid, "igm-2", "igm", 0.2, "2026-11-05"),
        f.weight(pid, "weight-1", 70.0, "2026-11-05"),
        f.immunization(pid, "flu-2026", "J07BB02", "Influvac mod Influenza", "2026-10-01"),
        f.immunization(pid, "pcv-2025", "J07AL02", "Prevenar 20 (pneumokokvaccine, konjugeret)", "2025-11-12"),
    ]
    draft = f.with_dose(f.draft_order(pid, "draft-scig", *HIZENTRA), 10.0, 1, "wk")
    return f.hook_request(
        "order-select",
        pid,
        resources,
        instance="11111111-1111-4111-8111-000000000101",
        draft=draft,
        selections=["MedicationRequest/draft-scig"],
    )


def _dose_out_of_range_ivig() -> dict[str, Any]:
    pid = "sid-dose-ivig"
    resources = [
        f.patient(pid, "1961-09-30"),
        f.condition(pid, "dlbcl", "DC833", "Diffust storcellet B-celle lymfom", "2025-10-01"),
        f.administration(pid, "axicel", "L01XL03", "Yescarta (axicabtagene ciloleucel)", "2026-09-15"),
        f.lab(pid, "igg-1", "igg", 2.9, "2026-11-12"),
        f.weight(pid, "weight-1", 50.0, "2026-11-12"),
    ]
    draft = f.with_dose(f.draft_order(pid, "draft-ivig", *IVIG), 60.0, 4, "wk")
    return f.hook_request("order-sign", pid, resources, instance="11111111-1111-4111-8111-000000000102", draft=draft)


def _m_component_estimate() -> dict[str, Any]:
    pid = "sid-igg-myeloma"
    resources = [
        f.patient(pid, "1949-01-05"),
        f.condition(pid, "mm", "DC900", "Myelomatose", "2024-02-01"),
        f.condition(pid, "sepsis", "DA403", "Pneumokoksepsis", "2026-09-02", severe=True),
        f.immunofixation(pid, "ifx-1", "Monoklonalt IgG kappa", "2026-06-01"),
        f.lab(pid, "igg-1", "igg", 8.2, "2026-10-14"),
        f.lab(pid, "mp-1", "m-protein", 5.1, "2026-10-14", coding="loinc"),
        f.lab(pid, "igg-2", "igg", 9.0, "2026-11-12"),
        f.lab(pid, "mp-2", "m-protein", 6.4, "2026-11-12", coding="loinc"),
        f.lab(pid, "iga-2", "iga", 0.2, "2026-11-12", low=0.7),
        f.lab(pid, "igm-2", "igm", 0.1, "2026-11-12", low=0.4),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000103")


def _trough_above_8_follow_up_overdue() -> dict[str, Any]:
    pid = "sid-trough-high"
    resources = [
        f.patient(pid, "1952-03-03"),
        f.condition(pid, "cll", *CLL, "2016-05-01"),
        *f.administrations(pid, "scig", *HIZENTRA, "2026-04-01", "2026-11-18", 7),
        f.lab(pid, "igg-1", "igg", 9.2, "2026-06-01"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000104")


def _trough_low_severe_infection() -> dict[str, Any]:
    pid = "sid-trough-low"
    resources = [
        f.patient(pid, "1958-12-12"),
        f.condition(pid, "cll", *CLL, "2018-05-01"),
        *f.administrations(pid, "ivig", *IVIG, "2026-06-01", "2026-11-09", 28),
        f.admission(pid, "adm-pneu", "2026-10-15", "2026-10-21", diagnosis="pneumonia"),
        f.condition(
            pid,
            "pneumonia",
            "DJ139",
            "Pneumoni forårsaget af Streptococcus pneumoniae",
            "2026-10-15",
            encounter="adm-pneu",
        ),
        f.lab(pid, "igg-1", "igg", 4.8, "2026-11-09"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000105")


def _infections_after_stop() -> dict[str, Any]:
    pid = "sid-after-stop"
    resources = [
        f.patient(pid, "1946-08-08"),
        f.condition(pid, "cll", *CLL, "2015-01-01"),
        *f.administrations(pid, "scig-old", *HIZENTRA, "2025-09-01", "2026-04-27", 7),
        f.condition(pid, "pneumonia-1", "DJ139", "Pneumoni forårsaget af Streptococcus pneumoniae", "2026-07-02"),
        f.condition(pid, "pneumonia-2", "DJ149", "Pneumoni forårsaget af Haemophilus influenzae", "2026-09-24"),
        f.lab(pid, "igg-1", "igg", 3.7, "2026-10-10"),
        f.lab(pid, "igg-2", "igg", 3.4, "2026-11-09"),
        f.lab(pid, "iga-2", "iga", 0.3, "2026-11-09"),
        f.lab(pid, "igm-2", "igm", 0.2, "2026-11-09"),
    ]
    return order_select(pid, resources, "11111111-1111-4111-8111-000000000106", "draft-scig", HIZENTRA)


def _product_switch() -> dict[str, Any]:
    pid = "sid-switch"
    resources = [
        f.patient(pid, "1955-05-25"),
        f.condition(pid, "cll", *CLL, "2019-04-01"),
        *f.administrations(pid, "ivig", *IVIG, "2026-08-05", "2026-10-28", 28),
        f.lab(pid, "igg-1", "igg", 6.6, "2026-10-28"),
        f.weight(pid, "weight-1", 82.0, "2026-10-28"),
    ]
    draft = f.with_dose(f.draft_order(pid, "draft-scig", *HIZENTRA), 10.0, 1, "wk")
    return f.hook_request(
        "order-select",
        pid,
        resources,
        instance="11111111-1111-4111-8111-000000000107",
        draft=draft,
        selections=["MedicationRequest/draft-scig"],
    )


def _stop_markers_rising() -> dict[str, Any]:
    pid = "sid-stop-markers"
    resources = [
        f.patient(pid, "1951-10-10"),
        f.condition(pid, "cll", *CLL, "2017-01-01"),
        f.lab(pid, "iga-0", "iga", 0.3, "2026-01-20"),
        f.lab(pid, "igm-0", "igm", 0.2, "2026-01-20"),
        f.cd19(pid, "cd19-0", 0.01, "2026-01-20"),
        f.statement(pid, "scig-home", *HIZENTRA, "2026-02-02"),
        f.lab(pid, "igg-1", "igg", 7.0, "2026-11-01"),
        f.lab(pid, "iga-1", "iga", 0.6, "2026-11-01"),
        f.lab(pid, "igm-1", "igm", 0.35, "2026-11-01"),
        f.cd19(pid, "cd19-1", 0.08, "2026-11-01"),
    ]
    return f.hook_request("patient-view", pid, resources, instance="11111111-1111-4111-8111-000000000108")


def _danish() -> dict[str, Any]:
    body = _dose_out_of_range_ivig()
    body["hookInstance"] = "11111111-1111-4111-8111-000000000109"
    body["extension"] = {"sid-igrt": {"language": "da"}}
    return body


_CASES: tuple[Case, ...] = (
    Case("pop2-window-igg-below-4-start", ORDER_SELECT, "2, inside window: IgG < 4 -> start", _pop2_window_start),
    Case(
        "pop2-after-window-severe-infection-start",
        ORDER_SIGN,
        "2, from T0 + 6 months: IgG < 4 + severe/recurrent -> start",
        _pop2_after_window_start,
    ),
    Case(
        "pop2-after-window-no-infection-not-indicated",
        ORDER_SELECT,
        "any: none of the above -> not-indicated",
        _pop2_after_window_not_indicated,
    ),
    Case(
        "pop1-persistent-igg-below-4-recurrent-start",
        PATIENT_VIEW,
        "1: persistent IgG < 4 + severe/recurrent -> start",
        _pop1_start,
    ),
    Case(
        "pop1-igg-below-6-antibiotic-infections-consider",
        ORDER_SIGN,
        "1, 2, 4: IgG < 6 + infection criterion -> consider",
        _pop1_consider,
    ),
    Case("pop3-allo-hsct-igg-below-4-start", PATIENT_VIEW, "3: IgG < 4 -> start", _pop3_start),
    Case(
        "pop4-specialist-work-up-consider",
        ORDER_SELECT,
        "4: as population 1 after work-up -> consider / referral",
        _pop4_consider,
    ),
    Case("no-recent-igg-insufficient-data", ORDER_SELECT, "any: no recent IgG -> insufficient-data", _no_recent_igg),
    Case(
        "child-after-car-t-individual-assessment",
        ORDER_SELECT,
        "children after CAR-T/bsAb -> individual-assessment",
        _child,
    ),
    Case(
        "pop2-on-igrt-short-course-stop",
        PATIENT_VIEW,
        "2, IgRT started in window on IgG < 4 alone, >= T0 + 6 months -> stop",
        lambda: _short_course("patient-view", "11111111-1111-4111-8111-000000000010"),
    ),
    Case(
        "pop2-on-igrt-short-course-stop-new-order",
        ORDER_SIGN,
        "same, new immunoglobulin order -> stop + remove order",
        lambda: _short_course("order-sign", "11111111-1111-4111-8111-000000000011"),
    ),
    Case(
        "pop2-on-igrt-short-course-continue",
        PATIENT_VIEW,
        "2, same, < T0 + 6 months -> continue",
        _short_course_continue,
    ),
    Case(
        "standard-on-igrt-stop-attempt",
        PATIENT_VIEW,
        "standard: stop attempt 6-12 months after start, winter included",
        _standard_stop_attempt,
    ),
    Case(
        "standard-on-igrt-continue",
        PATIENT_VIEW,
        "standard: < 6 months after start -> continue (follow-up 3 and 6 months)",
        _standard_continue,
    ),
    Case(
        "standard-on-igrt-summer-pause",
        PATIENT_VIEW,
        "standard, summer and IgRT >= 6 months -> pause",
        _standard_pause,
        as_of="2026-06-15",
    ),
    Case(
        "pop2-window-no-igg-since-t0-insufficient-data",
        PATIENT_VIEW,
        "2, inside window without an IgG since T0 -> insufficient-data",
        _no_igg_since_t0,
    ),
    Case(
        "unconfirmed-igg-below-4-insufficient-data",
        ORDER_SELECT,
        "measurement rule: IgG < 4 not yet persistent -> insufficient-data",
        _unconfirmed,
    ),
    Case(
        "primary-immunodeficiency-out-of-scope",
        ORDER_SELECT,
        "scope: primary immunodeficiency -> individual-assessment",
        _pid,
    ),
    Case(
        "pop2-not-indicated-patient-view-quiet",
        PATIENT_VIEW,
        "patient-view: not-indicated off IgRT -> no card",
        _quiet_not_indicated,
    ),
    Case(
        "unrelated-patient-quiet",
        PATIENT_VIEW,
        "patient-view: patient outside the guideline -> no card",
        _unrelated_patient,
    ),
    Case(
        "unrelated-order-quiet", ORDER_SELECT, "order-select: no immunoglobulin selected -> no card", _unrelated_order
    ),
    Case(
        "required-prefetch-missing-412",
        ORDER_SELECT,
        "required data missing -> 412 OperationOutcome",
        _missing_prefetch,
    ),
    Case(
        "dose-in-range-scig-prerequisites-met",
        ORDER_SELECT,
        "dose in range; prerequisites documented",
        _dose_in_range_prerequisites_met,
    ),
    Case(
        "dose-out-of-range-ivig-in-window",
        ORDER_SIGN,
        "dose out of range; IVIG in the CAR-T window",
        _dose_out_of_range_ivig,
    ),
    Case(
        "m-component-igg-polyclonal-estimate",
        PATIENT_VIEW,
        "IgG myeloma: decision on polyclonal estimate",
        _m_component_estimate,
    ),
    Case(
        "trough-above-8-follow-up-overdue",
        PATIENT_VIEW,
        "trough > 8; follow-up overdue",
        _trough_above_8_follow_up_overdue,
    ),
    Case(
        "trough-below-6-severe-infection",
        PATIENT_VIEW,
        "trough < 6 with severe infection on IgRT",
        _trough_low_severe_infection,
    ),
    Case(
        "infections-after-stop-restart",
        ORDER_SELECT,
        "infections after a stop: prophylaxis first",
        _infections_after_stop,
    ),
    Case("product-switch-ivig-to-scig", ORDER_SELECT, "switch IVIG to SCIG: gram for gram", _product_switch),
    Case("stop-attempt-recovery-markers-rising", PATIENT_VIEW, "stop with rising IgA, IgM, CD19", _stop_markers_rising),
    Case("danish-dose-out-of-range-ivig", ORDER_SIGN, "the same cards in Danish (request extension)", _danish),
    Case(
        "m-component-untyped-immunoparesis-start",
        ORDER_SIGN,
        "1, untyped M-component: documented immunoparesis in place of low IgG -> start",
        _m_component_untyped_immunoparesis,
    ),
    Case(
        "m-component-untyped-insufficient-data",
        ORDER_SELECT,
        "1, untyped M-component, no IgA/IgM: total IgG cannot decide -> insufficient-data, never not-indicated",
        _m_component_untyped_insufficient,
    ),
    Case(
        "igg-not-own-after-icans-ivig",
        ORDER_SELECT,
        "2, IgG drawn after high-dose IVIG for ICANS: not own -> insufficient-data with the own-IgG date",
        _igg_not_own_after_icans_ivig,
    ),
    Case(
        "hsct-unknown-type-insufficient-data",
        ORDER_SELECT,
        "HSCT of unknown type with IgG < 4 -> insufficient-data naming the type",
        _hsct_unknown_type,
    ),
    Case(
        "bsab-switch-new-t0-start",
        ORDER_SELECT,
        "2, switch of bsAb substance is a new start: T0 = the new drug's first dose -> start",
        _bsab_switch_new_t0,
    ),
    Case(
        "standard-overdue-stop-attempt",
        PATIENT_VIEW,
        "standard, > 12 months on IgRT, no stop attempt, no infection in 6 months -> stop (overdue)",
        _standard_overdue_stop,
    ),
    Case(
        "standard-continue-reassess-infection-on-igrt",
        PATIENT_VIEW,
        "standard, > 12 months on IgRT with an infection in 6 months -> continue, reassess every 6 months",
        _standard_continue_reassess,
    ),
    Case(
        "igg-samples-during-infection-insufficient-data",
        ORDER_SELECT,
        "measurement rule: both IgG samples during active infection -> insufficient-data (repeat)",
        _samples_during_infection,
    ),
)


CASES: tuple[Case, ...] = (*_CASES, *WHOLE_PATIENT_CASES, *DOSE_CASES)
"""Every golden case: one per decision-table row, then those of the clinical-fidelity issues."""


def case_dir(case: Case) -> Path:
    return ROOT / case.service / case.name


def write_all() -> None:
    for case in CASES:
        directory = case_dir(case)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "request.json").write_text(dump(case.build()), encoding="utf-8")
        meta = {"asOf": case.as_of, "decisionTableRow": case.row}
        (directory / "case.json").write_text(dump(meta), encoding="utf-8")


def without_uuids(value: Any) -> Any:
    """``value`` with every ``uuid`` member removed: card and suggestion uuids are derived from the service's secret
    key, the endpoint and the client, so a service with another key or caller gives the same cards with other uuids.
    The evidence link keeps its path and its ``appContext`` without the card's uuid."""
    if isinstance(value, dict) and value.get("type") == "smart" and "appContext" in value:
        # The evidence link names its card (a uuid) and lies under the answering server's base URL.
        context = {k: v for k, v in json.loads(value["appContext"]).items() if k != "card"}
        return {**value, "url": "/" + value["url"].split("/", 3)[-1], "appContext": context}
    if isinstance(value, dict):
        return {k: without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [without_uuids(v) for v in value]
    return value


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    write_all()
