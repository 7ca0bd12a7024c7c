"""The guideline's output: the decision (``Finding``) and the cards beside it (``Advice``), with their criteria.

Each carries its own words: ``summary`` (the card's one line, set by the rule that issued it), ``criteria`` and
``notes``; ``source`` is the guideline section it rests on. All are frozen; collections are tuples. ``Advice`` is a
pydantic model (its ``values`` take ``int`` as ``float``, but a copy keeps what it is given); the others are
dataclasses (see ``guideline.record.FrozenModel``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from guideline.concepts import AdviceKind, AdviceRule, Analyte, Population, Recommendation, RuleId
from guideline.record import Comparator, DataIssue, FrozenModel
from guideline.sources import SourceRef
from guideline.text import Message


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One piece of data a criterion used: value and unit, date, and the resource it came from.

    ``decimals``: the decimals the value was reported with, when known (a lab result's "3.0").
    A frozen dataclass (a card holds a dozen; see ``guideline.record.FrozenModel``).
    """

    text: Message
    ref: str | None = None
    value: float | None = None
    decimals: int | None = None
    comparator: Comparator | None = None
    unit: str | None = None
    on: date | None = None

    def __post_init__(self) -> None:
        """Hold ``value`` as a ``float``: an ``int`` is converted, as the pydantic model did (``3`` is ``3.0``)."""
        if type(self.value) is int:
            object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Criterion:
    """A criterion the rule evaluated: what it says, whether it held, and the data it rested on.

    ``held`` is ``None`` when the data could not decide it (e.g. a lab bound such as "< 8 g/L" against 6 g/L).
    ``required`` is ``False`` for criteria shown for information that did not decide the recommendation
    (e.g. the confirming second IgG inside the CAR-T/bsAb window).
    ``immunoparesis_in_place_of_igg`` is ``True`` when an IgG criterion held on documented general immunoparesis
    instead of an IgG value (M-component; Opsummering, Kriterier for opstart).
    A frozen dataclass (a card holds a dozen; see ``guideline.record.FrozenModel``).
    """

    id: str
    description: Message
    held: bool | None
    required: bool = True
    evidence: tuple[Evidence, ...] = ()
    immunoparesis_in_place_of_igg: bool = False

    def __post_init__(self) -> None:
        """Hold ``evidence`` as a tuple and the flags as ``bool``, whatever iterable or 0/1 was given (as pydantic)."""
        if type(self.evidence) is not tuple:
            object.__setattr__(self, "evidence", tuple(self.evidence))
        if self.held is not None and type(self.held) is not bool:
            object.__setattr__(self, "held", bool(self.held))

    @classmethod
    def met(cls, criterion_id: str, description: Message, *evidence: Evidence) -> Criterion:
        """Return a required criterion that held, with the data it rested on (e.g. a safety check, infections found)."""
        return cls(id=criterion_id, description=description, held=True, evidence=evidence)

    @classmethod
    def unmet(cls, criterion_id: str, description: Message, *evidence: Evidence) -> Criterion:
        """Return a required criterion that did not hold: data the decision needs is missing (a date, a type, a result).

        ``evidence`` shows what is recorded instead (an undated order, an untyped M-component, a preliminary IgG).
        """
        return cls(id=criterion_id, description=description, held=False, evidence=evidence)

    @classmethod
    def for_information(cls, criterion_id: str, description: Message, *evidence: Evidence) -> Criterion:
        """Return a criterion shown for information only: not decided (``held`` ``None``) and not required.

        E.g. a reading of other data ("if they were verified bacterial infections: start IgRT").
        """
        return cls(id=criterion_id, description=description, held=None, required=False, evidence=evidence)

    def restated(self, description: Message, held: bool | None, **update: Any) -> Criterion:
        """Return this criterion read again: a new description (it usually quotes this one) and whether it held.

        ``update`` replaces other fields too (``id``, ``required``, ``evidence``, ...).
        """
        return replace(self, description=description, held=held, **update)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyDates:
    """Dates a clinician acts on. ``stop_due`` is the latest date IgRT should be stopped or a stop attempted."""

    t0: date | None = None
    window_end: date | None = None
    igrt_start: date | None = None
    stop_due: date | None = None
    next_follow_up: date | None = None
    own_igg_from: date | None = None
    """The first day an IgG reflects the patient's own production again (last immunoglobulin dose + washout)."""
    stop_attempt_until: date | None = None
    """The end of the standard stop-attempt window ("6-12 måneder efter"): a stop attempt is due from
    ``stop_due`` until this date. ``None`` for the CAR-T/bsAb 6-month rule, whose ``stop_due`` is "senest"."""
    follow_up_overdue: bool = False
    """``next_follow_up`` lies before the evaluation date: that follow-up is overdue (no IgG measured for it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Overrule:
    """A stop or pause the rules proposed, and the safety check that overruled it (``guideline.safety``).

    Attributes:
        check: the check's id (``"treatment-failing"``, ``"new-high-risk-period"``, ...).
        proposed_rule / proposed: the rule and recommendation that were overruled.
        reason: one line for the card: which check held and why, with its source.
    """

    check: str
    proposed_rule: RuleId
    proposed: Recommendation
    reason: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """The guideline decision for one patient on one date.

    Attributes:
        rule: the rule (decision-table row) that decided.
        population: the population the rule applied, ``None`` where none applies (e.g. missing data).
        criteria: every criterion evaluated, in reading order.
        source: the guideline section the rule rests on.
        summary: the card's one line, in the rule's words (rendered < 140 characters): set by the rule that issued
            the finding, next to its ``source``, from its settings and dates.
        notes: cautions and reminders for the clinician (M-component, prerequisites, restart after a stop).
        interpretations: names of ``Parameters`` interpretation settings the rule relied on.
        data_issues: resources not used, with the reason.
        on_igrt: whether the patient is on IgRT on ``as_of``.
        order_lab_tests: the decision needs IgG, IgA and IgM measured (drives the lab-order suggestion).
        overruled: the stop or pause a safety check overruled, when one did.
    """

    rule: RuleId
    recommendation: Recommendation
    population: Population | None
    as_of: date
    criteria: tuple[Criterion, ...]
    dates: KeyDates
    source: SourceRef
    summary: Message
    notes: tuple[Message, ...] = ()
    interpretations: tuple[str, ...] = ()
    data_issues: tuple[DataIssue, ...] = ()
    on_igrt: bool = False
    order_lab_tests: bool = False
    overruled: Overrule | None = None

    def __post_init__(self) -> None:
        """Hold the collections as tuples, whatever iterable was given (as the pydantic model did)."""
        _tuples(self, ("criteria", "notes", "interpretations", "data_issues"))

    @property
    def rests_on_immunoparesis(self) -> bool:
        """Whether a held criterion used documented immunoparesis in place of low IgG (M-component)."""
        return any(c.held and c.immunoparesis_in_place_of_igg for c in self.criteria)


class Advice(FrozenModel):
    """A card beside the decision card: dose, product, M-component, monitoring or prerequisites.

    Attributes:
        kind / rule: what the card is about and the rule that fired (``extension["sid-igrt"]``).
        summary: one sentence (rendered < 140 characters).
        warning: the clinician should act (indicator ``warning``), else ``info``.
        criteria: each check with its data, as on decision cards.
        notes: the guideline's advice in words.
        values: machine-readable results, e.g. ``("monthlyDoseGPerKg", 0.52)``.
        lab_orders: analytes to offer as lab-order suggestions (what is missing).
    """

    kind: AdviceKind
    rule: AdviceRule
    summary: Message
    warning: bool = False
    criteria: tuple[Criterion, ...] = ()
    notes: tuple[Message, ...] = ()
    source: SourceRef
    interpretations: tuple[str, ...] = ()
    values: tuple[tuple[str, float | str | None], ...] = ()
    lab_orders: tuple[Analyte, ...] = ()


def _tuples(value: object, names: tuple[str, ...]) -> None:
    """Make each attribute of ``names`` (a frozen dataclass's) a tuple if it is another iterable."""
    for name in names:
        items = getattr(value, name)
        if type(items) is not tuple:
            object.__setattr__(value, name, tuple(items))
