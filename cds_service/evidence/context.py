"""``EvidenceContext``: the card a clinician opened the evidence page from, as the SMART launch names it.

The context comes from the card link's ``appContext`` through the EHR: it is untrusted text. It is only shown (HTML
escaped) and compared with the page's own decision; it never decides anything. ``from_app_context`` reads it
tolerantly: anything it does not understand is dropped, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_FIELD_LENGTH = 100
"""Characters kept of each field: a card uuid, a rule id and a service id are all far shorter."""
APP_CONTEXT_KEYS = {
    "service_id": "service",
    "card_uuid": "card",
    "rule": "rule",
    "recommendation": "recommendation",
}
"""``EvidenceContext`` field -> the ``appContext`` JSON member it is read from: the members the card's link writes
(``cds_service.cards.actions.evidence_link``)."""


@dataclass(frozen=True)
class EvidenceContext:
    """The card the page was opened from: what the card said, to compare with what the page decides now.

    Attributes:
        service_id: the CDS service that issued the card (``sid-igrt-order-select``, ...); ``None`` when not given.
        card_uuid: the card's ``uuid``; ``None`` when not given.
        rule: the card's rule id (``extension["sid-igrt"].rule``, e.g. ``start-pop2-window``); ``None`` when not
            given.
        recommendation: the card's recommendation code (``start``, ``stop``, ...); ``None`` when not given.
    """

    service_id: str | None = None
    card_uuid: str | None = None
    rule: str | None = None
    recommendation: str | None = None

    @classmethod
    def from_app_context(cls, value: object) -> EvidenceContext | None:
        """Return the context named by a SMART ``appContext``: a JSON object (text or already parsed), or ``None``.

        Members read: ``service``, ``card``, ``rule``, ``recommendation`` (strings, each cut to
        ``MAX_FIELD_LENGTH`` characters); others are ignored. Returns ``None`` when ``value`` is not such an object
        or names none of them. Never raises.
        """
        parsed: Any = value
        if isinstance(value, str | bytes):
            try:
                parsed = json.loads(value)
            except ValueError:
                return None
        if not isinstance(parsed, Mapping):
            return None
        fields = {
            name: text[:MAX_FIELD_LENGTH]
            for name, key in APP_CONTEXT_KEYS.items()
            if isinstance(text := parsed.get(key), str) and text
        }
        return cls(**fields) if fields else None

    def app_context(self) -> str:
        """Return this context as the ``appContext`` JSON text a card link carries (``from_app_context`` reads it)."""
        members = {key: getattr(self, name) for name, key in APP_CONTEXT_KEYS.items() if getattr(self, name)}
        return json.dumps(members, separators=(",", ":"), sort_keys=True)
