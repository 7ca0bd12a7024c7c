"""The decision in words, shared by the card and the evidence page, so that both say the same thing the same way.

The card is ``cds_service.cards.detail``, the page ``cds_service.evidence``.

Messages are English templates translated by ``cds_service.cards.i18n`` (Danish in the catalog).
"""

from __future__ import annotations

from collections.abc import Iterable

from cds_service.cards.i18n import Translator
from guideline.concepts import Population, Recommendation
from guideline.model import Evidence
from guideline.text import msg

ACTIONS = {
    Recommendation.START: msg("Start IgRT."),
    Recommendation.CONSIDER: msg("IgRT can be considered: a clinical judgement."),
    Recommendation.NOT_INDICATED: msg("Do not start IgRT on these data; consider targeted antibiotic prophylaxis."),
    Recommendation.INSUFFICIENT_DATA: msg("Not decided: the data needed is missing or cannot be used."),
    Recommendation.INDIVIDUAL_ASSESSMENT: msg("Individual assessment: these criteria do not decide for this patient."),
    Recommendation.CONTINUE: msg("Continue IgRT."),
    Recommendation.PAUSE: msg("Consider pausing IgRT over the summer."),
    Recommendation.STOP: msg("Attempt to stop IgRT now."),
}
"""What to do now: the first line of every decision card and the evidence page's headline."""
POPULATION_NAMES = {
    Population.HAEMATOLOGICAL: msg("1 (haematological disease)"),
    Population.CAR_T_OR_BSAB: msg("2 (CAR-T or bispecific antibody)"),
    Population.ALLO_HSCT: msg("3 (allogeneic HSCT)"),
    Population.OTHER_HYPOGAMMAGLOBULINAEMIA: msg("4 (hypogammaglobulinaemia without haematological disease or HSCT)"),
}
"""The guideline's populations (Opsummering, "Kriterier for opstart"; addendum §4) by number and name."""


def evidence_texts(evidence: Iterable[Evidence], description: str, t: Translator) -> list[str]:
    """Evidence in words (text and ISO date), without what the criterion's description already says, each text once.

    Five doses read "immunoglobulin" once, not five times; every item and its resource id stay in
    ``extension["sid-igrt"]``.
    """
    shown = []
    for item in evidence:
        text = t(item.text)
        if text in description:
            continue
        day = item.on.isoformat() if item.on is not None else None
        shown.append(f"{text} ({day})" if day is not None and day not in text else text)
    return list(dict.fromkeys(shown))
