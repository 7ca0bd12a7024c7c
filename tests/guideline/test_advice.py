"""Truth tables for the advice rules: every threshold and date boundary of dose, trough, M-component, monitoring
and prerequisites (issue "clinical depth")."""

from __future__ import annotations

import pytest

from guideline import assess
from guideline.concepts import AdviceRule, Analyte, IgrtRoute, InfectionKind, MeasurementKind, VaccineKind
from guideline.facts import derive
from guideline.model import Advice, Measurement, MProteinTyping, OrderedDose, Vaccination
from guideline.parameters import DEFAULT_PARAMETERS
from tests.guideline.records import ADULT, HAEM, d, igg, infection, ivig_every, lab, record


def weight(kg: float, on: str) -> Measurement:
    return Measurement(kind=MeasurementKind.BODY_WEIGHT, value=kg, unit="kg", effective=d(on), ref="Observation/w")


def dose(grams: float | None, days: float | None, unit: str = "g", route: IgrtRoute = IgrtRoute.SCIG) -> OrderedDose:
    return OrderedDose(
        ref="MedicationRequest/draft",
        display="Hizentra 200 mg/ml",
        route=route,
        product="Hizentra",
        concentration_mg_per_ml=200,
        dose_value=grams,
        dose_unit=unit if grams is not None else None,  # type: ignore[arg-type]
        interval_days=days,
    )


def rules(advice: tuple[Advice, ...]) -> list[AdviceRule]:
    return [a.rule for a in advice]


def advice_for(rec, as_of: str = "2026-11-20", **kwargs):  # type: ignore[no-untyped-def]
    return assess(rec, as_of=d(as_of), **kwargs).advice


# -- dose: 0.4-0.8 g/kg per 28-day month, inclusive -------------------------------------------------------------
@pytest.mark.parametrize(
    ("grams_weekly", "kg", "expected", "monthly"),
    [
        (7.0, 70.0, AdviceRule.DOSE_IN_RANGE, 0.4),
        (6.9, 70.0, AdviceRule.DOSE_OUT_OF_RANGE, 0.39),
        (14.0, 70.0, AdviceRule.DOSE_IN_RANGE, 0.8),
        (14.2, 70.0, AdviceRule.DOSE_OUT_OF_RANGE, 0.81),
    ],
)
def test_monthly_dose_range_is_inclusive(grams_weekly: float, kg: float, expected: AdviceRule, monthly: float) -> None:
    rec = record(
        birth_date=ADULT, diagnoses=(HAEM,), labs=(igg(7.0, "2026-11-01"),), measurements=(weight(kg, "2026-11-01"),)
    )
    advice = advice_for(rec, orders=(dose(grams_weekly, 7),))
    card = next(a for a in advice if a.kind == "dose")
    assert card.rule == expected
    assert dict(card.values)["monthlyDoseGPerKg"] == monthly
    assert card.warning == (expected == AdviceRule.DOSE_OUT_OF_RANGE)


def test_ml_per_kg_follows_the_product_concentration() -> None:
    rec = record(
        birth_date=ADULT, diagnoses=(HAEM,), labs=(igg(7.0, "2026-11-01"),), measurements=(weight(50, "2026-11-01"),)
    )
    card = advice_for(rec, orders=(dose(5.0, 7),))[0]
    assert dict(card.values)["monthlyDoseGPerKg"] == 0.4
    assert dict(card.values)["mlPerKgPerMonth"] == 2.0  # 0.4 g/kg of 200 mg/mL = 2.0 mL/kg (Dosisjustering)


@pytest.mark.parametrize(("weighed", "computed"), [("2026-08-22", True), ("2026-08-21", False)])
def test_weight_older_than_90_days_is_not_used(weighed: str, computed: bool) -> None:
    rec = record(
        birth_date=ADULT, diagnoses=(HAEM,), labs=(igg(7.0, "2026-11-01"),), measurements=(weight(70, weighed),)
    )
    card = advice_for(rec, orders=(dose(10.0, 7),))[0]
    assert (card.rule != AdviceRule.DOSE_NOT_COMPUTABLE) == computed
    if not computed:
        assert "no body weight" in card.summary.english()


def test_g_per_kg_dose_needs_no_weight_and_missing_dose_is_said() -> None:
    rec = record(birth_date=ADULT, diagnoses=(HAEM,), labs=(igg(7.0, "2026-11-01"),))
    assert advice_for(rec, orders=(dose(0.4, 28, unit="g/kg"),))[0].rule == AdviceRule.DOSE_IN_RANGE
    missing = advice_for(rec, orders=(dose(None, None),))[0]
    assert missing.rule == AdviceRule.DOSE_NOT_COMPUTABLE and "no dose" in missing.summary.english()


