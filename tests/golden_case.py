"""What a golden case is, and the request shapes every case module shares (no cases here).

``tests/cases.py`` collects the cases: its own, ``tests/cases_whole_patient.py`` (issue "clinical fidelity 3")
and ``tests/cases_dose.py`` (issue "clinical fidelity 4").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import factories as f

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "golden"
AS_OF = "2026-11-20"
IVIG = ("J06BA02", "Privigen 100 mg/ml infusionsvæske")
SCIG = ("J06BA01", "Hizentra 200 mg/ml injektionsvæske")
ORDER_SELECT, ORDER_SIGN, PATIENT_VIEW = "sid-igrt-order-select", "sid-igrt-order-sign", "sid-igrt-patient-view"


@dataclass(frozen=True)
class Case:
    """A golden case: the decision-table row it shows and the request that shows it."""

    name: str
    service: str
    row: str
    build: Callable[[], dict[str, Any]]
    as_of: str = AS_OF


def order_select(
    pid: str, resources: list[dict[str, Any]], instance: str, draft_id: str, product: tuple[str, str]
) -> dict[str, Any]:
    """An order-select request (Sandbox shape) with one selected draft immunoglobulin order."""
    return f.hook_request(
        "order-select",
        pid,
        resources,
        instance=instance,
        draft=f.draft_order(pid, draft_id, *product),
        selections=[f"MedicationRequest/{draft_id}"],
    )
