"""The guideline core's cheaper construction paths (issue 32) keep the models' behaviour.

``quick_init`` initialisers, the written-out ``__init__`` of ``Evidence``, ``Criterion``, ``Advice`` and ``Decimals``,
``msg`` filling a ``Message``'s slots, ``labs.latest`` without a sort, and ``advise`` trusting orders already judged
IgRT: each must give the same values, conversions and errors as the dataclass or pydantic code it replaced.
"""

from __future__ import annotations

import inspect
import pickle
from dataclasses import FrozenInstanceError, dataclass, replace
from datetime import date

import pytest

from guideline import sources
from guideline.advice import advise
from guideline.concepts import AdviceKind, AdviceRule, Analyte, DiagnosisKind, IgrtRoute, MeasurementKind
from guideline.facts import derive
from guideline.labs import latest, results
from guideline.model import Advice, Criterion, Evidence, LabResult, Measurement, OrderedDose
from guideline.parameters import DEFAULT_PARAMETERS
from guideline.quick_init import quick_init
from guideline.start import decide_start
from guideline.text import Decimals, Message, join, msg, plural
from tests.guideline.records import ADULT, d, dx, igg, record


@quick_init
@dataclass(frozen=True, slots=True)
class _Positional:
    start: date
    ref: str
    flag: bool = False


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class _KeywordOnly:
    value: float
    unit: str = "g/L"

    def __post_init__(self) -> None:
        if type(self.value) is int:
            object.__setattr__(self, "value", float(self.value))


def test_quick_init_keeps_the_dataclass_signature_and_semantics() -> None:
    assert str(inspect.signature(_Positional.__init__)) == "(self, start, ref, flag=False) -> 'None'"
    assert str(inspect.signature(_KeywordOnly.__init__)) == "(self, *, value, unit='g/L') -> 'None'"
    item = _Positional(d("2026-01-02"), "Observation/1")
    assert item == _Positional(start=d("2026-01-02"), ref="Observation/1", flag=False)
    assert hash(item) == hash(_Positional(d("2026-01-02"), "Observation/1"))
    assert replace(item, flag=True).flag is True
    assert pickle.loads(pickle.dumps(item)) == item
    assert _KeywordOnly(value=3).value == 3.0 and type(_KeywordOnly(value=3).value) is float  # __post_init__ ran
    with pytest.raises(FrozenInstanceError):
        item.ref = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'ref'"):
        _Positional(d("2026-01-02"))  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="takes 1 positional argument"):
        _KeywordOnly(3)  # type: ignore[misc]
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        _KeywordOnly(value=1, bogus=2)  # type: ignore[call-arg]


def test_quick_init_refuses_what_it_cannot_initialise() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    for cls in (NoSlots, NotFrozen, int):
        with pytest.raises(TypeError, match="frozen dataclass with slots"):
            quick_init(cls)


def test_msg_plural_and_join_equal_messages_made_by_the_constructor() -> None:
    assert msg("{value} g/L", value=3.0) == Message("{value} g/L", (("value", 3.0),))
    assert plural("{count} dose", "{count} doses", 2, x=1) == Message(
        "{count} dose", (("count", 2), ("x", 1)), "{count} doses", "count"
    )
    joined = join(("a", msg("b")), "; ")
    assert joined == Message("{p0}; {p1}", (("p0", "a"), ("p1", Message("b"))))
    assert joined.english() == "a; b"
    with pytest.raises(FrozenInstanceError):
        msg("x").msgid = "y"  # type: ignore[misc]


@pytest.mark.parametrize("places", [-1, True, 1.0])
def test_decimals_refuses_bad_places(places: object) -> None:
    with pytest.raises(ValueError, match="places must be an int >= 0"):
        Decimals(3.0, places)  # type: ignore[arg-type]


def test_decimals_shows_the_reported_places() -> None:
    assert str(Decimals(3.0, 1)) == "3.0" and str(Decimals(value=3.25, places=1)) == "3.3"


def test_evidence_and_criterion_convert_as_pydantic_did() -> None:
    evidence = Evidence(text=msg("x"), value=3)
    assert evidence.value == 3.0 and type(evidence.value) is float
    criterion = Criterion(id="c", description=msg("d"), held=1, evidence=[evidence])  # type: ignore[arg-type]
    assert criterion.held is True and criterion.evidence == (evidence,) and criterion.required is True
    assert Criterion(id="c", description=msg("d"), held=None).held is None
    assert criterion.restated(msg("e"), False).held is False
    with pytest.raises(TypeError):
        Criterion(id="c", description=msg("d"), held=True, bogus=1)  # type: ignore[call-arg]


