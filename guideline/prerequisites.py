"""Prerequisites before a start: a checklist on start and consider cards, each item present or missing with dates.

Source: Opsummering, "Kriterier for opstart": "Inden stillingtagen til opstart ... bør følgende være opfyldt".

* Vaccinated per national recommendations for SID: annual influenza (latest within
  ``influenza_vaccine_max_age_days``, **interpretation**) and adequate pneumococcal vaccination (every recorded dose
  is listed; adequacy is the clinician's call).
* Targeted antibiotic prophylaxis considered where there is a known organ focus: bronchiectasis, or at least
  ``organ_focus_min_infections`` infections of one site (lungs, urinary tract) in the infection-history months
  (**interpretation**). Present = an active J01 order or statement.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from guideline import sources
from guideline.calendar import add_calendar_months
from guideline.concepts import AdviceKind, AdviceRule, DiagnosisKind, InfectionSite, Recommendation, VaccineKind
from guideline.evidence import diagnosis_evidence, recorded_evidence
from guideline.facts import Facts
from guideline.model import Advice, Criterion, Evidence, Finding, InfectionRecord, Vaccination
from guideline.text import msg, plural

_SITE_NAMES = {InfectionSite.LOWER_RESPIRATORY: msg("lungs"), InfectionSite.URINARY_TRACT: msg("urinary tract")}
"""The organ foci the source names ("fx fokus i urinveje, kendte bronkiektasier og gentagne lungeinfektioner");
other sites (skin, ear-nose-throat, ...) are recorded for severity and history but make no organ focus here."""


def prerequisites_advice(facts: Facts, finding: Finding) -> Advice | None:
    """Return the prerequisites checklist for a start or consider decision (not on IgRT).

    Source: Opsummering, "Kriterier for opstart" ("Inden stillingtagen til opstart ... bør følgende være opfyldt":
    vaccination per the national recommendations; targeted antibiotic prophylaxis with a known organ focus).
    """
    if finding.on_igrt or finding.recommendation not in (Recommendation.START, Recommendation.CONSIDER):
        return None
    p, as_of = facts.p, facts.as_of
    given = sorted((v for v in facts.record.vaccinations if v.on <= as_of), key=lambda v: (v.on, v.ref), reverse=True)
    influenza = [v for v in given if v.kind == VaccineKind.INFLUENZA]
    pneumococcal = [v for v in given if v.kind == VaccineKind.PNEUMOCOCCAL]
    flu_ok = bool(influenza) and (as_of - influenza[0].on).days <= p.influenza_vaccine_max_age_days
    focus = _organ_focus(facts)
    prophylaxis = [a for a in facts.record.antibiotics if a.active_order and a.start <= as_of]
    criteria = [
        Criterion(
            id="influenza-vaccination",
            description=msg(
                "Annual influenza vaccination (latest within {days} days)", days=p.influenza_vaccine_max_age_days
            ),
            held=flu_ok,
            evidence=tuple(_vaccine_evidence(v) for v in influenza[:1]),
        ),
        Criterion(
            id="pneumococcal-vaccination",
            description=msg("Pneumococcal vaccination recorded (adequacy per national recommendations)"),
            held=bool(pneumococcal),
            evidence=tuple(_vaccine_evidence(v) for v in pneumococcal),
        ),
    ]
    if focus:
        criteria.append(
            Criterion(
                id="targeted-antibiotic-prophylaxis",
                description=msg("Known organ focus: targeted antibiotic prophylaxis considered (active J01 order)"),
                held=bool(prophylaxis),
                evidence=(
                    *focus,
                    *(
                        Evidence(text=msg("prophylaxis: {display}", display=a.display), ref=a.ref, on=a.start)
                        for a in prophylaxis
                    ),
                ),
            )
        )
    else:
        criteria.append(
            Criterion(
                id="targeted-antibiotic-prophylaxis",
                description=msg("Known organ focus recorded (then targeted antibiotic prophylaxis is considered)"),
                held=None,
                required=False,
            )
        )
    missing = [c for c in criteria if c.held is False]
    summary = (
        plural(
            "Before starting IgRT: {count} prerequisite missing (vaccination, targeted prophylaxis)",
            "Before starting IgRT: {count} prerequisites missing (vaccination, targeted prophylaxis)",
            len(missing),
        )
        if missing
        else msg("Before starting IgRT: vaccination and prophylaxis prerequisites are documented")
    )
    return Advice(
        kind=AdviceKind.PREREQUISITES,
        rule=AdviceRule.PREREQUISITES_CHECKLIST,
        summary=summary,
        warning=bool(missing),
        criteria=tuple(criteria),
        notes=(
            msg(
                "Before deciding on a start: the patient is vaccinated per the national recommendations for secondary "
                "immunodeficiency (annual influenza and adequate pneumococcal vaccination), and targeted antibiotic "
                "prophylaxis has been considered where there is a known organ focus (e.g. urinary tract, known "
                "bronchiectasis, repeated lung infections)."
            ),
            msg("Vaccination and antibiotic prophylaxis are central to infection management (addendum §4.1)."),
        ),
        source=sources.PREREQUISITES,
        interpretations=("influenza_vaccine_max_age_days", "organ_focus_min_infections"),
    )


def _organ_focus(facts: Facts) -> tuple[Evidence, ...]:
    """Return the evidence of a known organ focus (bronchiectasis, or repeated infections of one site)."""
    evidence = [diagnosis_evidence(d) for d in facts.diagnoses_of(DiagnosisKind.BRONCHIECTASIS)]
    since = add_calendar_months(facts.as_of, -facts.p.infection_history_calendar_months)
    by_site: dict[InfectionSite, list[InfectionRecord]] = defaultdict(list)
    for infection in facts.record.infections:
        if infection.site in _SITE_NAMES and since <= infection.onset <= facts.as_of:
            by_site[infection.site].append(infection)
    merge = timedelta(days=facts.p.infection_episode_merge_days)
    for site, infections in sorted(by_site.items()):
        onsets: list[InfectionRecord] = []
        for infection in sorted(infections, key=lambda i: i.onset):
            if not onsets or infection.onset - onsets[-1].onset > merge:
                onsets.append(infection)
        if len(onsets) >= facts.p.organ_focus_min_infections:
            evidence += [
                Evidence(
                    text=msg("{site}: {display}", site=_SITE_NAMES[site], display=i.display), ref=i.ref, on=i.onset
                )
                for i in onsets
            ]
    return tuple(evidence)


def _vaccine_evidence(vaccination: Vaccination) -> Evidence:
    return recorded_evidence(vaccination.display, vaccination.ref, vaccination.on)
