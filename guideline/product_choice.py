"""Product rules: SCIG first, when IVIG can be considered, fSCIG in small children, switching. Never blocking.

Sources: Opsummering, Tabel 1, "Anbefalinger for SCIG/IVIG", "Skift mellem præparater", "Manglende effekt",
"Bivirkninger".

* IVIG ordered: SCIG is "anvend" (first choice for about 70 %), IVIG "overvej"; the situations where "IVIG kan
  overvejes" (IVIG can be considered), with "expected short treatment" marked when the patient is inside the
  CAR-T/bsAb window.
* fSCIG (HyQvia) ordered for a small child (under ``Parameters.small_child_max_age_years``): "Hos små børn er det dog
  vanskeligt at anvende fSCIG (HyQvia) pga. det meget store volumen ... foretrækkes almindelig SCIG givet ca. en
  gang om ugen" (Anbefalinger for SCIG). Shown on the order's dose card (``with_small_child_fscig``).
* A switch (the order's route or product differs from the current IgRT): gram for gram; lack of effect not due to
  a poor IgG rise is a class effect (switching does not help, also between IVIG and SCIG); side effects are a
  legitimate reason to switch between IVIG and SCIG.

Product advice is given only beside a decision to start, consider or continue IgRT, and for children after
CAR-T/bsAb (``guideline.advice``): a not-indicated, stop or insufficient-data card never calls IVIG an option.
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import AdviceKind, AdviceRule, IgrtRoute
from guideline.facts import Facts
from guideline.model import Advice, Criterion, Evidence, IgrtRecord, OrderedDose
from guideline.parameters import DEFAULT_PARAMETERS
from guideline.products import find_product
from guideline.text import Message, msg

SMALL_CHILD_MAX_AGE_YEARS = DEFAULT_PARAMETERS.small_child_max_age_years
"""The default of ``Parameters.small_child_max_age_years`` (**interpretation**): under 6 years, pre-school age, a
"lille barn" for whom fSCIG (HyQvia) is hard to use (Anbefalinger for SCIG: "Hos små børn ... det meget store
volumen, der skal gives ad gangen")."""


def ivig_advice(facts: Facts, order: OrderedDose) -> Advice | None:
    """Return the SCIG-first card when ``order`` is IVIG.

    Source: Opsummering, "Anbefalinger for IVIG" and Tabel 1 (SCIG "anvend", IVIG "overvej"; the situations where
    IVIG can be considered).
    """
    if order.route != IgrtRoute.IVIG:
        return None
    in_window = facts.in_window and facts.window_end is not None
    short = Criterion(
        id="expected-short-treatment",
        description=(
            msg(
                "Expected short treatment: inside the CAR-T/bsAb window, IgRT stops by {end} (IVIG can be considered)",
                end=facts.window_end,
            )
            if in_window
            else msg("Expected short treatment (e.g. inside the CAR-T/bsAb window)")
        ),
        held=True if in_window else None,
        required=False,
    )
    situations = (
        msg("expected short treatment"),
        msg("need for very high doses that are hard to give subcutaneously"),
        msg("skin problems that rule out subcutaneous use"),
        msg("problems with or fear of self-injection (e.g. frail patients)"),
    )
    return Advice(
        kind=AdviceKind.PRODUCT,
        rule=AdviceRule.PRODUCT_IVIG_ORDERED,
        summary=msg("IVIG ordered: SCIG is first choice (anvend, ~70 %); IVIG can be considered in named situations"),
        criteria=(
            Criterion(
                id="ordered-route-ivig",
                description=msg("The order is IVIG (intravenous)"),
                held=True,
                evidence=(Evidence(text=msg("{display}", display=order.display), ref=order.ref),),
            ),
            short,
        ),
        notes=(
            msg(
                "Medicinrådet recommends SCIG over IVIG: most patients prefer home treatment to monthly hospital "
                "visits (SCIG 'anvend': Hizentra, Cutaquig, HyQvia, Xembify; IVIG 'overvej': Kiovig, Octagam, "
                "Privigen, Gamunex; equal gram for gram)."
            ),
            msg("IVIG can be considered over SCIG with: {situations}.", situations=situations),
        ),
        source=sources.PRODUCT_IVIG,
        values=(("orderedRoute", order.route.value), ("inWindow", "yes" if in_window else "no")),
    )


def switch_advice(facts: Facts, order: OrderedDose) -> Advice | None:
    """Return the switching card when the order's route or product differs from the current IgRT.

    Source: Opsummering, "Skift mellem præparater", "Manglende effekt" and "Bivirkninger".
    """
    current = _current_record(facts)
    if current is None:
        return None
    current_product = find_product(current.display)
    route_change = IgrtRoute.UNKNOWN not in (current.route, order.route) and current.route != order.route
    product_change = current_product is not None and order.product is not None and current_product.name != order.product
    if not (route_change or product_change):
        return None
    notes: list[Message] = [
        msg("Skift mellem præparater: switch gram for gram (1 g to 1 g) between IVIG and/or SCIG products."),
        msg(
            "Manglende effekt: lack of effect that is not due to an inadequate IgG rise with a specific product is a "
            "class effect; do not switch product for it, also not between IVIG and SCIG."
        ),
        msg(
            "Bivirkninger: side effects can justify switching between IVIG (fever, chills, back pain) and SCIG "
            "(local reactions at the injection site)."
        ),
    ]
    if current.route == IgrtRoute.SCIG and order.route == IgrtRoute.SCIG:
        notes.append(
            msg(
                "Switching SCIG products at home needs training in a new product and pump (strength, volume, "
                "infusion rate; facilitated SCIG has much larger volumes)."
            )
        )
    return Advice(
        kind=AdviceKind.PRODUCT,
        rule=AdviceRule.PRODUCT_SWITCH,
        summary=msg(
            "Switching immunoglobulin ({current} to {ordered}): gram for gram; a switch does not help lack of effect",
            current=current_product.name if current_product else current.route.value,
            ordered=order.product or order.route.value,
        ),
        criteria=(
            Criterion(
                id="product-differs",
                description=msg("The order differs from the current immunoglobulin (route or product)"),
                held=True,
                evidence=(
                    Evidence(text=msg("current: {display}", display=current.display), ref=current.ref),
                    Evidence(text=msg("ordered: {display}", display=order.display), ref=order.ref),
                ),
            ),
        ),
        notes=tuple(notes),
        source=sources.PRODUCT_SWITCH,
    )


def _current_record(facts: Facts) -> IgrtRecord | None:
    episode = facts.igrt.current
    if episode is None:
        return None
    refs = set(episode.refs)
    records = [r for r in facts.record.igrt if r.ref in refs and r.start is not None]
    return max(records, key=lambda r: (r.start, r.ref)) if records else None


def small_child_fscig(facts: Facts, order: OrderedDose) -> Criterion | None:
    """Return the "small child ordered fSCIG" criterion, or ``None`` (Opsummering, "Anbefalinger for SCIG").

    It holds when ``order`` is facilitated SCIG (HyQvia) for a child younger than ``small_child_max_age_years``
    (``Facts.age_years``: with a partial birth date the youngest possible age); an unknown age gives ``None``.
    """
    product = find_product(order.product or order.display)
    if product is None or not product.facilitated or facts.age_years is None:
        return None
    if facts.age_years >= facts.p.small_child_max_age_years:
        return None
    return Criterion(
        id="fscig-small-child",
        description=msg(
            "fSCIG ({product}) ordered for a small child (under {limit} years): a very large volume at a time",
            product=product.name,
            limit=facts.p.small_child_max_age_years,
        ),
        held=True,
        evidence=(
            Evidence(text=msg("{display}", display=order.display), ref=order.ref),
            Evidence(text=msg("age {age} years", age=facts.age_years), value=facts.age_years, unit="a"),
        ),
    )


def with_small_child_fscig(facts: Facts, order: OrderedDose, dose_card: Advice) -> Advice:
    """Return the order's dose card with the small-child fSCIG advice added (a warning), or the card unchanged.

    Source: Opsummering, "Anbefalinger for SCIG": "Hos små børn er det dog vanskeligt at anvende fSCIG (HyQvia) pga. det
    meget store volumen, der skal gives ad gangen. Derfor foretrækkes almindelig SCIG givet ca. en gang om ugen". The
    summary keeps an out-of-range monthly dose in view.
    """
    criterion = small_child_fscig(facts, order)
    if criterion is None:
        return dose_card
    monthly = dict(dose_card.values).get("monthlyDoseGPerKg")
    if dose_card.rule == AdviceRule.DOSE_OUT_OF_RANGE and monthly is not None:
        summary = msg(
            "fSCIG for a child under {limit} years: ordinary SCIG about weekly is preferred; dose {monthly} g/kg per "
            "month outside 0.4-0.8 g/kg",
            limit=facts.p.small_child_max_age_years,
            monthly=monthly,
        )
    else:
        summary = msg(
            "fSCIG (HyQvia) for a child under {limit} years: ordinary SCIG given about once a week is preferred",
            limit=facts.p.small_child_max_age_years,
        )
    note = msg(
        "Anbefalinger for SCIG: in small children fSCIG (HyQvia) is hard to use because of the very large volume "
        "given at a time, so ordinary SCIG given about once a week is preferred; compliance or the patient's "
        "preferences can still make a monthly treatment more suitable."
    )
    return dose_card.updated(
        summary=summary,
        warning=True,
        criteria=(*dose_card.criteria, criterion),
        notes=(note, *dose_card.notes),
        values=(*dose_card.values, ("fscigSmallChild", "yes"), ("ageYears", facts.age_years)),
        interpretations=(*dose_card.interpretations, "small_child_max_age_years"),
    )
