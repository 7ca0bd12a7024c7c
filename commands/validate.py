"""``cds-service validate REQUEST.json``: where a CDS Hooks request is not valid FHIR R4, and what the service does.

For an integrator, offline. Every resource in ``prefetch`` (Bundles, their entries, single resources) and in
``context.draftOrders`` is validated against the FHIR R4B models and FHIR JSON's own rules
(``commands.fhir_validation``). The request then goes through the service's own reading:
``parse_hook_request``, the immunoglobulin orders, ``gather`` (the 412 rule) and the mappers (``summarize`` with the
code table), whose data issues are what the card names under "Data not used".

One line per problem: where, what, and what the service does with it:

* ``used``: read and decided on (the service reads FHIR leniently: an invalid element it can read is used);
* ``ignored``: not read (a type or code the guideline never reads, entered-in-error, another patient, a draft order
  that is not an immunoglobulin), or read and named on the card as data not used;
* ``fetched``: not usable as sent (absent, a search error, a first page only): fetched from ``fhirServer``;
* ``refused``: the request as a whole is answered 400 or 412 (exit status 1).

Not on the request path: the service itself never validates against the FHIR models (reading stays lenient and
fast); this command is how an integrator sees what strict FHIR would say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from cds_service.ehr.fhir_client import Fetched, FhirAccessError, next_link
from cds_service.ehr.prefetch import gather
from cds_service.wire.definitions import PREFETCH, SERVICES, ServiceDefinition, find
from cds_service.wire.errors import (
    CdsServiceError,
    InvalidHookRequestError,
    PrefetchUnavailableError,
    UnknownServiceError,
)
from cds_service.wire.requests import HookRequest, OrderSelectContext, OrderSignContext, parse_hook_request
from commands.fhir_validation import FhirProblem, fhir_problems
from fhir_mappers import MappingContext, code_table, immunoglobulin_orders, medications_by_key, read_value, summarize
from fhir_mappers.orders import ORDER_TYPES, draft_resources
from fhir_mappers.references import reference_key, resource_key

_NAMED_ON_CARD = 'named on the card under "Data not used"'
_PLACEHOLDER = {"resourceType": "Binary", "contentType": "text/plain"}
"""Stands in for each entry's resource when a Bundle's own elements are validated (entries are validated apart)."""


class Outcome(StrEnum):
    """What the service does with a resource or a prefetch key (see the module docstring)."""

    USED = "used"
    IGNORED = "ignored"
    FETCHED = "fetched"
    REFUSED = "refused"


@dataclass(frozen=True)
class Problem:
    """One line of the report: ``where`` in the request, ``what`` is wrong, what the service does and ``why``."""

    where: str
    what: str
    outcome: Outcome
    why: str

    def line(self) -> str:
        """Return the problem as one line."""
        return f"{self.where}: {self.what} -> {self.outcome.value} ({self.why})"


@dataclass(frozen=True)
class Report:
    """Every problem found in one request, and the service's answer to the request as a whole."""

    service_id: str | None
    problems: tuple[Problem, ...]

    @property
    def refused(self) -> bool:
        """Whether the service refuses the request (400 or 412)."""
        return any(p.outcome == Outcome.REFUSED for p in self.problems)

    def summary(self) -> str:
        """Return the closing line: how many problems, and whether the service answers the request."""
        count = f"{len(self.problems)} problem{'' if len(self.problems) == 1 else 's'}"
        verdict = "refused by the service" if self.refused else f"answered by {self.service_id}"
        return f"{count}; the request is {verdict}"


@dataclass(frozen=True)
class _Item:
    """One resource of the request (or a Bundle's own elements) with its FHIR problems and what the service does."""

    where: str
    resource: Any
    problems: tuple[FhirProblem, ...]
    outcome: Outcome = Outcome.USED
    why: str = "read"
    issues: tuple[str, ...] = ()
    """The mappers' data issues: what the card would name under "Data not used"."""


