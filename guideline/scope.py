"""Whom the SID criteria decide for: checked before the start and the continuation rules, on and off IgRT.

Sources: Opsummering, "SID og immunglobulinsubstitution" (secondary, not primary, immunodeficiency); addendum §4
and §4.3 (the CAR-T/bsAb criteria are for adults; children are an individual assessment). A deceased patient gets no
recommendation at all.
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import DiagnosisKind, Recommendation, RuleId
from guideline.criteria import adult_criterion, index_date_criterion, make_finding
from guideline.evidence import diagnosis_evidence
from guideline.facts import Facts
from guideline.model import Criterion, Finding
from guideline.text import Message, msg

CHILD_NOTES = (
    msg(
        "Children are outside the CAR-T/bsAb start and stop criteria (addendum §4; Opsummering, population 2): the "
        "need for immunoglobulin is an individual assessment, and routine treatment can be used where the clinician "
        "finds it relevant."
    ),
    msg(
        "Reasoning (addendum §4.3): international societies recommend routine immunoglobulin for children with "
        "CAR-T because of immunological immaturity and a higher infection risk; in Danish practice the need after "
        "CAR-T is assessed individually, as routine treatment is far from always relevant. Children on bsAb get "
        "immunoglobulin routinely, but clinical experience is limited and based on protocol studies."
    ),
)


def patient_deceased(facts: Facts) -> Finding:
    """The patient has died (``Patient.deceased[x]``): no recommendation; the hooks show no card.

    Source: Opsummering, "SID og immunglobulinsubstitution" (the guideline is for living patients with SID); issue
    "clinical fidelity 3" §9. Checked before every other rule, on and off IgRT.
    """
    alive = Criterion.unmet("patient-alive", msg("Patient alive (Patient.deceased)"))
    return _sid_does_not_apply(facts, RuleId.PATIENT_DECEASED, alive, msg("Patient deceased: no recommendation"))


def child_after_car_t_or_bsab(facts: Facts) -> Finding | None:
    """Children after CAR-T/bsAb: individual assessment, never the adult criteria.

    Source: addendum §4 ("Kriterier for anvendelse (børn)") and §4.3.
    """
    if not facts.child_after_therapy:
        return None
    return _adult_criteria_do_not_decide(
        facts,
        RuleId.CHILD_AFTER_CAR_T_OR_BSAB,
        Recommendation.INDIVIDUAL_ASSESSMENT,
        msg("Child after CAR-T/bsAb: IgRT is an individual assessment"),
        notes=CHILD_NOTES,
    )


def primary_immunodeficiency(facts: Facts) -> Finding | None:
    """A primary immunodeficiency is coded: the SID guideline does not apply.

    Source: Opsummering, "SID og immunglobulinsubstitution" (secondary immunodeficiency; Medicinrådet's PID guideline
    covers primary immunodeficiency).
    """
    found = facts.diagnoses_of(DiagnosisKind.PRIMARY_IMMUNODEFICIENCY)
    if not found:
        return None
    criterion = Criterion(
        id="primary-immunodeficiency",
        description=msg("Primary immunodeficiency recorded: Medicinrådet's PID guideline applies, not the SID one"),
        held=True,
        evidence=tuple(diagnosis_evidence(d) for d in found),
    )
    return _sid_does_not_apply(
        facts,
        RuleId.PRIMARY_IMMUNODEFICIENCY,
        criterion,
        msg("Primary immunodeficiency recorded: the SID IgRT criteria do not apply"),
    )


def age_unknown(facts: Facts) -> Finding | None:
    """A CAR-T/bsAb patient without a birth date: adult and child criteria differ, so age is needed.

    Source: addendum §4 ("Kriterier for anvendelse (børn)"): the start and stop criteria of §4.1-§4.2 are for adults.
    """
    if not facts.after_therapy or facts.adult is not None:
        return None
    return _adult_criteria_do_not_decide(
        facts,
        RuleId.AGE_UNKNOWN,
        Recommendation.INSUFFICIENT_DATA,
        msg("IgRT after CAR-T/bsAb: birth date missing, so adult or child criteria cannot be chosen"),
    )


def _sid_does_not_apply(facts: Facts, rule: RuleId, criterion: Criterion, summary: Message) -> Finding:
    """Return the finding where the SID criteria make no recommendation (``criterion`` says why): no population.

    Source: Opsummering, "SID og immunglobulinsubstitution".
    """
    return make_finding(
        facts,
        rule=rule,
        recommendation=Recommendation.INDIVIDUAL_ASSESSMENT,
        population=None,
        criteria=(criterion,),
        source=sources.SCOPE,
        summary=summary,
    )


def _adult_criteria_do_not_decide(
    facts: Facts, rule: RuleId, recommendation: Recommendation, summary: Message, *, notes: tuple[Message, ...] = ()
) -> Finding:
    """Return the finding for a CAR-T/bsAb patient the adult criteria do not decide (a child, or age unknown).

    The criteria are age and T0; no population applies.

    Source: addendum §4 ("Kriterier for anvendelse (børn)"): the start and stop criteria of §4.1-§4.2 are for adults.
    """
    return make_finding(
        facts,
        rule=rule,
        recommendation=recommendation,
        population=None,
        criteria=(adult_criterion(facts), index_date_criterion(facts, required=False)),
        source=sources.CHILDREN,
        summary=summary,
        notes=notes,
    )
