"""The scopes the app asks for: the narrowest that read what the prefetch reads.

SMART App Launch 2.x, "Scopes for requesting clinical data", v2 syntax ``patient/<Type>.rs``.

Derived from the prefetch templates of the service definitions (``cds_service.wire.definitions.PREFETCH``), so a
new prefetch key asks for its resource type without anyone editing a list, and a removed one stops asking.
``launch`` (the EHR launch context), ``openid`` and ``fhirUser`` (who is looking, for the page's ``userId``) come
first. ``CDS_SMART_SCOPES`` replaces the whole list where an EHR needs another one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from cds_service.wire.definitions import PREFETCH

LAUNCH_SCOPES = ("launch", "openid", "fhirUser")
"""EHR launch context and the user's identity (``fhirUser`` in the id_token)."""
_RESOURCE_TYPE = re.compile(r"^([A-Z][A-Za-z]+)(?:[/?]|$)")


def resource_types(templates: Iterable[str]) -> tuple[str, ...]:
    """Return the FHIR resource types the query ``templates`` read (``Observation?patient=..`` -> ``Observation``).

    In first-seen order, each once.

    Raises:
        ValueError: a template that does not start with a resource type (a defect in the definitions).
    """
    found: dict[str, None] = {}
    for template in templates:
        match = _RESOURCE_TYPE.match(template)
        if match is None:
            raise ValueError(f"prefetch template does not start with a resource type: {template[:60]!r}")
        found[match.group(1)] = None
    return tuple(found)


def prefetch_scopes(prefetch: Mapping[str, str] = PREFETCH) -> tuple[str, ...]:
    """Return ``launch openid fhirUser`` and ``patient/<Type>.rs`` for every type the prefetch templates read.

    ``.rs`` (read and search, SMART v2): the fallback fetch reads the Patient and searches the rest.
    """
    return LAUNCH_SCOPES + tuple(f"patient/{kind}.rs" for kind in resource_types(prefetch.values()))


def requested_scopes(configured: tuple[str, ...]) -> tuple[str, ...]:
    """Return ``CDS_SMART_SCOPES`` when set, else the scopes derived from the prefetch templates."""
    return configured or prefetch_scopes()
