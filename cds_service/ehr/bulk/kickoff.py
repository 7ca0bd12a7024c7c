"""The kick-off (Bulk Data Access 2.0, "Bulk Data Kick-off Request"): what is asked for, and asking until accepted.

``GET [base]/Patient/$export`` or ``[base]/Group/[id]/$export`` with ``Accept: application/fhir+json``,
``Prefer: respond-async`` and the parameters ``_outputFormat=application/fhir+ndjson``, ``_type`` (the types the
rules read: ``RULE_TYPES``), ``_since`` when given, and ``_typeFilter`` for the one type whose volume matters:
``Observation?code=<every code the Observation mapper reads>`` (vitals and panels are most of a real export; the rules
read a dozen lab codes). Support for ``_typeFilter`` and ``_type`` is optional for servers, which SHOULD answer an
unsupported one with a 4xx and an OperationOutcome "so the client can re-submit a request omitting" it: a 400 or 422
is answered by asking again without ``_typeFilter``, then without ``_type`` (the whole export, read by type on disk),
each said on the way (``ParameterDropped``). A server that ignores ``_typeFilter`` sends more Observations, which
the rules skip as they skip any code they do not read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote, urljoin

import requests

from cds_service.ehr.bulk.config import RULE_TYPES
from cds_service.ehr.bulk.errors import BulkExportError, outcome_text
from cds_service.ehr.bulk.events import Event, KickedOff, ParameterDropped
from cds_service.ehr.bulk.transport import Transport
from fhir_mappers.codes import SYSTEM_ALIASES, code_table  # the aliases the mapper folds, asked for as well
from fhir_mappers.observation import OBSERVATION_CONCEPTS

OUTPUT_FORMAT = "application/fhir+ndjson"
DROPPABLE = ("_typeFilter", "_type")
"""Parameters asked for again without, in this order, when the server refuses the kick-off with 400 or 422."""
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$")


def fhir_id(text: str) -> str:
    """``text`` if it is a FHIR id (a Group's); else ``ValueError``."""
    if not _FHIR_ID.match(text):
        raise ValueError(f"not a FHIR id: {text!r} (letters, digits, '-' and '.', at most 64)")
    return text


def fhir_instant(text: str) -> str:
    """``text`` if it is a FHIR instant (seconds and a zone, e.g. ``2026-11-01T00:00:00Z``); else ``ValueError``."""
    if not _INSTANT.match(text):
        raise ValueError(f"not a FHIR instant: {text!r} (e.g. 2026-11-01T00:00:00Z or 2026-11-01T00:00:00+01:00)")
    datetime.fromisoformat(text.replace("Z", "+00:00"))  # a real date and time (raises ValueError otherwise)
    return text


def observation_filter() -> str | None:
    """``Observation?code=<system>|<code>,...``: every code the Observation mapper reads, with the system aliases.

    ``None`` if one of its concepts is matched otherwise than by exact code (a token search cannot ask for a prefix).
    """
    table = code_table()
    wanted = set(OBSERVATION_CONCEPTS)
    if any(row.concept in wanted and row.match != "exact" for row in table.rows):
        return None
    aliases: dict[str, list[str]] = {}
    for alias, system in SYSTEM_ALIASES.items():
        aliases.setdefault(system, []).append(alias)
    tokens: list[str] = []
    for row in table.rows:
        if row.concept in wanted:
            for system in (row.system, *aliases.get(row.system, ())):
                tokens.append(f"{system}|{row.code}")
    return "Observation?code=" + ",".join(dict.fromkeys(tokens)) if tokens else None


@dataclass(frozen=True)
class ExportRequest:
    """What one export asks for.

    Attributes:
        group: a Group id (``Group/[id]/$export``), or ``None`` for every patient (``Patient/$export``).
        since: a FHIR instant (``_since``), or ``None``.
        types: ``_type`` (the types the rules read unless told otherwise).
        type_filters: ``_typeFilter`` queries (none unless asked for).
    """

    group: str | None = None
    since: str | None = None
    types: tuple[str, ...] = RULE_TYPES
    type_filters: tuple[str, ...] = field(default=())

    @property
    def endpoint(self) -> str:
        """``Patient/$export`` or ``Group/<id>/$export``."""
        return "Patient/$export" if self.group is None else f"Group/{self.group}/$export"

    def params(self, dropped: frozenset[str]) -> dict[str, str]:
        """The query parameters, without those in ``dropped``."""
        params = {"_outputFormat": OUTPUT_FORMAT}
        if self.types and "_type" not in dropped:
            params["_type"] = ",".join(self.types)
        if self.since is not None:
            params["_since"] = self.since
        if self.type_filters and "_typeFilter" not in dropped and "_type" not in dropped:
            # each query URL-encoded, then joined by commas (the IG's example): its own commas stay inside it
            params["_typeFilter"] = ",".join(quote(query, safe="") for query in self.type_filters)
        return params


@dataclass(frozen=True)
class Accepted:
    """A kick-off the server accepted: the status URL, the kick-off URL as sent, the parameters dropped."""

    status_url: str
    kickoff_url: str
    dropped: tuple[str, ...]


def kick_off(
    transport: Transport, request: ExportRequest, *, deadline: float, on_event: Callable[[Event], None]
) -> Accepted:
    """Send the kick-off until the server accepts it (202 with ``Content-Location``), dropping what it refuses.

    Raises:
        BulkExportError: another status (with the OperationOutcome's first issue), no ``Content-Location``, a status
            URL on a host the transport refuses, or the retries and the deadline spent (429, 5xx).
    """
    url = f"{transport.base}/{request.endpoint}"
    dropped: list[str] = []
    while True:
        params = request.params(frozenset(dropped))
        response = transport.request(
            "GET",
            url,
            accept="application/fhir+json",
            params=params,
            headers={"Prefer": "respond-async"},
            deadline=deadline,
            what="the kick-off",
        )
        status = response.status_code
        location = response.headers.get("Content-Location", "")
        body = (
            transport.read_json(response, what="the kick-off", deadline=time.monotonic() + 60)
            if status != 202
            else None
        )
        response.close()
        if status == 202:
            if not location:
                raise BulkExportError("the kick-off was accepted without a Content-Location (status URL)", "server")
            status_url = urljoin(url, location)
            if not transport.allowed(status_url):
                raise BulkExportError("the status URL is on another host (not allowed)", "not-allowed")
            on_event(KickedOff(request.endpoint, tuple(params)))
            sent = requests.Request("GET", url, params=params).prepare().url or url
            return Accepted(status_url, sent, tuple(dropped))
        said = outcome_text(body)
        droppable = next((name for name in DROPPABLE if name in params), None)
        if status in (400, 422) and droppable is not None:
            on_event(ParameterDropped(droppable, status, said))
            dropped.append(droppable)
            continue
        raise BulkExportError(f"the kick-off was refused: HTTP {status}" + (f" ({said})" if said else ""), "server")
