"""Facts derived once per evaluation from a ``PatientRecord`` and shared by all rules.

Populations follow Opsummering "Kriterier for opstart" with this precedence: population 3 first (after an
allogeneic HSCT IgRT follows population 3, also after an earlier CAR-T: issue "clinical fidelity 3" §3), then 2
inside the window, then 2 after the window (same criteria as 1), then 1, then 4.

* Population 3 is allogeneic HSCT ("patienter, der gennemgår allogen HSCT") for
  ``allo_hsct_population_calendar_months`` after the latest allogeneic HSCT record (**interpretation**); later, and
  for autologous HSCT or an HSCT of unknown type, the population-1 criteria of the haematological disease behind
  the transplant apply. Population 4 is only for patients with neither haematological disease nor any HSCT
  ("der ikke har hæmatologisk sygdom eller har gennemgået HSCT").
* IgG results used by the start rules are the patient's own, or upper bounds of it: an IgG below 4 g/L drawn under
  immunoglobulin proves a low own IgG (``guideline.own_igg``); the other confounded ones are named.
* A CAR-T history code without an infusion date is no T0 (``car_t_undated``): the infusion was on or before the
  date it was recorded, so the window may still run until that date + 6 months (``guideline.t0_unknown``).
* A partial birth date decides adult or child when every possible birth date agrees (``adult``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from guideline.calendar import add_calendar_months, age_in_years, in_window
from guideline.concepts import Analyte, DiagnosisKind, Population, TherapyKind
from guideline.evidence import ANALYTE_LABELS
from guideline.igrt import IgrtStatus, igrt_status
from guideline.index_dates import IndexDate, index_dates
from guideline.infections import InfectionEpisode, infection_episodes
from guideline.labs import is_recent, latest
from guideline.m_component import MComponentStatus, apply_estimates, immunoparesis
from guideline.model import (
    Criterion,
    DataIssue,
    Diagnosis,
    InfectionRecord,
    LabResult,
    PatientRecord,
    TherapyAdministration,
)
from guideline.own_igg import (
    ConfoundedIgg,
    Exposure,
    exposures,
    own_igg_from,
    replacement_records,
    split_igg,
    upper_bounds,
)
from guideline.parameters import Parameters
from guideline.quick_init import quick_init
from guideline.text import msg


@quick_init
@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules need, computed once.

    Attributes:
        index: the most recent T0 on or before ``as_of``; ``window_end`` is T0 + 6 calendar months.
        igg_latest: the newest own IgG on or before ``as_of`` (any age); ``igg_recent`` the same if recent enough.
        igg_since_t0: the newest recent own IgG on or after T0 (the value the population-2 window rule reads).
        populations: every population that applies; ``primary`` the one that takes precedence.
        own_labs: the record's lab results without the IgG results that are not own (start rules read these).
        igg_not_own: IgG results confounded by an immunoglobulin dose, with the dose and the first own-IgG date.
        own_igg_from: the first day an own IgG can be drawn after the last immunoglobulin exposure.
        allo_hsct_until: end of the population-3 period after the latest allogeneic HSCT (``None``: none, or
            undated).
        immunoparesis: IgA and IgM against their reference lows (takes the place of low IgG with an M-component).
        decision_labs: ``own_labs`` plus the confounded IgG results below 4 g/L as upper bounds of the own IgG (the
            start rules read IgG from these).
        car_t_undated: the latest CAR-T history code when no CAR-T infusion is dated (no T0; its ``on`` is the date
            it was recorded, the latest the infusion can have been).
        preliminary_igg: the newest preliminary IgG on or before ``as_of`` that is newer than ``igg_latest``.
        not_verified: coded infections without organism and without a linked J01 antibiotic (not counted).
        given: the record as given to ``derive`` (before IgG estimates), for the readings that derive again.
    """

    record: PatientRecord
    as_of: date
    p: Parameters
    age_years: int | None
    index: IndexDate | None
    window_end: date | None
    in_window: bool
    diagnoses: tuple[Diagnosis, ...]
    populations: frozenset[Population]
    igg_latest: LabResult | None
    igg_recent: LabResult | None
    igg_since_t0: LabResult | None
    m_protein: LabResult | None
    episodes: tuple[InfectionEpisode, ...]
    data_issues: tuple[DataIssue, ...]
    igrt: IgrtStatus
    m_component: MComponentStatus
    own_labs: tuple[LabResult, ...] = ()
    igg_not_own: tuple[ConfoundedIgg, ...] = ()
    exposures: tuple[Exposure, ...] = ()
    own_igg_from: date | None = None
    allo_hsct_until: date | None = None
    immunoparesis: Criterion | None = None
    decision_labs: tuple[LabResult, ...] = ()
    not_verified: tuple[InfectionRecord, ...] = ()
    given: PatientRecord | None = None
    car_t_undated: TherapyAdministration | None = None
    preliminary_igg: LabResult | None = None

    @property
    def immunoparesis_substitutes(self) -> bool:
        """Documented immunoparesis takes the place of low IgG: an untyped or IgG M-component and IgA, IgM low."""
        status = self.m_component
        m_component = status.isotype_unknown or (status.measurable and status.igg_type is True)
        return m_component and self.immunoparesis is not None and self.immunoparesis.held is True

    @property
    def adult(self) -> bool | None:
        """Age >= 18 on ``as_of``; ``None`` when the birth date is unknown or a partial birth date straddles it.

        A partial birth date ("1999", "2009-04") decides when every possible birth date gives the same answer
        (issue "clinical fidelity 4" §9).
        """
        return _adult(self.record, self.as_of, self.p)

    @property
    def after_therapy(self) -> bool:
        """A CAR-T or bsAb is recorded: a dated T0, or a CAR-T history code without a date."""
        return self.index is not None or self.car_t_undated is not None

    @property
    def child_after_therapy(self) -> bool:
        """A patient under 18 with a CAR-T or bsAb T0: outside the CAR-T/bsAb criteria (addendum §4)."""
        return self.after_therapy and self.adult is False

    @property
    def primary(self) -> Population | None:
        """The population that takes precedence, or ``None`` for children after CAR-T/bsAb."""
        pops = self.populations
        if Population.ALLO_HSCT in pops:
            return Population.ALLO_HSCT
        if Population.CAR_T_OR_BSAB in pops and self.in_window:
            return Population.CAR_T_OR_BSAB
        for population in (
            Population.ALLO_HSCT,
            Population.CAR_T_OR_BSAB,
            Population.HAEMATOLOGICAL,
            Population.OTHER_HYPOGAMMAGLOBULINAEMIA,
        ):
            if population in pops:
                return population
        return None

    def diagnoses_of(self, kind: DiagnosisKind) -> tuple[Diagnosis, ...]:
        """Return the recorded diagnoses of one kind."""
        return tuple(d for d in self.diagnoses if d.kind == kind)


