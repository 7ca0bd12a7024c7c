"""A draft immunoglobulin order's dose as the guideline reads it (Opsummering, "Dosisjustering").

The FHIR mapper (``fhir_mappers.orders``) fills it from a MedicationRequest; ``guideline.dose`` computes the monthly
g/kg dose from it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from guideline.concepts import IgrtRoute
from guideline.text import Message


class OrderedDose(BaseModel):
    """The dose of a draft immunoglobulin order, as far as the order states it.

    Attributes:
        route: SCIG/IVIG from the ATC code or product.
        product: the Tabel 1 product name when recognised (``guideline.products``).
        concentration_mg_per_ml: from the product, or stated in the order text ("200 mg/ml", "10 %").
        dose_value / dose_unit: one administration: ``g``, ``mL`` or ``g/kg``.
        interval_days: days between administrations (timing period / frequency); ``interval_months`` instead
            when the timing is in months (``periodUnit`` ``mo``).
        problem: why the dose cannot be read, when it cannot.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ref: str
    display: str
    route: IgrtRoute
    product: str | None = None
    concentration_mg_per_ml: float | None = None
    dose_value: float | None = None
    dose_unit: Literal["g", "mL", "g/kg"] | None = None
    interval_days: float | None = None
    interval_months: float | None = None
    problem: Message | None = None