# -- trough on IgRT: > 8, < 6 with severe infection, high in 6-8 and infection-free --------------------------
def on_igrt(trough: float, *extra: object, infections: tuple = ()) -> object:  # type: ignore[type-arg]
    """IVIG every 28 days since 2026-05-01 (last dose 2026-11-13); the IgG drawn on 2026-11-13 before that dose is a
    trough (28 days after the dose of 2026-10-16)."""
    return record(
        birth_date=ADULT,
        diagnoses=(HAEM,),
        igrt=ivig_every("2026-05-01", "2026-11-13"),
        labs=(igg(trough, "2026-11-13"),),
        infections=infections,
    )


@pytest.mark.parametrize(
    ("trough", "expected"),
    [
        (8.0, AdviceRule.TROUGH_HIGH_INFECTION_FREE),
        (8.01, AdviceRule.TROUGH_ABOVE_8),
        (7.0, AdviceRule.TROUGH_HIGH_INFECTION_FREE),
        (6.99, None),
    ],
)
def test_trough_thresholds(trough: float, expected: AdviceRule | None) -> None:
    found = [a.rule for a in advice_for(on_igrt(trough), as_of="2026-11-20") if a.kind == "dose"]
    assert found == ([expected] if expected else [])


def test_low_trough_with_severe_infection_on_igrt_asks_for_adjustment() -> None:
    severe = infection("2026-10-15", severe=True)
    found = [a.rule for a in advice_for(on_igrt(5.9, infections=(severe,))) if a.kind == "dose"]
    assert found == [AdviceRule.TROUGH_LOW_WITH_SEVERE_INFECTIONS]
    assert [a.rule for a in advice_for(on_igrt(6.0, infections=(severe,))) if a.kind == "dose"] == []


def test_dose_reduction_needs_6_months_free_of_bacterial_infection() -> None:
    recent = infection("2026-05-21")
    assert [a.rule for a in advice_for(on_igrt(7.5, infections=(recent,))) if a.kind == "dose"] == []
    old = infection("2026-05-19")
    assert [a.rule for a in advice_for(on_igrt(7.5, infections=(old,))) if a.kind == "dose"] == [
        AdviceRule.TROUGH_HIGH_INFECTION_FREE
    ]


# -- M-component --------------------------------------------------------------------------------------------
def myeloma(m_on: str, typing: str = "IgG kappa") -> object:
    isotypes = frozenset({"IgG"}) if "IgG" in typing else frozenset({"IgA"})
    return record(
        birth_date=ADULT,
        diagnoses=(HAEM,),
        labs=(igg(9.0, "2026-11-10"), lab(Analyte.M_PROTEIN, 6.5, m_on, "Observation/mp")),
        m_protein_typings=(
            MProteinTyping(isotypes=isotypes, text=typing, effective=d("2026-06-01"), ref="Observation/ifx"),
        ),
    )


@pytest.mark.parametrize(
    ("m_on", "estimated"), [("2026-10-11", True), ("2026-10-10", False), ("2026-12-10", True), ("2026-12-11", False)]
)
def test_igg_is_estimated_with_an_m_protein_at_most_30_days_apart(m_on: str, estimated: bool) -> None:
    facts = derive(myeloma(m_on), as_of=d("2026-12-31" if m_on > "2026-11-20" else "2026-11-20"), p=DEFAULT_PARAMETERS)
    if estimated:
        assert facts.igg_latest is not None and facts.igg_latest.value_g_per_l == 2.5
        assert facts.igg_latest.estimate is not None and facts.igg_latest.estimate.total_g_per_l == 9.0
    else:
        assert facts.igg_latest is None and "cannot be interpreted" in facts.data_issues[-1].reason.english()


def test_igg_typed_m_component_changes_the_decision_and_other_isotypes_do_not() -> None:
    typed = assess(myeloma("2026-11-10"), as_of=d("2026-11-20"))
    assert rules(typed.advice)[0] == AdviceRule.M_COMPONENT_ESTIMATE
    assert "2.5 g/L" in typed.advice[0].summary.english()
    iga = assess(myeloma("2026-11-10", typing="IgA lambda"), as_of=d("2026-11-20"))
    assert iga.finding.rule == "not-indicated" and AdviceRule.M_COMPONENT_ESTIMATE not in rules(iga.advice)


def test_unknown_isotype_keeps_total_igg_and_says_so() -> None:
    rec = record(
        birth_date=ADULT,
        diagnoses=(HAEM,),
        labs=(
            igg(9.0, "2026-11-10"),
            lab(Analyte.M_PROTEIN, 6.5, "2026-11-10", "Observation/mp"),
            lab(Analyte.IGA, 0.2, "2026-11-10", "Observation/iga", low=0.7),
            lab(Analyte.IGM, 0.1, "2026-11-10", "Observation/igm", low=0.4),
        ),
    )
    result = assess(rec, as_of=d("2026-11-20"))
    card = result.advice[0]
    assert card.rule == AdviceRule.M_COMPONENT_ISOTYPE_UNKNOWN
    assert dict(card.values) == {"totalIggGPerL": 9.0, "polyclonalIggIfIggType": 2.5}
    assert next(c for c in card.criteria if c.id == "general-immunoparesis").held is True