def derive(record: PatientRecord, *, as_of: date, p: Parameters) -> Facts:
    """Compute the ``Facts`` for ``record`` on ``as_of``. Pure: depends only on its arguments.

    With an IgG M-component typed, IgG results are polyclonal estimates (``guideline.m_component``) from here on.
    """
    given = record
    record, m_component = apply_estimates(record, as_of=as_of, p=p)
    age = None if record.birth_date is None else age_in_years(record.birth_date_latest or record.birth_date, as_of)
    dates = index_dates(record.therapies, as_of=as_of, p=p)
    index = dates[-1] if dates else None
    window_end = add_calendar_months(index.t0, p.window_calendar_months) if index else None
    window = index is not None and in_window(index.t0, as_of, months=p.window_calendar_months)
    undated = _car_t_undated(record, as_of=as_of)
    diagnoses = tuple(d for d in record.diagnoses if d.recorded is None or d.recorded <= as_of)
    kinds = {d.kind for d in diagnoses}
    populations: set[Population] = set()
    if (index is not None or undated is not None) and _adult(record, as_of, p) is True:
        populations.add(Population.CAR_T_OR_BSAB)
    allo_until = _allo_hsct_until(diagnoses, p)
    if DiagnosisKind.ALLO_HSCT in kinds:
        populations.add(Population.ALLO_HSCT if allo_until is None or as_of < allo_until else Population.HAEMATOLOGICAL)
    if kinds & _HAEMATOLOGICAL_KINDS:
        populations.add(Population.HAEMATOLOGICAL)
    if not populations and index is None and undated is None:
        populations.add(Population.OTHER_HYPOGAMMAGLOBULINAEMIA)
    found = exposures(record, as_of=as_of)
    own_labs, not_own = split_igg(record.labs, found, washout_days=p.igg_washout_days)
    decision_labs = (*own_labs, *upper_bounds(not_own, below_g_per_l=p.igg_start_below_g_per_l))
    igrt = igrt_status(replacement_records(record), as_of=as_of, p=p)
    igg_latest = latest(decision_labs, Analyte.IGG, as_of=as_of)
    igg_recent = igg_latest if igg_latest and is_recent(igg_latest, as_of=as_of, p=p) else None
    since_t0 = igg_recent
    if index is not None and igg_recent is not None and p.pop2_igg_must_follow_t0 and igg_recent.effective < index.t0:
        since_t0 = None
    history = infection_episodes(record, as_of=as_of, p=p)
    not_own_issues = () if igrt.on_igrt else tuple(_not_own_issue(c, p) for c in not_own if c.lab.effective <= as_of)
    preliminary = _newer_preliminary(record, igg_latest, as_of=as_of)
    return Facts(
        record=record,
        as_of=as_of,
        p=p,
        age_years=age,
        index=index,
        window_end=window_end,
        in_window=window,
        diagnoses=diagnoses,
        populations=frozenset(populations),
        igg_latest=igg_latest,
        igg_recent=igg_recent,
        igg_since_t0=since_t0,
        m_protein=latest(record.labs, Analyte.M_PROTEIN, as_of=as_of),
        episodes=history.episodes,
        not_verified=history.not_verified,
        data_issues=(*record.data_issues, *history.issues, *not_own_issues, *_preliminary_issues(record, as_of)),
        igrt=igrt,
        m_component=m_component,
        own_labs=own_labs,
        igg_not_own=not_own,
        exposures=found,
        own_igg_from=own_igg_from(found, washout_days=p.igg_washout_days),
        allo_hsct_until=allo_until,
        immunoparesis=immunoparesis(record.labs, as_of=as_of, p=p),
        decision_labs=decision_labs,
        car_t_undated=undated,
        preliminary_igg=preliminary,
        given=given,
    )


