"""Facts derived once per evaluation from a ``PatientRecord`` and shared by all rules.

Populations follow Opsummering "Kriterier for opstart" with the decision table's precedence: population 2 inside
the window first, then 3, then 2 after the window (same criteria as 1), then 1, then 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from guideline.calendar import add_calendar_months, age_in_years, in_window
from guideline.concepts import Analyte, DiagnosisKind, Population
from guideline.igrt import IgrtStatus, igrt_status
from guideline.index_dates import IndexDate, index_dates
from guideline.infections import InfectionEpisode, infection_episodes
from guideline.labs import is_recent, latest
from guideline.m_component import MComponentStatus, apply_estimates
from guideline.model import DataIssue, Diagnosis, LabResult, PatientRecord
from guideline.parameters import Parameters


@dataclass(frozen=True)
class Facts:
    """What the rules need, computed once.

    Attributes:
        index: the most recent T0 on or before ``as_of``; ``window_end`` is T0 + 6 calendar months.
        igg_latest: the newest IgG on or before ``as_of`` (any age); ``igg_recent`` the same if recent enough.
        igg_since_t0: the newest recent IgG on or after T0 (the value the population-2 window rule reads).
        populations: every population that applies; ``primary`` the one that takes precedence.
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

    @property
    def adult(self) -> bool | None:
        """Age >= 18 on ``as_of``; ``None`` when the birth date is unknown."""
        return None if self.age_years is None else self.age_years >= self.p.adult_age_years

    @property
    def child_after_therapy(self) -> bool:
        """A patient under 18 with a CAR-T or bsAb T0: outside the CAR-T/bsAb criteria (addendum §4)."""
        return self.index is not None and self.adult is False

    @property
    def primary(self) -> Population | None:
        """The population that takes precedence, or ``None`` for children after CAR-T/bsAb."""
        pops = self.populations
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
    record, m_component = apply_estimates(record, as_of=as_of, p=p)
    age = None if record.birth_date is None else age_in_years(record.birth_date, as_of)
    dates = index_dates(record.therapies, as_of=as_of, p=p)
    index = dates[-1] if dates else None
    window_end = add_calendar_months(index.t0, p.window_calendar_months) if index else None
    window = index is not None and in_window(index.t0, as_of, months=p.window_calendar_months)
    diagnoses = tuple(d for d in record.diagnoses if d.recorded is None or d.recorded <= as_of)
    kinds = {d.kind for d in diagnoses}
    populations: set[Population] = set()
    if index is not None and age is not None and age >= p.adult_age_years:
        populations.add(Population.CAR_T_OR_BSAB)
    if DiagnosisKind.ALLO_HSCT in kinds:
        populations.add(Population.ALLO_HSCT)
    if DiagnosisKind.HAEMATOLOGICAL_MALIGNANCY in kinds:
        populations.add(Population.HAEMATOLOGICAL)
    if not populations and index is None:
        populations.add(Population.OTHER_HYPOGAMMAGLOBULINAEMIA)
    igg_latest = latest(record.labs, Analyte.IGG, as_of=as_of)
    igg_recent = igg_latest if igg_latest and is_recent(igg_latest, as_of=as_of, p=p) else None
    since_t0 = igg_recent
    if index is not None and igg_recent is not None and p.pop2_igg_must_follow_t0 and igg_recent.effective < index.t0:
        since_t0 = None
    episodes, infection_issues = infection_episodes(record, as_of=as_of, p=p)
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
        episodes=episodes,
        data_issues=(*record.data_issues, *infection_issues),
        igrt=igrt_status(record.igrt, as_of=as_of, p=p),
        m_component=m_component,
    )
