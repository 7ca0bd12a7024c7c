"""The evidence page: one decision as a self-contained HTML5 document, and the same from a CDS Hooks request.

``evidence_page`` renders a ``decision.Decision`` (the object the card was rendered from, ``Answer.decision``), so the
page and the card cannot disagree. ``explain_request`` answers a hook request with ``invoke`` and renders its
decision: the SMART launch routes and ``cds-service explain --html`` both call it.

The document fetches nothing and runs nothing: one inline ``<style>`` (carrying ``nonce`` when given), the timeline
as inline SVG (``cds_service.evidence.timeline``), no script, font, image or stylesheet from elsewhere. It fits the
policy ``default-src 'none'; style-src 'nonce-…'; style-src-attr 'unsafe-inline'; img-src data:``. Jinja2
autoescapes every value: text from the EHR is data. It prints on one A4 page (print CSS in the template).
"""

from __future__ import annotations

from datetime import date

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from cds_service.cards.i18n import translator
from cds_service.ehr.fhir_client import FhirClient, LargeCallGate
from cds_service.evidence.context import EvidenceContext
from cds_service.evidence.story import story
from cds_service.evidence.svg import SVG_CSS
from cds_service.evidence.view import page_view
from cds_service.invocation import invoke
from cds_service.settings import Settings
from cds_service.wire.definitions import SERVICES, ServiceDefinition
from cds_service.wire.errors import PrefetchUnavailableError
from cds_service.wire.requests import HookRequest
from decision import Decision
from guideline.text import Message, msg

TEMPLATE = "evidence.html.j2"
_ENVIRONMENT = Environment(
    loader=PackageLoader("cds_service.evidence", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
"""One environment per process: its template cache is thread-safe, and autoescaping is on for every template."""
PATIENT_VIEW = next(s for s in SERVICES if s.hook == "patient-view")
"""The service whose evaluation the page shows when the card's service made no decision (no IgRT order)."""
_WHY_NO_DECISION: dict[str, Message] = {
    "no-immunoglobulin-order": msg(
        "The request holds no immunoglobulin order, so its service made no decision: this page shows the "
        "patient-view evaluation of the same data."
    ),
    "immunomodulation-order": msg(
        "Every immunoglobulin order in the request is for immunomodulation (not IgRT), so its service made no "
        "decision: this page shows the patient-view evaluation of the same data."
    ),
}
_NO_DATA = msg("The request holds no patient data to evaluate (no prefetch, and no FHIR server to read it from).")


def evidence_page(
    decision: Decision,
    *,
    settings: Settings,
    language: str,
    as_of: date,
    card_context: EvidenceContext | None = None,
    style_nonce: str | None = None,
) -> str:
    """Return the evidence page of ``decision`` as a complete HTML5 document (``str``, UTF-8 when encoded).

    Args:
        decision: the decision the card (or the quiet answer) was rendered from (``Answer.decision``). With no
            assessment (every order immunomodulatory) the page says so and still draws the record's timeline.
        settings: the service settings (guideline parameters, the guideline links).
        language: ``"en"`` or ``"da"``: every word on the page, the timeline's included.
        as_of: the date the decision was made for (the timeline's "today").
        card_context: the card the page was opened from (SMART ``appContext``; untrusted, only shown and compared).
        style_nonce: the Content-Security-Policy nonce for the page's one ``<style>`` element.

    Raises:
        ValueError: an unsupported ``language``.
    """
    return _render(
        decision,
        settings=settings,
        language=language,
        as_of=as_of,
        card_context=card_context,
        style_nonce=style_nonce,
    )


def explain_request(
    service: ServiceDefinition,
    request: HookRequest,
    settings: Settings,
    *,
    as_of: date,
    language: str,
    fhir_client: FhirClient | None = None,
    card_context: EvidenceContext | None = None,
    style_nonce: str | None = None,
    admission: LargeCallGate | None = None,
) -> str:
    """Answer ``request`` as ``service`` would (``invoke``) and return the evidence page of its decision.

    When the service made no decision (an order hook without an immunoglobulin order, or only immunomodulatory
    ones), the page shows the patient-view service's evaluation of the same request, and says so at the top: the
    data is the same, only the orders are not read. When the request holds no data to evaluate either (an order
    hook need not prefetch without an immunoglobulin order), the page says why there is no decision, and no more.

    Args:
        service: the CDS service the card came from (its policy: which orders it reads).
        request: the validated hook request (prefetch, context).
        settings: the service settings.
        as_of: the evaluation date.
        language: ``"en"`` or ``"da"``.
        fhir_client: fetches what the prefetch lacks (the SMART routes pass the launch's client); ``None``: prefetch
            only.
        card_context: the card the page was opened from, shown and compared (untrusted).
        style_nonce: the Content-Security-Policy nonce for the page's ``<style>``.
        admission: the call's place at its worker's large-call gate (the SMART routes pass it): a large fallback
            answer is parsed only in the slot, as a hook call's (``cds_service.http.large_requests``).

    Raises:
        InvalidHookRequestError: a malformed prefetch value.
        PrefetchUnavailableError: required data neither prefetched nor fetchable (the card's service needed it).
        ValueError: an unsupported ``language``.
    """
    answer = invoke(
        service, request, settings, as_of=as_of, fhir_client=fhir_client, language=language, admission=admission
    )
    decision = answer.decision
    notices: tuple[Message, ...] = ()
    if decision is None or decision.assessment is None:
        notices = (_WHY_NO_DECISION.get(answer.outcome, _WHY_NO_DECISION["no-immunoglobulin-order"]),)
        try:
            # Patient-view reads no orders: it always decides, given the data.
            decision = invoke(
                PATIENT_VIEW,
                request,
                settings,
                as_of=as_of,
                fhir_client=fhir_client,
                language=language,
                admission=admission,
            ).decision
        except PrefetchUnavailableError:
            # An order hook without an immunoglobulin order need not send the prefetch: nothing to evaluate.
            decision = None
            notices += (_NO_DATA,)
    return _render(
        decision,
        settings=settings,
        language=language,
        as_of=as_of,
        card_context=card_context,
        style_nonce=style_nonce,
        notices=notices,
    )


def _render(
    decision: Decision | None,
    *,
    settings: Settings,
    language: str,
    as_of: date,
    card_context: EvidenceContext | None,
    style_nonce: str | None,
    notices: tuple[Message, ...] = (),
) -> str:
    t = translator(language)
    view = page_view(decision, settings=settings, t=t, as_of=as_of, card_context=card_context, notices=notices)
    # matplotlib (and numpy) load with the first page, not with every worker: 46 MiB a worker never rendering one.
    from cds_service.evidence.timeline import timeline_svg  # noqa: PLC0415

    svg = timeline_svg(story(decision, parameters=settings.parameters, as_of=as_of), t) if decision else ""
    template = _ENVIRONMENT.get_template(TEMPLATE)
    return template.render(
        view=view,
        # Built by the service from its own figure (xml.etree serialised, labels escaped): safe to inline.
        timeline=Markup(svg) if svg else None,
        svg_css=Markup(SVG_CSS),
        nonce=style_nonce,
    )
