"""``decide()``: FHIR resources of one patient in, the guideline's decision and whether to show it out.

Below both the CDS service (``cds_service.invocation``) and the worklist (``cohort.evaluation``): they differ only in
what they render. What differs between callers is data, a ``Policy`` (the service definitions carry theirs), never a
comparison of hook names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fhir_mappers import ImmunoglobulinOrder, MappingContext, code_table, summarize
from guideline import Assessment, Parameters, assess
from guideline.dose import order_purpose
from guideline.model import DataIssue, Finding, PatientRecord
from guideline.relevance import worth_showing

Outcome = Literal["card", "quiet", "immunomodulation-order"]


@dataclass(frozen=True)
class Policy:
    """What a caller reads and shows.

    Attributes:
        reads_orders: the caller decides about draft immunoglobulin orders (order-select, order-sign): their doses
            are assessed, and orders for immunomodulation (not IgRT) are left out; none left: no card.
        selected_orders_only: only the orders the clinician selected count (order-select).
        quiet_unless_concerned: show a decision only when ``guideline.relevance.worth_showing`` (patient-view, the
            worklist's card column): on IgRT, or start, consider or missing data for a patient the guideline
            concerns.
        follow_up: add the follow-up reminder to the advice (patient-view, the worklist).
    """

    reads_orders: bool = False
    selected_orders_only: bool = False
    quiet_unless_concerned: bool = False
    follow_up: bool = False


@dataclass(frozen=True)
class Decision:
    """One patient's decision under a policy.

    Attributes:
        record: the mapped patient (guideline model).
        assessment: the guideline's decision and advice; ``None`` when every order was immunomodulatory.
        orders: the draft orders the decision is about (IgRT orders only).
        outcome: ``card`` (show it), ``quiet`` (decided, nothing to show: not worth showing, or deceased), or
            ``immunomodulation-order`` (every immunoglobulin order is immunomodulation: out of scope, no card).
    """

    record: PatientRecord
    assessment: Assessment | None
    orders: tuple[ImmunoglobulinOrder, ...]
    outcome: Outcome

    @property
    def finding(self) -> Finding | None:
        """The decision, when one was made."""
        return self.assessment.finding if self.assessment is not None else None

    @property
    def shown(self) -> bool:
        """Whether the caller shows the decision (a card, a worklist card flag)."""
        return self.outcome == "card"


def decide(
    resources: Iterable[Mapping[str, Any]],
    *,
    patient_id: str | None,
    as_of: date,
    parameters: Parameters,
    tz: ZoneInfo,
    policy: Policy,
    medications: Mapping[str, Mapping[str, Any]] | None = None,
    full_urls: Mapping[str, str] | None = None,
    orders: tuple[ImmunoglobulinOrder, ...] = (),
    issues: Iterable[DataIssue] = (),
) -> Decision:
    """Map one patient's FHIR resources and decide.

    Args:
        resources: the patient's FHIR R4 resources (prefetch, FHIR fallback fetch, or a Bulk export), any order.
        patient_id: the patient the resources must belong to (others are named as data issues).
        as_of: the evaluation date.
        parameters: the guideline settings.
        tz: the time zone dates are read in.
        policy: what the caller reads and shows.
        medications: ``"Medication/id"`` -> Medication, for ``medicationReference`` (prefetch and draft entries).
        full_urls: Bundle ``fullUrl`` -> ``"Type/id"``, for references by full URL.
        orders: draft immunoglobulin orders (``fhir_mappers.immunoglobulin_orders``), when the policy reads orders.
        issues: data issues found before mapping (an optional prefetch key that was unavailable).
    """
    record = map_record(
        resources, patient_id=patient_id, tz=tz, medications=medications, full_urls=full_urls, issues=issues
    )
    return decide_mapped(record, as_of=as_of, parameters=parameters, policy=policy, orders=orders)


def map_record(
    resources: Iterable[Mapping[str, Any]],
    *,
    patient_id: str | None,
    tz: ZoneInfo,
    medications: Mapping[str, Mapping[str, Any]] | None = None,
    full_urls: Mapping[str, str] | None = None,
    issues: Iterable[DataIssue] = (),
) -> PatientRecord:
    """Map one patient's FHIR resources into the guideline model: ``decide``'s first half (args as ``decide``).

    For a caller that looks at the record before deciding (the worklist counts a patient the guideline does not
    concern without deciding: ``cohort.evaluation.evaluate_patient``).
    """
    ctx = MappingContext(tz=tz, codes=code_table(), medications=medications or {}, full_urls=full_urls or {})
    return summarize(resources, patient_id=patient_id, ctx=ctx, issues=issues)


def decide_mapped(
    record: PatientRecord,
    *,
    as_of: date,
    parameters: Parameters,
    policy: Policy,
    orders: tuple[ImmunoglobulinOrder, ...] = (),
) -> Decision:
    """Decide for an already mapped patient (the worklist's compare mode decides one record under two settings).

    Orders for immunomodulation (``guideline.dose.order_purpose``: an immunomodulatory reason, or 1 g/kg or more per
    course) are not IgRT: when the policy reads orders and none is left, no decision is made and no card shown.
    """
    if policy.reads_orders:
        orders = tuple(
            o
            for o in orders
            if o.dose is None or not order_purpose(o.dose, record, as_of=as_of, p=parameters).immunomodulation
        )
        if not orders:
            return Decision(record, None, (), "immunomodulation-order")
    doses = tuple(o.dose for o in orders if o.dose is not None)
    # Orders are read only under ``reads_orders``, and then the immunomodulatory ones were just left out.
    assessment = assess(
        record, as_of=as_of, p=parameters, orders=doses, follow_up=policy.follow_up, orders_are_igrt=policy.reads_orders
    )
    finding = assessment.finding
    if assessment.deceased:
        return Decision(record, assessment, orders, "quiet")
    if policy.quiet_unless_concerned and not worth_showing(finding, concerned=assessment.concerned):
        return Decision(record, assessment, orders, "quiet")
    return Decision(record, assessment, orders, "card")
