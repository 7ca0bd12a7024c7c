"""Rules for patients not on IgRT: one function per row of the decision table's start criteria, by population.

``START_RULES`` lists them in precedence order; the first that returns a ``Finding`` decides. The order encodes the
decision table: scope (``guideline.scope``) and the IgG the decision needs (``igg_data``) first, then population 3
(``pop3``), population 2 inside the window (``window``), population 1 and 2 after the window (``pop1``), an HSCT of
unknown type (``type_unknown``), population 4 and the IgG < 6 "kan overvejes" criterion (``consider``), an unconfirmed
low IgG (``igg_data``) and an untyped M-component (``type_unknown``). When none fires, the ``NOT_INDICATED_CHECKS``
run, and then not-indicated (``not_indicated``). Sources: Opsummering v1.1 "Kriterier for opstart"; addendum §4 and
§4.1.
"""

from __future__ import annotations

from guideline.criteria import Rule
from guideline.facts import Facts
from guideline.model import Finding
from guideline.scope import age_unknown, child_after_car_t_or_bsab, primary_immunodeficiency
from guideline.start.consider import consider_igg_below_6, consider_pop4
from guideline.start.igg_data import igg_not_own, no_igg_since_t0, no_recent_igg, unconfirmed_low_igg
from guideline.start.not_indicated import (
    NotIndicatedCheck,
    infection_not_verified,
    not_indicated,
    preliminary_igg_pending,
)
from guideline.start.pop1 import start_pop1_or_pop2_after_window
from guideline.start.pop3 import start_pop3
from guideline.start.type_unknown import hsct_type_unknown, m_component_untyped
from guideline.start.window import start_pop2_window

START_RULES: tuple[Rule, ...] = (
    child_after_car_t_or_bsab,
    primary_immunodeficiency,
    age_unknown,
    igg_not_own,
    no_igg_since_t0,
    no_recent_igg,
    start_pop3,
    start_pop2_window,
    start_pop1_or_pop2_after_window,
    hsct_type_unknown,
    consider_pop4,
    consider_igg_below_6,
    unconfirmed_low_igg,
    m_component_untyped,
)
"""Start rules in precedence order; ``not_indicated`` applies when none fires."""

NOT_INDICATED_CHECKS: tuple[NotIndicatedCheck, ...] = (preliminary_igg_pending, infection_not_verified)
"""Checks a not-indicated passes before it is issued: the data that would change it is named instead."""


def decide_start(facts: Facts) -> Finding:
    """Return the first start rule's finding, or not-indicated unless a ``NOT_INDICATED_CHECKS`` check holds.

    A check may decide the facts again as they would be with other data (``decide_start`` itself, passed in).
    """
    for rule in START_RULES:
        finding = rule(facts)
        if finding is not None:
            return finding
    for check in NOT_INDICATED_CHECKS:
        finding = check(facts, decide_start)
        if finding is not None:
            return finding
    return not_indicated(facts)


__all__ = ["NOT_INDICATED_CHECKS", "START_RULES", "decide_start"]
