"""The evidence page: the decision behind a card, with the patient's IgRT timeline, on one printable page.

``explain_request`` (a hook request in, the page out) is what the SMART App Launch routes and ``cds-service explain
--html`` call; ``evidence_page`` renders a decision already made (``Answer.decision``). Modules, one job each:

* ``context``: ``EvidenceContext``, the card the page was opened from (SMART ``appContext``; untrusted);
* ``story``: what the timeline draws, read from the decision and the guideline's own readings of the record;
* ``timeline``: the story drawn with matplotlib as inline SVG (its lower panel in ``lanes``, colours and shared
  helpers in ``palette``); ``layout``: where its parts go (labels, legend, size); ``svg``: that SVG made inline-safe
  and accessible;
* ``words``: every word on the page, as translatable messages (the decision's own words, shared with the card, in
  ``cds_service.cards.phrases``); ``view``: the page's content, translated;
* ``page``: the HTML document (Jinja2, ``templates/evidence.html.j2``) and ``explain_request``.
"""

from cds_service.evidence.context import EvidenceContext
from cds_service.evidence.page import evidence_page, explain_request

__all__ = ["EvidenceContext", "evidence_page", "explain_request"]