def validate_request(
    body: Any, *, tz: ZoneInfo, optional_prefetch: frozenset[str], service_id: str | None = None
) -> Report:
    """Validate a CDS Hooks request's FHIR and run it through the service's reading (see the module docstring).

    Args:
        body: the parsed JSON request.
        tz: the service's time zone (``CDS_TIMEZONE``), for the mappers.
        optional_prefetch: the prefetch keys the decision may go without (``CDS_OPTIONAL_PREFETCH``).
        service_id: the service the request is for (default: the service for its ``hook``).
    """
    hook = body.get("hook") if isinstance(body, Mapping) else None
    service = find(service_id) if service_id else next((s for s in SERVICES if s.hook == hook), None)
    items = _items(body) if isinstance(body, Mapping) else []
    if service is None:
        if service_id:
            known = ", ".join(s.id for s in SERVICES)
            refusal: CdsServiceError = UnknownServiceError(f"no service {service_id!r} ({known})", expression="service")
        else:
            hooks = ", ".join(s.hook for s in SERVICES)
            what = f"{str(hook)[:40]!r} is not a hook this service answers ({hooks})"
            refusal = InvalidHookRequestError(what, expression="hook")
        return _report(None, items, [_refusal(refusal)])
    try:
        request = parse_hook_request(body, hook=service.hook)
    except CdsServiceError as error:
        return _report(service, items, [_refusal(error)])
    return _report(*_read(service, request, body, items, tz=tz, optional_prefetch=optional_prefetch))


def _report(service: ServiceDefinition | None, items: list[_Item], notes: list[Problem]) -> Report:
    refused = any(p.outcome == Outcome.REFUSED for p in notes)
    lines = list(notes)
    for item in items:
        found = [(f"{p.path}: {p.message}" if p.path else p.message, item.outcome, item.why) for p in item.problems]
        found += [(issue, Outcome.IGNORED, _NAMED_ON_CARD) for issue in item.issues]
        for what, outcome, why in found:
            if refused:  # what the service would do, were the request answered
                outcome, why = Outcome.REFUSED, f"the request is refused; else {outcome.value}: {why}"
            lines.append(Problem(item.where, what, outcome, why))
    return Report(service.id if service else None, tuple(lines))


def _refusal(error: CdsServiceError) -> Problem:
    return Problem(error.expression or "request", error.detail, Outcome.REFUSED, f"{error.status} {error.code}")


def _items(body: Mapping[str, Any]) -> list[_Item]:
    """Every resource in ``prefetch`` and ``context.draftOrders``, each with its FHIR problems."""
    items: list[_Item] = []
    prefetch = body.get("prefetch")
    if isinstance(prefetch, Mapping):
        for key, value in prefetch.items():
            items += _value_items(f"prefetch.{key}", value)
    context = body.get("context")
    if isinstance(context, Mapping) and context.get("draftOrders") is not None:
        items += _value_items("context.draftOrders", context["draftOrders"])
    return items


def _value_items(where: str, value: Any) -> list[_Item]:
    if value is None:
        return []
    if not isinstance(value, Mapping) or value.get("resourceType") != "Bundle":
        key = f" {resource_key(value)}" if isinstance(value, Mapping) else ""
        return [_Item(f"{where}{key}", value, fhir_problems(value))]
    entries = value.get("entry")
    listed = entries if isinstance(entries, list) else []
    shell_entries = [
        {**e, "resource": _PLACEHOLDER} if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping) else e
        for e in listed
    ]
    shell = {**value, "entry": shell_entries} if isinstance(entries, list) else value
    items = [_Item(f"{where} Bundle", value, fhir_problems(shell), why="its entries are read")]
    for index, entry in enumerate(listed):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping):
            items.append(_Item(f"{where} entry[{index}] {resource_key(resource)}", resource, fhir_problems(resource)))
    return items


Fate = tuple[Outcome, str]
"""What the service does with one resource, and why."""


def _fate(used: bool, why_used: str, why_ignored: str) -> Fate:
    return (Outcome.USED, why_used) if used else (Outcome.IGNORED, why_ignored)


