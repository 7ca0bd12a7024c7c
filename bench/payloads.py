"""Synthetic patients for the benchmark: one composition of FHIR resources, scaled by months of history.

Every month of history holds what a patient on a bispecific antibody and SCIG accumulates: IgG, IgA and IgM
(monthly), a weekly bsAb dose (teclistamab, L01FX24) and a weekly SCIG dose (Hizentra, J06BA01) as
MedicationAdministrations, and every third month a bacterial pneumonia (DJ139) with a 5-day admission, an antibiotic
order and its administrations (piperacillin/tazobactam 3 times a day) and paracetamol 4 times a day. The
MedicationAdministration and MedicationRequest prefetch queries are not filtered by code (the service must see
every antibiotic), so inpatient drug administrations are what makes real histories long.

The request is an ``order-sign`` with a draft SCIG order with a dose, so the decision and the advice cards are
computed: the costliest path. All patients are synthetic (no real CPR numbers: the ``9999`` suffix).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from tests import factories as f

AS_OF = date(2026, 11, 20)
SCIG = ("J06BA01", "Hizentra 200 mg/ml injektionsvæske")
TECLISTAMAB = ("L01FX24", "Tecvayli (teclistamab)")
PIP_TAZO = ("J01CR05", "Piperacillin og tazobactam")
PARACETAMOL = ("N02BE01", "Paracetamol")


@dataclass(frozen=True)
class Payload:
    """A named hook request and the number of FHIR resources in its prefetch (Patient included)."""

    name: str
    request: dict[str, Any]
    resources: int


def patient_resources(pid: str, months: int) -> list[dict[str, Any]]:
    """Return the resources of a patient with ``months`` calendar months of history before ``AS_OF``."""
    start = AS_OF - timedelta(days=30 * months)
    out: list[dict[str, Any]] = [
        f.patient(pid, "1956-03-14"),
        f.condition(pid, "mm", "DC900", "Myelomatose", (start - timedelta(days=200)).isoformat()),
        f.weight(pid, "weight-1", 72.0, (AS_OF - timedelta(days=20)).isoformat()),
    ]
    for week in range(months * 30 // 7):
        day = (start + timedelta(days=7 * week)).isoformat()
        out.append(f.administration(pid, f"tec-{week}", *TECLISTAMAB, day))
        if week >= 4:
            out.append(f.administration(pid, f"scig-{week}", *SCIG, day))
    for month in range(months):
        day = (start + timedelta(days=30 * month + 3)).isoformat()
        out += [
            f.lab(pid, f"igg-{month}", "igg", 5.2 + (month % 5) * 0.3, day),
            f.lab(pid, f"iga-{month}", "iga", 0.3, day),
            f.lab(pid, f"igm-{month}", "igm", 0.2, day),
        ]
        if month % 3 == 1:
            out += _infection_episode(pid, month, start + timedelta(days=30 * month + 10))
    return out


def _infection_episode(pid: str, n: int, onset: date) -> list[dict[str, Any]]:
    """A pneumonia with a 5-day admission and the drugs given during it (40 resources)."""
    end = onset + timedelta(days=5)
    cid, eid = f"pneumonia-{n}", f"adm-{n}"
    out = [
        f.condition(
            pid,
            cid,
            "DJ139",
            "Pneumoni forårsaget af Streptococcus pneumoniae",
            onset.isoformat(),
            encounter=eid,
            severe=n % 2 == 1,
        ),
        f.admission(pid, eid, onset.isoformat(), end.isoformat(), diagnosis=cid),
        f.order(pid, f"pip-order-{n}", *PIP_TAZO, onset.isoformat(), status="completed", reason=cid),
    ]
    for day in range(5):
        on = (onset + timedelta(days=day)).isoformat()
        out += [f.administration(pid, f"pip-{n}-{day}-{i}", *PIP_TAZO, on) for i in range(3)]
        out += [f.administration(pid, f"pcm-{n}-{day}-{i}", *PARACETAMOL, on) for i in range(4)]
    return out


def months_for(target: int) -> int:
    """Return the months of history whose resource count is closest to ``target`` (the count grows with months)."""
    low, high = 1, 1200
    while low < high:  # the first month count reaching the target
        middle = (low + high) // 2
        if len(patient_resources("x", middle)) < target:
            low = middle + 1
        else:
            high = middle
    candidates = [m for m in (low - 1, low) if m >= 1]
    return min(candidates, key=lambda m: abs(len(patient_resources("x", m)) - target))


@cache
def payload(name: str, target: int) -> Payload:
    """Build the ``order-sign`` request for a patient of about ``target`` resources (built once; do not mutate)."""
    pid = f"bench-{name}"
    resources = patient_resources(pid, months_for(target))
    draft = f.with_dose(f.draft_order(pid, "draft-scig", *SCIG), 10, 1, "wk")
    request = f.hook_request(
        "order-sign", pid, resources, instance=f"22222222-2222-4222-8222-{target:012d}", draft=draft
    )
    return Payload(name, request, len(resources))


SIZES: dict[str, int] = {"typical": 60, "heavy": 600, "extreme": 6000}
"""Payload name -> target resource count (the issue's three synthetic patients)."""


def all_payloads() -> list[Payload]:
    """The three benchmark payloads, smallest first."""
    return [payload(name, target) for name, target in SIZES.items()]
