"""A draft immunoglobulin order's dose as the guideline reads it (Opsummering, "Dosisjustering").

The FHIR mapper (``fhir_mappers.orders``) fills it from a MedicationRequest; ``guideline.dose`` computes the monthly
g/kg dose from it and decides whether the order is IgRT at all (``guideline.dose.order_purpose``).

An order may hold several dosage steps (``dosageInstruction`` with ``sequence``): a loading course first, then the
maintenance regimen. ``OrderedDose`` carries the maintenance regimen in its own fields (the monthly dose is computed
from it) and each earlier step in ``loading``, each reported with its own total, never as a month of doses.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from guideline.concepts import IgrtRoute
from guideline.quick_init import slot_setter
from guideline.text import Message

DoseUnit = Literal["g", "mL", "g/kg", "mL/kg"]
"""Units of one administration: grams, millilitres (converted with the product's concentration), g or mL per kg."""
PeriodUnit = Literal["h", "d", "wk", "mo"]
"""UCUM units of ``timing.repeat.periodUnit`` the service reads: hour, day, week, month."""

_DAYS_PER_UNIT = {"h": 1 / 24, "d": 1.0, "wk": 7.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseRegimen:
    """One dosage step of an order: a dose per administration and how often it is given.

    Attributes:
        sequence: ``dosageInstruction.sequence`` when stated (steps are read in its order).
        dose_value / dose_unit: one administration, in ``g``, ``mL``, ``g/kg`` or ``mL/kg``.
        frequency / period / period_unit: ``timing.repeat`` as ordered (``frequency`` administrations per
            ``period`` ``period_unit``), kept to say the frequency in words ("twice weekly").
        interval_days: days between administrations (period / frequency); ``interval_months`` instead when the
            period is in months (``periodUnit`` ``mo``).
        count: the number of administrations when the step is bounded (``timing.repeat.count``, or
            ``boundsDuration`` divided by the interval, whichever is smaller); ``None`` for an open-ended step.
        problem: which part of the step could not be read, when one could not.

    A frozen dataclass, copied with ``dataclasses.replace`` (see ``guideline.record.FrozenModel``).
    """

    sequence: int | None = None
    dose_value: float | None = None
    dose_unit: DoseUnit | None = None
    frequency: int | None = None
    period: float | None = None
    period_unit: PeriodUnit | None = None
    interval_days: float | None = None
    interval_months: float | None = None
    count: int | None = None
    problem: Message | None = None

    def __post_init__(self) -> None:
        """Hold the amounts as ``float``: an ``int`` given is converted, as the pydantic model did."""
        _floats(self, ("dose_value", "period", "interval_days", "interval_months"))

    @property
    def has_dose(self) -> bool:
        """Whether a dose per administration was read."""
        return self.dose_value is not None and self.dose_unit is not None

    @property
    def has_timing(self) -> bool:
        """Whether an interval between administrations was read."""
        return self.interval_days is not None or self.interval_months is not None

    @property
    def span_days(self) -> float | None:
        """Days from the first administration to the day after the last (``count`` x interval), when bounded.

        ``None`` for an open-ended step or an interval in months. Daily x 5 spans 5 days.
        """
        if self.count is None or self.interval_days is None:
            return None
        return self.count * self.interval_days


def _floats(value: object, names: tuple[str, ...]) -> None:
    """Set each ``int`` attribute of ``names`` (a frozen dataclass's) to its ``float``."""
    for name in names:
        number = getattr(value, name)
        if type(number) is int:
            object.__setattr__(value, name, float(number))


def interval_of(frequency: int, period: float, unit: PeriodUnit) -> tuple[float | None, float | None]:
    """Return ``(interval_days, interval_months)`` of ``frequency`` administrations per ``period`` ``unit``.

    ``frequency 2 / period 1 wk`` gives ``(3.5, None)``; ``1 / 1 mo`` gives ``(None, 1.0)``.
    """
    if unit == "mo":
        return None, round(period / frequency, 4)
    return round(period * _DAYS_PER_UNIT[unit] / frequency, 4), None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderedDose(DoseRegimen):
    """The dose of a draft immunoglobulin order, as far as the order states it.

    The inherited ``DoseRegimen`` fields are the **maintenance** regimen (the last dosage step), from which the
    monthly dose is computed; ``problem`` says which part of the order could not be read.

    Attributes:
        ref / display: ``"MedicationRequest/id"`` and the medication's text.
        route: SCIG/IVIG from the ATC code or product.
        product: the Tabel 1 product name when recognised (``guideline.products``).
        concentration_mg_per_ml: from the product, or stated in the order text ("200 mg/ml", "10 %").
        loading: the steps before the maintenance regimen (a loading course), in order; an order holding only
            a short course has it here and no maintenance dose.
        reason_indication: the immunomodulatory indication the order's own ``reasonCode`` (or a contained or
            drafted reason Condition) names, e.g. ``"ICANS"``; ``None`` when it names none.
        reason_refs: ``reasonReference`` targets (``"Condition/id"``) for the guideline to look up among the
            patient's diagnoses.
    """

    ref: str
    display: str
    route: IgrtRoute
    product: str | None = None
    concentration_mg_per_ml: float | None = None
    loading: tuple[DoseRegimen, ...] = ()
    reason_indication: str | None = None
    reason_refs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Hold the amounts as ``float``: an ``int`` given is converted, as the pydantic model did."""
        DoseRegimen.__post_init__(self)  # explicitly: a slotted dataclass has no zero-argument super()
        _floats(self, ("concentration_mg_per_ml",))

    @property
    def maintenance(self) -> DoseRegimen:
        """The maintenance regimen as a ``DoseRegimen`` (its fields without the order's identity)."""
        # Made without ``DoseRegimen.__init__``: this order's fields are already as that would hold them (floats),
        # and a card reads the maintenance regimen half a dozen times (issue 32).
        regimen: DoseRegimen = object.__new__(DoseRegimen)
        for name, set_slot in _REGIMEN_SLOT_SETTERS:
            set_slot(regimen, getattr(self, name))
        return regimen

    @property
    def regimens(self) -> tuple[DoseRegimen, ...]:
        """Every dosage step in order: the loading steps, then the maintenance regimen."""
        return (*self.loading, self.maintenance)


DOSE_REGIMEN_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(DoseRegimen))
"""The names of ``DoseRegimen``'s fields: an ``OrderedDose``'s maintenance regimen is these of its own."""
_REGIMEN_SLOT_SETTERS = tuple((name, slot_setter(DoseRegimen, name)) for name in DOSE_REGIMEN_FIELDS)
"""``DoseRegimen``'s fields and the setters of their slots (``OrderedDose.maintenance``)."""