def _advice(**changes: object) -> Advice:
    fields: dict[str, object] = {
        "kind": AdviceKind.DOSE,
        "rule": AdviceRule.DOSE_IN_RANGE,
        "summary": msg("s"),
        "source": sources.DOSE,
        **changes,
    }
    return Advice(**fields)  # type: ignore[arg-type]


def test_advice_converts_as_the_pydantic_model_did() -> None:
    advice = _advice(
        kind="dose",
        criteria=[Criterion(id="c", description=msg("d"), held=True)],
        notes=[msg("n")],
        values=[("days", 7), ["flag", True], ("text", "yes"), ("none", None), ("ratio", 0.5)],
        lab_orders=["igg"],
        warning=1,
    )
    assert advice.kind is AdviceKind.DOSE
    assert advice.values == (("days", 7.0), ("flag", 1.0), ("text", "yes"), ("none", None), ("ratio", 0.5))
    assert type(advice.values[0][1]) is float
    assert advice.lab_orders == (Analyte.IGG,) and advice.warning is True
    assert type(advice.criteria) is tuple and type(advice.notes) is tuple
    assert advice == _advice(
        criteria=advice.criteria, notes=advice.notes, values=advice.values, lab_orders=(Analyte.IGG,), warning=True
    )
    assert pickle.loads(pickle.dumps(advice)) == advice
    with pytest.raises(TypeError):
        _advice(bogus=1)
    with pytest.raises(FrozenInstanceError):
        advice.warning = False  # type: ignore[misc]


def test_advice_updated_keeps_values_as_given() -> None:
    advice = _advice(values=(("a", 1.5),))
    copy = advice.updated(values=(*advice.values, ("ageYears", 3)), warning=True)
    assert copy.values == (("a", 1.5), ("ageYears", 3)) and type(copy.values[1][1]) is int  # as model_copy did
    assert copy.warning is True and copy.summary is advice.summary and advice.warning is False
    with pytest.raises(TypeError, match="no field 'bogus'"):
        advice.updated(bogus=1)


def test_latest_is_the_first_of_results_also_on_ties() -> None:
    first = igg(3.0, "2026-10-01", ref="Observation/a")
    twin = LabResult(
        analyte=Analyte.IGG, value_g_per_l=5.0, effective=first.effective, ref=first.ref, reported="5.0 g/L"
    )
    older = igg(2.0, "2026-09-01")
    labs = (older, first, twin)
    assert latest(labs, Analyte.IGG, as_of=d("2026-11-20")) is results(labs, Analyte.IGG, as_of=d("2026-11-20"))[0]
    assert latest(labs, Analyte.IGG, as_of=d("2026-11-20")) is first
    assert latest(labs, Analyte.IGG, as_of=d("2026-09-15")) is older
    assert latest(labs, Analyte.IGA, as_of=d("2026-11-20")) is None


def _order(dose_value: float, count: int | None, ref: str) -> OrderedDose:
    return OrderedDose(
        ref=ref,
        display="Privigen",
        route=IgrtRoute.IVIG,
        dose_value=dose_value,
        dose_unit="g/kg",
        frequency=1,
        period=4,
        period_unit="wk",
        interval_days=28,
        count=count,
    )


def test_advise_trusts_orders_judged_igrt_and_judges_them_otherwise() -> None:
    rec = record(
        birth_date=ADULT,
        diagnoses=(dx(DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY),),
        labs=(igg(3.0, "2026-11-10"),),
        measurements=(
            Measurement(
                kind=MeasurementKind.BODY_WEIGHT, value=70, unit="kg", effective=d("2026-11-01"), ref="Observation/w"
            ),
        ),
    )
    facts = derive(rec, as_of=d("2026-11-20"), p=DEFAULT_PARAMETERS)
    finding = decide_start(facts)
    igrt = _order(0.4, None, "MedicationRequest/igrt")
    course = _order(2.0, 1, "MedicationRequest/icans")  # 2 g/kg once: an immunomodulatory dose
    judged = advise(facts, finding, orders=(igrt, course))
    trusted = advise(facts, finding, orders=(igrt,), orders_are_igrt=True)
    assert judged == trusted == advise(facts, finding, orders=(igrt,))
    assert "MedicationRequest/igrt" in _dose_refs(judged) and "MedicationRequest/icans" not in _dose_refs(judged)
    # Trusted, an order is not judged again: even an immunomodulatory one would get its dose card.
    assert "MedicationRequest/icans" in _dose_refs(advise(facts, finding, orders=(course,), orders_are_igrt=True))


def _dose_refs(advice: tuple[Advice, ...]) -> list[str | None]:
    return [e.ref for a in advice if a.kind == AdviceKind.DOSE for c in a.criteria for e in c.evidence]
