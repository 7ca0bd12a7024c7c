"""Product rules: SCIG first, when IVIG is reasonable, and switching. Informational, never blocking.

Sources: Opsummering, Tabel 1, "Anbefalinger for SCIG/IVIG", "Skift mellem præparater", "Manglende effekt",
"Bivirkninger".

* IVIG ordered: SCIG is "anvend" (first choice for about 70 %), IVIG "overvej"; the situations where IVIG is
  reasonable, with "expected short treatment" marked when the patient is inside the CAR-T/bsAb window.
* A switch (the order's route or product differs from the current IgRT): gram for gram; lack of effect not due to
  a poor IgG rise is a class effect (switching does not help, also between IVIG and SCIG); side effects are a
  legitimate reason to switch between IVIG and SCIG.
"""

from __future__ import annotations

from guideline import sources
from guideline.concepts import AdviceKind, AdviceRule, IgrtRoute
from guideline.facts import Facts
from guideline.model import Advice, Criterion, Evidence, IgrtRecord, OrderedDose
from guideline.products import find_product
from guideline.text import Message, msg


def ivig_advice(facts: Facts, order: OrderedDose) -> Advice | None:
    """Return the SCIG-first card when ``order`` is IVIG."""
    if order.route != IgrtRoute.IVIG:
        return None
    in_window = facts.in_window and facts.window_end is not None
    short = Criterion(
        id="expected-short-treatment",
        description=(
            msg(
                "Expected short treatment: inside the CAR-T/bsAb window, IgRT stops by {end} (IVIG reasonable)",
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
        summary=msg("IVIG ordered: SCIG is first choice (anvend, ~70 %); IVIG is 'overvej' in named situations"),
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
    """Return the switching card when the order's route or product differs from the current IgRT."""
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