def _adult(record: PatientRecord, as_of: date, p: Parameters) -> bool | None:
    """Adult on ``as_of`` for every possible birth date (``None``: unknown, or a partial date that straddles 18)."""
    if record.birth_date is None:
        return None
    oldest = age_in_years(record.birth_date, as_of)
    youngest = age_in_years(record.birth_date_latest or record.birth_date, as_of)
    if youngest >= p.adult_age_years:
        return True
    return False if oldest < p.adult_age_years else None


def _car_t_undated(record: PatientRecord, *, as_of: date) -> TherapyAdministration | None:
    """The latest CAR-T history code (no infusion date) when no CAR-T infusion is dated on or before ``as_of``."""
    car_t = [t for t in record.therapies if t.kind == TherapyKind.CAR_T and t.on <= as_of]
    if any(t.date_certain for t in car_t):
        return None
    undated = [t for t in car_t if not t.date_certain]
    return max(undated, key=lambda t: (t.on, t.ref)) if undated else None


def _newer_preliminary(record: PatientRecord, decided: LabResult | None, *, as_of: date) -> LabResult | None:
    """The newest preliminary IgG on or before ``as_of`` when it is newer than the IgG the decision reads."""
    found = [item.lab for item in record.preliminary_labs if item.lab.analyte == Analyte.IGG]
    newest = latest(tuple(found), Analyte.IGG, as_of=as_of)
    if newest is None or (decided is not None and newest.effective <= decided.effective):
        return None
    return newest


def _preliminary_issues(record: PatientRecord, as_of: date) -> tuple[DataIssue, ...]:
    return tuple(
        DataIssue(
            ref=item.lab.ref,
            reason=msg(
                "{analyte} {value} of {on} is preliminary: not used until the final result",
                analyte=ANALYTE_LABELS[item.lab.analyte],
                value=item.lab.shown(),
                on=item.lab.effective,
            ),
        )
        for item in record.preliminary_labs
        if item.lab.effective <= as_of
    )


_HAEMATOLOGICAL_KINDS = frozenset(
    {DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY, DiagnosisKind.AUTOLOGOUS_HSCT, DiagnosisKind.HSCT_UNKNOWN_TYPE}
)
"""Diagnoses under the population-1 criteria: the disease, or a transplant that is not known to be allogeneic."""


def _allo_hsct_until(diagnoses: tuple[Diagnosis, ...], p: Parameters) -> date | None:
    dated = [d.recorded for d in diagnoses if d.kind == DiagnosisKind.ALLO_HSCT and d.recorded is not None]
    return add_calendar_months(max(dated), p.allo_hsct_population_calendar_months) if dated else None


def _not_own_issue(confounded: ConfoundedIgg, p: Parameters) -> DataIssue:
    dose = confounded.exposure
    return DataIssue(
        ref=confounded.lab.ref,
        reason=msg(
            "IgG {value} of {on} is not the patient's own: drawn {days} days after immunoglobulin {drug} of "
            "{dose_on}; it only shows the own IgG is at most this (own IgG from {own_from}, {washout} days after a "
            "dose)",
            value=confounded.lab.shown(),
            on=confounded.lab.effective,
            days=(confounded.lab.effective - dose.end).days,
            drug=dose.display,
            dose_on=dose.end,
            own_from=confounded.own_from,
            washout=p.igg_washout_days,
        ),
    )
