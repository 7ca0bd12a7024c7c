"""The guideline's output: the decision (``Finding``) and the cards beside it (``Advice``), with their criteria.

Each carries its own words: ``summary`` (the card's one line, set by the rule that issued it), ``criteria`` and
``notes``; ``source`` is the guideline section it rests on. All are frozen dataclasses (see
``guideline.record.FrozenModel``); collections are tuples. ``Advice``'s ``values`` take ``int`` as ``float``, as when
it was a pydantic model, but a copy (``Advice.updated``) keeps what it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from guideline.concepts import AdviceKind, AdviceRule, Analyte, Population, Recommendation, RuleId
from guideline.quick_init import quick_init, slot_setter
from guideline.record import Comparator, DataIssue
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

    def __init__(
        self,
        *,
        text: Message,
        ref: str | None = None,
        value: float | None = None,
        decimals: int | None = None,
        comparator: Comparator | None = None,
        unit: str | None = None,
        on: date | None = None,
    ) -> None:
        """Set the fields; ``value`` is held as a ``float`` (an ``int`` is converted, as pydantic did: 3 is 3.0).

        Written out, not the dataclass's: it fills the slots directly, for half the cost (issue 32).
        """
        _set_evidence_text(self, text)
        _set_evidence_ref(self, ref)
        _set_evidence_value(self, float(value) if type(value) is int else value)
        _set_evidence_decimals(self, decimals)
        _set_evidence_comparator(self, comparator)
        _set_evidence_unit(self, unit)
        _set_evidence_on(self, on)


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

    def __init__(
        self,
        *,
        id: str,  # noqa: A002 - the field's name
        description: Message,
        held: bool | None,
        required: bool = True,
        evidence: Iterable[Evidence] = (),
        immunoparesis_in_place_of_igg: bool = False,
    ) -> None:
        """Set the fields; ``evidence`` is held as a tuple, ``held`` as a ``bool`` (any iterable, 0/1: as pydantic).

        Written out, not the dataclass's: it fills the slots directly, for half the cost (issue 32).
        """
        _set_criterion_id(self, id)
        _set_criterion_description(self, description)
        _set_criterion_held(self, held if held is None or type(held) is bool else bool(held))
        _set_criterion_required(self, required)
        _set_criterion_evidence(self, evidence if type(evidence) is tuple else tuple(evidence))
        _set_criterion_immunoparesis(self, immunoparesis_in_place_of_igg)

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


# The slot setters of ``Evidence`` and ``Criterion``, for their ``__init__`` (a frozen dataclass refuses attribute
# assignment; a slot's own descriptor sets it without the ``object.__setattr__`` call per field).
_set_evidence_text = slot_setter(Evidence, "text")
_set_evidence_ref = slot_setter(Evidence, "ref")
_set_evidence_value = slot_setter(Evidence, "value")
_set_evidence_decimals = slot_setter(Evidence, "decimals")
_set_evidence_comparator = slot_setter(Evidence, "comparator")
_set_evidence_unit = slot_setter(Evidence, "unit")
_set_evidence_on = slot_setter(Evidence, "on")
_set_criterion_id = slot_setter(Criterion, "id")
_set_criterion_description = slot_setter(Criterion, "description")
_set_criterion_held = slot_setter(Criterion, "held")
_set_criterion_required = slot_setter(Criterion, "required")
_set_criterion_evidence = slot_setter(Criterion, "evidence")
_set_criterion_immunoparesis = slot_setter(Criterion, "immunoparesis_in_place_of_igg")


@quick_init
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


@quick_init
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


@quick_init
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Advice:
    """A card beside the decision card: dose, product, M-component, monitoring or prerequisites.

    A frozen dataclass (it was a pydantic model: its validation cost more than the rest of building a card, and only
    the guideline's rules build one; issue 32). Its ``__init__`` converts as the model's validation did: the
    collections become tuples, ``kind``, ``rule`` and ``lab_orders`` their enums, and an ``int`` (or ``bool``) in
    ``values`` a ``float``. ``updated`` copies it with changes kept as given (as pydantic's ``model_copy`` did).

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

    def __init__(
        self,
        *,
        kind: AdviceKind,
        rule: AdviceRule,
        summary: Message,
        warning: bool = False,
        criteria: Iterable[Criterion] = (),
        notes: Iterable[Message] = (),
        source: SourceRef,
        interpretations: Iterable[str] = (),
        values: Iterable[tuple[str, float | str | None]] = (),
        lab_orders: Iterable[Analyte] = (),
    ) -> None:
        """Set the fields, converted as the pydantic model's validation did (see the class docstring)."""
        _set_advice_kind(self, kind if type(kind) is AdviceKind else AdviceKind(kind))
        _set_advice_rule(self, rule if type(rule) is AdviceRule else AdviceRule(rule))
        _set_advice_summary(self, summary)
        _set_advice_warning(self, warning if type(warning) is bool else bool(warning))
        _set_advice_criteria(self, criteria if type(criteria) is tuple else tuple(criteria))
        _set_advice_notes(self, notes if type(notes) is tuple else tuple(notes))
        _set_advice_source(self, source)
        _set_advice_interpretations(self, interpretations if type(interpretations) is tuple else tuple(interpretations))
        _set_advice_values(self, _advice_values(values))
        _set_advice_lab_orders(
            self, tuple(a if type(a) is Analyte else Analyte(a) for a in lab_orders) if lab_orders else ()
        )

    def updated(self, **changes: Any) -> Advice:
        """Return a copy with ``changes`` (field name -> value) set as given, unconverted (as ``model_copy`` did).

        Raises:
            TypeError: a name that is not a field.
        """
        unknown = changes.keys() - _ADVICE_FIELDS
        if unknown:
            raise TypeError(f"Advice has no field {sorted(unknown)[0]!r}")
        copy: Advice = object.__new__(Advice)
        for name in _ADVICE_FIELDS:
            object.__setattr__(copy, name, changes[name] if name in changes else getattr(self, name))
        return copy


_ADVICE_FIELDS = tuple(f.name for f in fields(Advice))
# The slot setters of ``Advice``, for its ``__init__`` (as for ``Evidence`` and ``Criterion``).
_set_advice_kind = slot_setter(Advice, "kind")
_set_advice_rule = slot_setter(Advice, "rule")
_set_advice_summary = slot_setter(Advice, "summary")
_set_advice_warning = slot_setter(Advice, "warning")
_set_advice_criteria = slot_setter(Advice, "criteria")
_set_advice_notes = slot_setter(Advice, "notes")
_set_advice_source = slot_setter(Advice, "source")
_set_advice_interpretations = slot_setter(Advice, "interpretations")
_set_advice_values = slot_setter(Advice, "values")
_set_advice_lab_orders = slot_setter(Advice, "lab_orders")


def _advice_values(values: Iterable[tuple[str, float | str | None]]) -> tuple[tuple[str, float | str | None], ...]:
    """Return ``values`` as a tuple of pairs, an ``int`` or ``bool`` value as a ``float`` (as pydantic: 7 is 7.0)."""
    pairs = values if type(values) is tuple else tuple(values)
    for pair in pairs:
        if type(pair) is not tuple or type(pair[1]) is int or type(pair[1]) is bool:
            return tuple((name, _as_float(value)) for name, value in pairs)
    return pairs


def _as_float(value: float | str | None) -> float | str | None:
    """An ``int`` or ``bool`` as a ``float``; other values as they are."""
    if type(value) is int or type(value) is bool:
        return float(value)
    return value


def _tuples(value: object, names: tuple[str, ...]) -> None:
    """Make each attribute of ``names`` (a frozen dataclass's) a tuple if it is another iterable."""
    for name in names:
        items = getattr(value, name)
        if type(items) is not tuple:
            object.__setattr__(value, name, tuple(items))
