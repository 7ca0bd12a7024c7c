"""Rules carry their words: every rule names its source section, and every summary is the rule's own (issue 27 §2)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

from guideline import DEFAULT_PARAMETERS, RuleId, evaluate
from guideline.advice import m_component_advice
from guideline.continuation import igrt_start_unknown
from guideline.continuation.indication import review_indication
from guideline.continuation.short_course import pop2_short_course
from guideline.continuation.standard import standard
from guideline.dose import order_dose_advice, order_purpose, trough_advice, trough_timing
from guideline.follow_up import follow_up_advice, follow_up_due
from guideline.monitoring import before_start_advice, infections_after_stop_advice, stop_markers_advice
from guideline.prerequisites import prerequisites_advice
from guideline.product_choice import ivig_advice, small_child_fscig, switch_advice, with_small_child_fscig
from guideline.safety import SAFETY_CHECKS, population_3_applies
from guideline.scope import patient_deceased
from guideline.start import NOT_INDICATED_CHECKS, START_RULES
from guideline.start.not_indicated import not_indicated
from guideline.t0_unknown import decide_t0_unknown
from tests.guideline.records import HAEM, d, igg, record

RULES: tuple[Callable[..., Any], ...] = (
    patient_deceased,
    *START_RULES,
    *NOT_INDICATED_CHECKS,
    not_indicated,
    decide_t0_unknown,
    igrt_start_unknown,
    pop2_short_course,
    standard,
    review_indication,
    *SAFETY_CHECKS,
    population_3_applies,
    order_purpose,
    order_dose_advice,
    trough_timing,
    trough_advice,
    ivig_advice,
    switch_advice,
    small_child_fscig,
    with_small_child_fscig,
    m_component_advice,
    before_start_advice,
    follow_up_due,
    follow_up_advice,
    stop_markers_advice,
    infections_after_stop_advice,
    prerequisites_advice,
)
"""Every function that decides, overrules or advises: start, continuation, safety and advice rules."""
SOURCE = re.compile(r"\b(Opsummering|addendum)\b")


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_every_rule_cites_its_source_section(rule: Callable[..., Any]) -> None:
    assert SOURCE.search(inspect.getdoc(rule) or ""), f"{rule.__module__}.{rule.__name__}: no source section"


@pytest.mark.parametrize(("days", "shown"), [(None, "90"), (120, "120")])
def test_the_no_recent_igg_summary_says_the_setting(days: int | None, shown: str) -> None:
    p = DEFAULT_PARAMETERS if days is None else DEFAULT_PARAMETERS.model_copy(update={"igg_recent_max_age_days": days})
    finding = evaluate(record(diagnoses=(HAEM,), labs=(igg(3.0, "2026-01-02"),)), as_of=d("2026-11-20"), p=p)
    assert finding.rule == RuleId.NO_RECENT_IGG
    assert finding.summary.english() == (
        f"IgRT decision needs a recent IgG (none in the last {shown} days): order IgG, IgA, IgM"
    )
