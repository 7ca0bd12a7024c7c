"""A card's ``summary``: the rule's own one line (``Finding.summary``, ``Advice.summary``), translated and fitted.

The words are the guideline's: each rule sets its summary next to its source (``guideline.start``,
``guideline.continuation``, ``guideline.safety``, the advice rules). This module only renders them.
"""

from __future__ import annotations

from cds_service.cards.i18n import Translator
from cds_service.wire.responses import SUMMARY_MAX_LENGTH
from guideline.model import Advice, Finding


def summary(item: Finding | Advice, t: Translator) -> str:
    """Return the summary of a decision or advice card in ``t``'s language, fitted to the spec's < 140 characters."""
    return fit_summary(t(item.summary))


def fit_summary(text: str) -> str:
    """Return ``text`` cut to the spec's < 140 characters (with an ellipsis) if it is longer."""
    return text if len(text) <= SUMMARY_MAX_LENGTH else text[: SUMMARY_MAX_LENGTH - 1] + "…"
