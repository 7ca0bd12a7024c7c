"""Per-site card configuration: options listed in discovery and set per request (the Da Vinci CRD pattern).

Discovery lists, for each service, ``extension["sid-igrt.configuration-options"]``: one object per option with
``code``, ``type``, ``name``, ``description`` and ``default`` (CRD STU2 "Configuration options"). A request sets
them in its ``extension["sid-igrt"]`` object, e.g. ``{"extension": {"sid-igrt": {"advice": "cards"}}}``. Unknown
options, and values an option does not accept, are ignored (the default applies): configuration never makes a
hook call fail.

The card language is chosen by, in order: the request's ``language`` option, the HTTP ``Accept-Language`` header,
and the deployment's ``CDS_LANGUAGE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from cds_service.cards.i18n import LANGUAGES, REQUEST_EXTENSION

AdviceDisplay = Literal["lines", "cards", "off"]
ADVICE_DISPLAYS: tuple[AdviceDisplay, ...] = ("lines", "cards", "off")
DISCOVERY_EXTENSION = f"{REQUEST_EXTENSION}.configuration-options"


@dataclass(frozen=True)
class CardOptions:
    """How cards are shown for one call.

    Attributes:
        advice: ``lines`` (default): the one next step (the most urgent advice that asks for action: dose, product,
            M-component, monitoring, prerequisites) as a line in the decision card, all advice in the long form;
            ``cards``: each advice as its own card beside the decision (the decision card never ranks below them);
            ``off``: advice only in ``extension["sid-igrt"].advice``.
        details: the long form: add the "Details" section (the full criteria trace, notes, all advice, settings,
            data not used) to the decision card's ``detail``. Off by default: the card fits one screen and the
            trace is on the evidence page (the card's SMART link) and in ``extension["sid-igrt"]``.
        language: ``en`` or ``da``.
    """

    advice: AdviceDisplay = "lines"
    details: bool = False
    language: str = "en"


def discovery_options(default_language: str, *, silent: bool = False) -> list[dict[str, Any]]:
    """Return the configuration options for discovery.

    ``silent``: the service is in silent mode; listed (with its value as the default) for the client to see, and
    like every option not understood from a request, never read from one: a client cannot switch it off.
    """
    return [
        {
            "code": "advice",
            "type": "string",
            "name": "Advice display",
            "description": (
                "How dose, product, prerequisite, monitoring and M-component advice is shown: 'lines' (the one next "
                "step as a line in the decision card, all of it in the long form), 'cards' (a card each, beside the "
                "decision card), or 'off' (only in the card extension)."
            ),
            "default": "lines",
        },
        {
            "code": "details",
            "type": "boolean",
            "name": "Details section",
            "description": (
                "The long form: add the full criteria trace, notes, all advice, the settings and the data not used "
                "under a 'Details' heading in the decision card. Off: the card fits one screen and the trace is on "
                "the evidence page (the card's SMART link)."
            ),
            "default": False,
        },
        {
            "code": "language",
            "type": "string",
            "name": "Card language",
            "description": (
                "Card language: 'en' or 'da'. Without it the HTTP Accept-Language header, then the deployment "
                "default, decides; an unknown language falls back to them."
            ),
            "default": default_language,
        },
        {
            "code": "silent",
            "type": "boolean",
            "name": "Silent mode",
            "description": (
                "Set by the deployment (CDS_SILENT_SERVICES), not by a request: true while the service evaluates "
                "and records every call but answers with no cards (the go-live trial)."
            ),
            "default": silent,
        },
    ]


def resolve(extension: Any, *, accept_language: str | None, default_language: str) -> CardOptions:
    """Return the options for one call from the request ``extension`` and the ``Accept-Language`` header.

    Never raises: unknown options and unaccepted values are ignored.
    """
    ours = extension.get(REQUEST_EXTENSION) if isinstance(extension, dict) else None
    ours = ours if isinstance(ours, dict) else {}
    advice = ours.get("advice")
    details = ours.get("details")
    language = ours.get("language")
    if language not in LANGUAGES:
        language = negotiate(accept_language) or default_language
    return CardOptions(
        advice=advice if advice in ADVICE_DISPLAYS else "lines",
        details=details if isinstance(details, bool) else False,
        language=str(language),
    )


def negotiate(accept_language: str | None) -> str | None:
    """Return the best supported language of an ``Accept-Language`` header (``da-DK`` matches ``da``), if any."""
    if not accept_language:
        return None
    accepted = parse_accept_header(accept_language, LanguageAccept)
    best = accepted.best_match(LANGUAGES)
    named = {value.lower().split("-")[0] for value, _ in accepted if value != "*"}
    # Only a language the caller named counts: "*" alone says nothing, so the deployment default stays.
    return best if best in named else None