def _read(
    service: ServiceDefinition,
    request: HookRequest,
    body: Mapping[str, Any],
    items: list[_Item],
    *,
    tz: ZoneInfo,
    optional_prefetch: frozenset[str],
) -> tuple[ServiceDefinition, list[_Item], list[Problem]]:
    """Run a parsed request through the service's reading, as ``invoke`` does; give every item its outcome.

    The resources are read from ``body`` as sent: the objects the items hold.
    """
    sent: Mapping[str, Any] = body.get("prefetch") or {}
    drafts = draft_resources(body["context"].get("draftOrders"))
    fates: dict[int, Fate] = {}
    notes: list[Problem] = []
    for key in (key for key in sent if key not in PREFETCH):
        notes.append(Problem(f"prefetch.{key}", "not a prefetch key of this service", Outcome.IGNORED, "not read"))
        _mark(fates, sent[key], (Outcome.IGNORED, "not a prefetch key of this service"))
    if not isinstance(request.context, OrderSignContext):
        _mark(fates, body["context"].get("draftOrders"), (Outcome.IGNORED, f"{service.hook} reads no draft orders"))
        read_drafts: tuple[Mapping[str, Any], ...] = ()
    else:
        no_order = _read_orders(request.context, drafts, fates, tz=tz)
        read_drafts = drafts
        if no_order is not None:  # answered {"cards": []} before the prefetch is read
            for value in sent.values():
                _mark(fates, value, (Outcome.IGNORED, "no immunoglobulin order: the prefetch is not read"))
            for resource in drafts:  # the draft Medications: no immunoglobulin order names them
                fates.setdefault(id(resource), (Outcome.IGNORED, "no immunoglobulin order"))
            return service, [_with_fate(i, fates, {}) for i in items], [*notes, no_order]
    notes += _gather(request, sent, optional_prefetch=optional_prefetch)
    issues = _read_prefetch(request, sent, read_drafts, fates, tz=tz)
    return service, [_with_fate(i, fates, issues) for i in items], notes


def _mark(fates: dict[int, Fate], value: Any, fate: Fate) -> None:
    """Give a prefetch or draftOrders value (and, for a Bundle, each of its resources) one fate."""
    if isinstance(value, Mapping):
        fates[id(value)] = fate
        fates.update({id(resource): fate for resource in read_value(value).resources})


def _with_fate(item: _Item, fates: Mapping[int, Fate], issues: Mapping[int, tuple[str, ...]]) -> _Item:
    fate = fates.get(id(item.resource))
    if fate is None:
        return item
    return replace(item, outcome=fate[0], why=fate[1], issues=issues.get(id(item.resource), ()))


def _read_orders(
    context: OrderSignContext, drafts: tuple[Mapping[str, Any], ...], fates: dict[int, Fate], *, tz: ZoneInfo
) -> Problem | None:
    """The draft orders as ``invoke`` reads them: which are immunoglobulin orders (none: no card, a note)."""
    selections = context.selections if isinstance(context, OrderSelectContext) else None
    ctx = MappingContext(tz=tz, codes=code_table(), medications=medications_by_key(drafts))
    orders = {order.ref for order in immunoglobulin_orders(drafts, ctx, selections=selections)}
    wanted = None if selections is None else {reference_key(s) for s in selections}
    ordered = [r for r in drafts if r.get("resourceType") in ORDER_TYPES and resource_key(r) in orders]
    reasons = {ref for r in ordered for ref in ctx.refs(r.get("reasonReference"))}
    for resource in drafts:
        key, kind = resource_key(resource), resource.get("resourceType")
        if kind in ORDER_TYPES:
            unselected = wanted is not None and key not in wanted
            why = "not among context.selections" if unselected else "not an immunoglobulin order"
            fates[id(resource)] = _fate(key in orders, "an immunoglobulin order: decided on", why)
        elif kind == "Condition":
            fates[id(resource)] = _fate(
                key in reasons, "the reason of an immunoglobulin order", "no immunoglobulin order gives it as reason"
            )
        elif kind != "Medication":  # Medications: _read_prefetch, with the prefetch's
            fates[id(resource)] = (Outcome.IGNORED, "draft orders are read for immunoglobulin orders only")
    if orders:
        return None
    among = " among context.selections" if selections is not None else ""
    what = f"no immunoglobulin order (ATC J06BA or a product name){among}"
    return Problem("context.draftOrders", what, Outcome.IGNORED, 'answered {"cards": []}')