# -- monitoring ---------------------------------------------------------------------------------------------
SEPSIS = frozenset({InfectionKind.BACTERIAL_SEPSIS})


@pytest.mark.parametrize(("onset", "clean"), [("2026-10-21", True), ("2026-10-22", False)])
def test_a_sample_within_14_days_after_an_infection_onset_is_not_clean(onset: str, clean: bool) -> None:
    rec = record(
        birth_date=ADULT,
        diagnoses=(HAEM,),
        labs=(
            igg(3.0, "2026-11-05", ref="Observation/a"),
            igg(3.2, "2026-11-04", ref="Observation/b"),
            lab(Analyte.IGA, 0.3, "2026-11-05", "Observation/iga"),
            lab(Analyte.IGM, 0.2, "2026-11-05", "Observation/igm"),
        ),
        infections=(infection(onset, kinds=SEPSIS), infection("2026-07-01", severe=True)),
    )
    found = [a for a in advice_for(rec) if a.rule == AdviceRule.MONITORING_BEFORE_START]
    # the two IgG are only 1 day apart, so the twice-3-weeks criterion is missing in both rows
    assert found and next(c for c in found[0].criteria if c.id == "igg-sample-without-active-infection").held == clean


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        ("2026-08-17", None),
        ("2026-08-18", "due"),
        ("2026-09-01", "overdue"),
        ("2026-11-16", "overdue"),
        ("2026-11-17", "due"),
        ("2026-11-20", "due"),
    ],
)
def test_follow_up_3_and_6_months_after_start_due_14_days_before(as_of: str, status: str | None) -> None:
    rec = record(
        birth_date=ADULT, diagnoses=(HAEM,), igrt=ivig_every("2026-06-01", as_of), labs=(igg(6.5, "2026-06-01"),)
    )
    found = [a for a in advice_for(rec, as_of=as_of, follow_up=True) if a.rule == AdviceRule.MONITORING_FOLLOW_UP]
    assert (dict(found[0].values)["status"] if found else None) == status


def test_follow_up_counts_as_done_with_an_igg_from_14_days_before() -> None:
    labs = (igg(6.5, "2026-08-18"),)
    rec = record(birth_date=ADULT, diagnoses=(HAEM,), igrt=ivig_every("2026-06-01", "2026-09-01"), labs=labs)
    assert not [
        a for a in advice_for(rec, as_of="2026-09-01", follow_up=True) if a.rule == AdviceRule.MONITORING_FOLLOW_UP
    ]


# -- prerequisites ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("flu", "held"), [("2025-11-20", True), ("2025-11-19", False)])
def test_influenza_vaccination_within_365_days(flu: str, held: bool) -> None:
    rec = record(
        birth_date=ADULT,
        diagnoses=(HAEM,),
        labs=(igg(3.0, "2026-11-05"), igg(3.2, "2026-10-01", ref="Observation/b")),
        infections=(infection("2026-07-01", severe=True),),
        vaccinations=(Vaccination(kind=VaccineKind.INFLUENZA, display="Influvac", on=d(flu), ref="Immunization/f"),),
    )
    card = next(a for a in advice_for(rec) if a.rule == AdviceRule.PREREQUISITES_CHECKLIST)
    assert next(c for c in card.criteria if c.id == "influenza-vaccination").held == held
    assert next(c for c in card.criteria if c.id == "pneumococcal-vaccination").held is False


@pytest.mark.parametrize(("onset", "fires"), [("2026-04-20", False), ("2026-04-21", True)])
def test_infections_after_stop_count_from_the_day_after_the_last_dose(onset: str, fires: bool) -> None:
    rec = record(
        birth_date=ADULT,
        diagnoses=(HAEM,),
        igrt=ivig_every("2025-10-06", "2026-04-27"),
        labs=(igg(7.0, "2026-11-01"),),
        infections=(infection(onset),),
    )
    found = [a for a in advice_for(rec) if a.rule == AdviceRule.MONITORING_INFECTIONS_AFTER_STOP]
    assert bool(found) == fires


@pytest.mark.parametrize(("route", "fires"), [(IgrtRoute.IVIG, False), (IgrtRoute.SCIG, True)])
def test_product_switch_only_when_route_or_product_differs(route: IgrtRoute, fires: bool) -> None:
    rec = record(
        birth_date=ADULT, diagnoses=(HAEM,), igrt=ivig_every("2026-09-01", "2026-11-10"), labs=(igg(6.5, "2026-11-10"),)
    )
    ordered = OrderedDose(ref="MedicationRequest/draft", display="immunoglobulin", route=route)
    found = [a for a in advice_for(rec, orders=(ordered,)) if a.rule == AdviceRule.PRODUCT_SWITCH]
    assert bool(found) == fires
