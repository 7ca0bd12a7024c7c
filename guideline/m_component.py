"""IgG M-component (myeloma): estimate polyclonal IgG as total IgG minus the M-protein, and judge immunoparesis.

Sources: Opsummering, "Kriterier for opstart", 1. ("Hos patienter, der har en IgG-M-komponent, er det totale
IgG-niveau ikke et retvisende udtryk for den humorale immunfunktion ... niveauet af IgM, IgA ... kan bidrage");
addendum table 8-7, COMMIT (Mohan 2023): "Monoklonal komponent bør fratrækkes ved vurdering af IgG".

An IgG M-component is established by the latest immunofixation (M-component typing) naming IgG. Then every IgG
result is replaced by its estimate, paired with the M-protein measured closest to it within
``m_protein_pairing_max_days`` (**interpretation**); an IgG without such an M-protein cannot be interpreted and is
reported, not used. Without a typing, a measurable M-protein leaves the isotype unknown: total IgG must not decide;
documented general immunoparesis (``immunoparesis``) takes the place of low IgG, and without it the decision is
insufficient data (type the M-component, measure IgA and IgM), never not-indicated on total IgG.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from guideline.concepts import Analyte
from guideline.labs import latest
from guideline.model import Criterion, DataIssue, Evidence, LabResult, MProteinTyping, PatientRecord, PolyclonalEstimate
from guideline.parameters import Parameters
from guideline.quick_init import quick_init
from guideline.text import msg


@quick_init
@dataclass(frozen=True, slots=True)
class MComponentStatus:
    """What the record says about an M-component on the evaluation date.

    Attributes:
        typing: the latest M-component typing (immunofixation) on or before the date, if any.
        m_protein: the latest M-protein result.
        igg_type: ``True`` when the typing names IgG (estimates used), ``False`` when it names others or none,
            ``None`` when there is a measurable M-protein but no typing (isotype unknown), or no M-protein at all.
        estimated: the IgG results replaced by estimates; ``unpaired``: IgG results left out (no M-protein nearby).
    """

    typing: MProteinTyping | None
    m_protein: LabResult | None
    igg_type: bool | None
    estimated: tuple[LabResult, ...] = ()
    unpaired: tuple[LabResult, ...] = ()

    @property
    def measurable(self) -> bool:
        """A latest M-protein above the detection limit."""
        mp = self.m_protein
        return mp is not None and mp.comparator not in ("<", "<=") and mp.value_g_per_l > 0

    @property
    def isotype_unknown(self) -> bool:
        """A measurable M-protein and no typing: it may be IgG, so total IgG must not decide (Opsummering)."""
        return self.measurable and self.typing is None


def immunoparesis(labs: tuple[LabResult, ...], *, as_of: date, p: Parameters) -> Criterion:
    """General immunoparesis: the latest recent IgA and IgM both below their reference-range low.

    Source: Opsummering, "Kriterier for opstart", 1.: "Hos patienter, der har en IgG-M-komponent ... kan
    dokumentation af en generel immunparese træde i stedet for lavt IgG". The lab's reference low is used where the
    result carries one, else ``iga_reference_low_default_g_per_l`` / ``igm_reference_low_default_g_per_l``
    (**interpretation**: common adult lower limits; set them to the local laboratory's). ``held`` is ``None`` when
    IgA or IgM has no recent result, or a bound (``< x``) cannot tell.
    """
    defaults = {Analyte.IGA: p.iga_reference_low_default_g_per_l, Analyte.IGM: p.igm_reference_low_default_g_per_l}
    evidence: list[Evidence] = []
    verdicts: list[bool | None] = []
    for analyte, default in defaults.items():
        lab = latest(labs, analyte, as_of=as_of)
        if lab is None or (as_of - lab.effective).days > p.igg_recent_max_age_days:
            verdicts.append(None)
            continue
        low = lab.reference_low_g_per_l if lab.reference_low_g_per_l is not None else default
        verdicts.append(lab.is_below(low))
        evidence.append(
            Evidence(
                text=msg(
                    "{analyte} {value} (reference low {low} g/L)",
                    analyte="IgA" if analyte == Analyte.IGA else "IgM",
                    value=lab.shown(),
                    low=low,
                ),
                ref=lab.ref,
                value=lab.value_g_per_l,
                comparator=lab.comparator,
                unit="g/L",
                on=lab.effective,
            )
        )
    held: bool | None = False if False in verdicts else (None if None in verdicts else True)
    return Criterion(
        id="general-immunoparesis",
        description=msg(
            "General immunoparesis documented: IgA and IgM both below their reference-range low (measured in the "
            "last {days} days)",
            days=p.igg_recent_max_age_days,
        ),
        held=held,
        evidence=tuple(evidence),
    )


def latest_typing(record: PatientRecord, *, as_of: date) -> MProteinTyping | None:
    """Return the newest M-component typing on or before ``as_of``."""
    found = [t for t in record.m_protein_typings if t.effective <= as_of]
    return max(found, key=lambda t: (t.effective, t.ref)) if found else None


def apply_estimates(record: PatientRecord, *, as_of: date, p: Parameters) -> tuple[PatientRecord, MComponentStatus]:
    """Return the record with IgG replaced by polyclonal estimates when an IgG M-component is typed, and the status.

    Unpaired IgG results become ``DataIssue``s on the returned record.
    """
    typing = latest_typing(record, as_of=as_of)
    m_protein = latest(record.labs, Analyte.M_PROTEIN, as_of=as_of)
    if typing is None or "IgG" not in typing.isotypes:
        status = MComponentStatus(typing=typing, m_protein=m_protein, igg_type=None if typing is None else False)
        return record, status
    proteins = [lab for lab in record.labs if lab.analyte == Analyte.M_PROTEIN]
    labs: list[LabResult] = []
    estimated: list[LabResult] = []
    unpaired: list[LabResult] = []
    for lab in record.labs:
        if lab.analyte != Analyte.IGG:
            labs.append(lab)
            continue
        paired = _nearest(proteins, lab.effective, p.m_protein_pairing_max_days)
        if paired is None:
            unpaired.append(lab)
            continue
        estimate = estimate_polyclonal(lab, paired)
        labs.append(estimate)
        estimated.append(estimate)
    issues = tuple(
        DataIssue(
            ref=lab.ref,
            reason=msg(
                "IgG {value} of {on}: with an IgG M-component (immunofixation of {typed_on}), total IgG without an "
                "M-protein measured within {days} days cannot be interpreted: not used",
                value=lab.shown(),
                on=lab.effective,
                typed_on=typing.effective,
                days=p.m_protein_pairing_max_days,
            ),
        )
        for lab in unpaired
    )
    updated = record.model_copy(update={"labs": tuple(labs), "data_issues": (*record.data_issues, *issues)})
    status = MComponentStatus(typing, m_protein, True, tuple(estimated), tuple(unpaired))
    return updated, status


def estimate_polyclonal(total: LabResult, m_protein: LabResult) -> LabResult:
    """Return total IgG minus M-protein (g/L, not below 0); an M-protein below the detection limit counts as 0.

    A comparator on the total ("< 2 g/L") carries over: the estimate is then below the same bound minus M.
    """
    below_limit = m_protein.comparator in ("<", "<=")
    m_value = 0.0 if below_limit else m_protein.value_g_per_l
    value = round(max(total.value_g_per_l - m_value, 0.0), 2)
    return replace(
        total,
        value_g_per_l=value,
        decimals=None,
        estimate=PolyclonalEstimate(
            total_g_per_l=total.value_g_per_l,
            m_protein_g_per_l=m_value,
            m_protein_ref=m_protein.ref,
            m_protein_on=m_protein.effective,
        ),
    )


def _nearest(proteins: list[LabResult], on: date, max_days: int) -> LabResult | None:
    candidates = [lab for lab in proteins if abs((lab.effective - on).days) <= max_days]
    if not candidates:
        return None
    return min(candidates, key=lambda lab: (abs((lab.effective - on).days), lab.effective < on, lab.ref))
