"""MedicationAdministration, MedicationRequest and MedicationStatement -> guideline facts.

* CAR-T / bsAb (ATC L01XL / L01FX list, or product name) -> ``TherapyAdministration`` (T0), from
  administrations and statements; an order alone is not an infusion and is named on the card instead.
* Immunoglobulin (ATC J06BA01 SCIG, J06BA02 IVIG, or product name) -> ``IgrtRecord``.
* Systemic antibacterial (ATC J01) -> ``AntibioticRecord`` ("given or prescribed").
Draft orders are the order being placed, not history; they are read by ``fhir_mappers.orders``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import orjson

from fhir_mappers.codes import Match
from fhir_mappers.context import MappingContext
from fhir_mappers.dates import first_date
from fhir_mappers.elements import as_list, concept_text
from fhir_mappers.errors import InvalidElementError, MissingElementError
from guideline.concepts import IgrtRoute, TherapyKind
from guideline.model import AntibioticRecord, DataIssue, IgrtRecord, TherapyAdministration
from guideline.text import msg

MedicationPart = TherapyAdministration | IgrtRecord | AntibioticRecord | DataIssue

_RELEVANT = ("car-t", "bsab", "bsab-not-b-cell", "igrt-scig", "igrt-ivig", "igrt", "antibiotic-systemic")
_RANK = {concept: rank for rank, concept in enumerate(_RELEVANT)}
"""Concept -> its place in ``_RELEVANT`` (the first listed wins when a medication matches several)."""
_NOT_IGRT = "ig-specific"  # specific immunoglobulins (J06BB: anti-D, hepatitis B ...) and ATG: never IgRT
_ROUTE_CONCEPTS = {"route-iv": IgrtRoute.IVIG, "route-sc": IgrtRoute.SCIG}
_DOSAGE_PATHS = {
    "MedicationRequest": "dosageInstruction",
    "MedicationOrder": "dosageInstruction",
    "MedicationAdministration": "dosage",
    "MedicationStatement": "dosage",
}
_SOURCES: Mapping[str, Literal["administration", "order", "statement"]] = {
    "MedicationAdministration": "administration",
    "MedicationRequest": "order",
    "MedicationStatement": "statement",
}
_IMMUNOMODULATION = "dx-ig-immunomodulation-indication"
_MEMO_LIMIT = 4096
"""Distinct medication concepts one ``MappingContext`` remembers (``medication_read``) before it starts over."""
ROUTES = {"igrt-scig": IgrtRoute.SCIG, "igrt-ivig": IgrtRoute.IVIG, "igrt": IgrtRoute.UNKNOWN}
_GIVEN = {
    "MedicationAdministration": frozenset({"completed", "in-progress", "stopped"}),
    "MedicationStatement": frozenset({"active", "completed", "stopped", "on-hold"}),
    "MedicationRequest": frozenset({"active", "completed", "stopped", "on-hold"}),
}
_DATES = {
    "MedicationAdministration": ("effectiveDateTime", "effectivePeriod.start"),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
    "MedicationRequest": ("authoredOn", "dispenseRequest.validityPeriod.start"),
}
_ENDS = {
    "MedicationAdministration": ("effectivePeriod.end",),
    "MedicationStatement": ("effectivePeriod.end",),
    "MedicationRequest": ("dispenseRequest.validityPeriod.end",),
}


def medication_match(resource: Mapping[str, Any], ctx: MappingContext) -> Match | None:
    """Return the guideline concept of a Medication* resource's medication (codes first, then names).

    Codes in any system of ``codes.csv`` (ATC, RxNorm, SNOMED CT) decide; without one, names in the concept's
    ``text`` and Coding displays (brand names, and generic names in English and Danish: "immune globulin",
    "immunoglobulin", "immunglobulin"). A specific immunoglobulin (ATC J06BB, or a name such as "hepatitis B" or
    "Rho(D)" beside the generic name) or antithymocyte globulin is not IgRT: ``None``.
    """
    return medication_read(resource, ctx)[0]


def medication_read(resource: Mapping[str, Any], ctx: MappingContext) -> tuple[Match | None, str]:
    """Return ``(medication_match, name)`` of a Medication* resource; ``name`` is its concept's ``concept_text``.

    Read once per distinct medication concept and call (``MappingContext.medications_read``): this runs for every
    Medication* resource, and a history of hundreds of administrations names the same few products.
    """
    concept = ctx.medication_code(resource)
    try:
        key = orjson.dumps(concept)
    except TypeError:  # not JSON data (never from a parsed request): read without the memo
        return _concept_match(concept, ctx), concept_text(concept)
    memo = ctx.medications_read
    read = memo.get(key)
    if read is None:
        if len(memo) >= _MEMO_LIMIT:  # a context reused for many patients (a worklist) stays bounded
            memo.clear()
        read = memo[key] = (_concept_match(concept, ctx), concept_text(concept))
    return read


def _concept_match(concept: Any, ctx: MappingContext) -> Match | None:
    # One pass: the most relevant concept, the first match on a tie.
    found: Match | None = None
    found_rank = len(_RELEVANT)
    for match in ctx.codes.matches(concept, by_name=True):
        if match.concept == _NOT_IGRT:
            return None
        rank = _RANK.get(match.concept, found_rank)
        if rank < found_rank:
            found, found_rank = match, rank
    return found


def igrt_route(resource: Mapping[str, Any], ctx: MappingContext, match: Match) -> IgrtRoute:
    """Return the route of an immunoglobulin record or order: SCIG, IVIG or unknown.

    The medication's own concept decides first (ATC J06BA01 / J06BA02, a product, "IVIG", "immune globulin
    subcutaneous"); else route words in its name ("... Subcutaneous Solution"); else the dosage's ``route``
    (``dosageInstruction[].route`` of an order, ``dosage.route`` of an administration, ``dosage[].route`` of a
    statement): SNOMED CT 47625008 / 34206005, EDQM 20045000 / 20066000, or the words in ``route.text``.
    """
    route = ROUTES.get(match.concept, IgrtRoute.UNKNOWN)
    if route is not IgrtRoute.UNKNOWN:
        return route
    found = _route_in(ctx.medication_code(resource), ctx)
    if found is not IgrtRoute.UNKNOWN:
        return found
    for dosage in as_list(resource.get(_DOSAGE_PATHS.get(str(resource.get("resourceType")), "dosage"))):
        if isinstance(dosage, Mapping):
            found = _route_in(dosage.get("route"), ctx)
            if found is not IgrtRoute.UNKNOWN:
                return found
    return IgrtRoute.UNKNOWN


def _route_in(concept: Any, ctx: MappingContext) -> IgrtRoute:
    if concept is None:
        return IgrtRoute.UNKNOWN
    routes = {
        _ROUTE_CONCEPTS[m.concept] for m in ctx.codes.matches(concept, by_name=True) if m.concept in _ROUTE_CONCEPTS
    }
    return routes.pop() if len(routes) == 1 else IgrtRoute.UNKNOWN  # both named: not told


def map_medication(
    resource: Mapping[str, Any],
    ctx: MappingContext,
    ref: str,
    *,
    read: tuple[Match | None, str] | None = None,
) -> list[MedicationPart]:
    """Map one Medication* resource; irrelevant medications and draft orders give ``[]``.

    ``read``: the resource's ``medication_read`` when the caller already has it (else it is looked up).

    Raises:
        MappingError: a relevant medication with an unusable status or no date.
    """
    kind = str(resource.get("resourceType"))
    match, name = read or medication_read(resource, ctx)
    status = resource.get("status")
    if match is None or status == "draft":
        return []
    if match.concept == "bsab-not-b-cell":
        reason = msg("{name}: not directed at B-cell or plasma-cell antigens (not population 2)", name=name)
        return [DataIssue(ref=ref, reason=reason)]
    if not isinstance(status, str) or status not in _GIVEN[kind]:
        raise InvalidElementError(
            msg("{name}: status '{status}' (not given)", name=name, status=str(status)), path=f"{kind}.status"
        )
    if match.concept in ("car-t", "bsab") and kind == "MedicationRequest":
        reason = msg("{name}: an order, not an administration; T0 is taken from administrations", name=name)
        return [DataIssue(ref=ref, reason=reason)]
    started = _start(resource, kind, ctx)
    if match.concept in ("car-t", "bsab"):
        if started is None:
            raise MissingElementError(msg("{name}: no administration date", name=name), path=f"{kind}.effective[x]")
        therapy = TherapyKind.CAR_T if match.concept == "car-t" else TherapyKind.BSAB
        return [TherapyAdministration(kind=therapy, substance=name, on=started, ref=ref, substance_key=match.substance)]
    if match.concept == "antibiotic-systemic":
        if started is None:
            raise MissingElementError(msg("{name}: no date", name=name), path=f"{kind}.effective[x]")
        return [
            AntibioticRecord(
                ref=ref,
                display=name,
                start=started,
                reason_refs=ctx.refs(resource.get("reasonReference")),
                active_order=kind != "MedicationAdministration" and status == "active",
            )
        ]
    return [_igrt(resource, kind, ctx, ref, name, match, started)]


def _igrt(
    resource: Mapping[str, Any],
    kind: str,
    ctx: MappingContext,
    ref: str,
    name: str,
    match: Match,
    started: Any,
) -> IgrtRecord:
    """An immunoglobulin record; its ``reasonCode`` (codes or words) can mark it immunomodulatory, not IgRT."""
    ended = first_date(resource, _ENDS[kind], tz=ctx.tz, type_name=kind)
    end = started if kind == "MedicationAdministration" else (ended[0] if ended else None)
    reason_code = resource.get("reasonCode")
    # Most administrations carry no reason: skip the look-up (a long history holds hundreds of doses).
    immunomodulation = reason_code is not None and any(
        m.concept == _IMMUNOMODULATION for m in ctx.codes.matches(reason_code, by_name=True)
    )
    reason_references = resource.get("reasonReference")
    return IgrtRecord(
        ref=ref,
        display=name,
        source=_SOURCES[kind],
        route=igrt_route(resource, ctx, match),
        start=started,
        end=end,
        active=kind != "MedicationAdministration" and resource.get("status") == "active",
        purpose="immunomodulation" if immunomodulation else "replacement",
        reason_refs=ctx.refs(reason_references) if reason_references is not None else (),
    )


def _start(resource: Mapping[str, Any], kind: str, ctx: MappingContext) -> Any:
    found = first_date(resource, _DATES[kind], tz=ctx.tz, type_name=kind)
    if found is not None:
        return found[0]
    if kind == "MedicationRequest":
        for dosage in as_list(resource.get("dosageInstruction")):
            bounds = first_date(dosage, ("timing.repeat.boundsPeriod.start",), tz=ctx.tz, type_name=kind)
            if bounds is not None:
                return bounds[0]
    return None