def _gather(request: HookRequest, sent: Mapping[str, Any], *, optional_prefetch: frozenset[str]) -> list[Problem]:
    """The prefetch keys as ``gather`` reads them: one line per key not usable as sent, and the 400/412 rule.

    Nothing is fetched: with ``fhirServer`` and ``fhirAuthorization`` the service would fetch such a key.
    """
    can_fetch = bool(request.fhirServer) and request.fhirAuthorization is not None

    def fetch(urls: Mapping[str, str]) -> Mapping[str, Fetched | FhirAccessError]:
        return {key: Fetched(None) for key in urls}

    refused: PrefetchUnavailableError | None = None
    try:
        context = request.context.model_dump()
        gather(request.prefetch, context=context, optional_keys=optional_prefetch, fetch=fetch if can_fetch else None)
    except PrefetchUnavailableError as error:
        refused = error
    except CdsServiceError as error:  # a prefetch value that is neither an object nor null: 400
        return [_refusal(error)]
    notes = []
    for key in PREFETCH:
        what = _unusable(sent, key)
        if what is None:
            continue
        if can_fetch:
            fate: Fate = (Outcome.FETCHED, "from fhirServer, when on CDS_FHIR_SERVER_ALLOWLIST; not fetched here")
        elif key in optional_prefetch:
            fate = (Outcome.IGNORED, 'decided without it; named on the card under "Data not used"')
        else:
            fate = (Outcome.REFUSED, "412 prefetch-unavailable: no fhirServer and fhirAuthorization to fetch it")
        notes.append(Problem(f"prefetch.{key}", what, *fate))
    if refused is not None and not any(note.outcome == Outcome.REFUSED for note in notes):
        notes.append(_refusal(refused))
    return notes


def _unusable(sent: Mapping[str, Any], key: str) -> str | None:
    """Why a prefetch key cannot be used as sent (``gather``'s reasons), or ``None`` (usable, or ``null``)."""
    value = sent.get(key)
    if key not in sent or not isinstance(value, Mapping):
        return "not provided" if key not in sent else None
    result = read_value(value)
    if result.errors:
        return "the client reported a search error: " + "; ".join(result.errors)[:200]
    if value.get("resourceType") == "Bundle" and next_link(value) is not None:
        return "only the first page was prefetched"
    return None


def _read_prefetch(
    request: HookRequest,
    sent: Mapping[str, Any],
    drafts: tuple[Mapping[str, Any], ...],
    fates: dict[int, Fate],
    *,
    tz: ZoneInfo,
) -> dict[int, tuple[str, ...]]:
    """The prefetch resources as the mappers read them (``summarize`` one at a time); returns their data issues."""
    readable = [read_value(value) for key, value in sent.items() if key in PREFETCH and isinstance(value, Mapping)]
    for result in (result for result in readable if result.errors):  # fetched again (or refused): not read
        fates.update({id(r): (Outcome.IGNORED, "its key reported a search error") for r in result.resources})
    prefetched = [r for result in readable if not result.errors for r in result.resources]
    ctx = MappingContext(
        tz=tz,
        codes=code_table(),
        medications={**medications_by_key(prefetched), **medications_by_key(drafts)},
        full_urls={url: key for result in readable for url, key in result.full_urls.items()},
    )
    referenced = {ctx.ref(r.get("medicationReference")) for r in (*prefetched, *drafts)}
    read = {id(r) for r in prefetched}
    issues: dict[int, tuple[str, ...]] = {}
    for resource in (*prefetched, *drafts):
        if resource.get("resourceType") == "Medication":
            fates[id(resource)] = _fate(
                resource_key(resource) in referenced,
                "the medication of a resource that names it",
                "no resource names it",
            )
        elif id(resource) in read:
            record = summarize([resource], patient_id=request.context.patientId, ctx=ctx)
            issues[id(resource)] = tuple(issue.reason.english() for issue in record.data_issues)
            mapped = any(value for name, value in record if name != "data_issues")
            fates[id(resource)] = (
                (Outcome.IGNORED, _NAMED_ON_CARD)
                if record.data_issues
                else _fate(mapped, "read by the mappers", "nothing the guideline reads")
            )
    return issues
