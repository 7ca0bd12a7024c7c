"""Infection history: bacterial infection episodes and the two infection criteria of the start rules.

Sources: Opsummering, "Kriterier for opstart" (population 1 and 4 bullets) and "Monitorering af effekt"
(infection history over 12 months). Definitions and **interpretations** from decision-table.md "Terms":
``severe_or_recurrent_*``, ``infection_episode_merge_days``, ``antibiotic_link_days_*``,
``emergency_encounter_counts_as_admission``, ``missing_verification_counts_as_confirmed``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from guideline.calendar import add_calendar_months
from guideline.concepts import InfectionKind
from guideline.model import (
    Admission,
    AntibioticRecord,
    Criterion,
    DataIssue,
    Evidence,
    InfectionRecord,
    PatientRecord,
)
from guideline.parameters import Parameters
from guideline.quick_init import quick_init
from guideline.text import Message, join, msg, plural

EPISODE_INTERPRETATIONS = (
    "infection_episode_merge_days",
    "infection_copy_max_days",
    "antibiotic_link_days_before_onset",
    "antibiotic_link_days_after_onset",
    "emergency_encounter_counts_as_admission",
    "missing_verification_counts_as_confirmed",
)
"""Settings that shape every infection episode (what counts, severe, verified, antibiotic-treated)."""
SEVERE_OR_RECURRENT_INTERPRETATIONS = (
    "severe_or_recurrent_lookback_calendar_months",
    "severe_or_recurrent_min_severe",
    "severe_or_recurrent_min_verified",
    *EPISODE_INTERPRETATIONS,
)
"""Settings behind ``severe_or_recurrent``."""

_BACTERIAL = {InfectionKind.BACTERIAL, InfectionKind.BACTERIAL_SEPSIS}
_NEEDS_ANTIBIOTIC = {InfectionKind.POSSIBLY_BACTERIAL, InfectionKind.SEPSIS_UNSPECIFIED}


@quick_init
@dataclass(frozen=True, slots=True)
class InfectionEpisode:
    """One bacterial infection episode: one or more coded Conditions with nearby onsets.

    ``severe`` = needed admission, severity Severe, life-threatening, or severe by its code (meningitis,
    endocarditis); ``admitted`` = linked to an inpatient admission ("indlæggelseskrævende"), which a
    ``Condition.severity`` of Severe alone is not; ``reasons`` say which, with references.
    """

    onset: date
    refs: tuple[str, ...]
    display: str
    verified: bool
    severe: bool
    life_threatening: bool
    antibiotic_treated: bool
    reasons: tuple[Message, ...]
    admitted: bool = False

    def evidence(self) -> Evidence:
        """Return this episode as card evidence."""
        flags = [
            msg("verified") if self.verified else msg("not verified"),
            *([msg("severe")] if self.severe else []),
            *([msg("life-threatening")] if self.life_threatening else []),
            *([msg("antibiotic-treated")] if self.antibiotic_treated else []),
        ]
        if self.reasons:
            text = msg(
                "{display} ({flags}; {reasons})",
                display=self.display,
                flags=tuple(flags),
                reasons=join(self.reasons, "; "),
            )
        else:
            text = msg("{display} ({flags})", display=self.display, flags=tuple(flags))
        return Evidence(text=text, ref=", ".join(self.refs), on=self.onset)


@quick_init
@dataclass(frozen=True, slots=True)
class _Classified:
    record: InfectionRecord
    verified: bool
    life_threatening: bool
    antibiotics: tuple[AntibioticRecord, ...]
    admissions: tuple[Admission, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class InfectionHistory:
    """The coded infections read once: bacterial episodes, what was not counted and why.

    Attributes:
        episodes: bacterial infection episodes with onset on or before the date, oldest first.
        issues: data issues for the coded infections not counted as bacterial, and for copies counted once.
        not_verified: infections coded without organism (pneumonia UNS, UTI, sepsis UNS) and without a linked J01
            antibiotic: not counted as bacterial, but they would count if verified (issue "clinical fidelity 3" §9).
    """

    episodes: tuple[InfectionEpisode, ...]
    issues: tuple[DataIssue, ...]
    not_verified: tuple[InfectionRecord, ...]


def infection_episodes(record: PatientRecord, *, as_of: date, p: Parameters) -> InfectionHistory:
    """Return the bacterial infection episodes with onset on or before ``as_of`` (oldest first).

    Also returns, as data issues, the coded infections that were not counted as bacterial and why. One infection
    recorded twice counts once: a Condition without an onset (dated by its ``recordedDate``) with the same code as
    a dated one whose onset lies at most ``infection_copy_max_days`` before it is that infection's copy (an
    encounter diagnosis and its problem-list entry); copies with onsets within an episode merge into it anyway.
    """
    classified: list[_Classified] = []
    not_counted: list[DataIssue] = []
    not_verified: list[InfectionRecord] = []
    antibiotic_index = _AntibioticIndex(record.antibiotics)
    admission_index = _AdmissionIndex(record.admissions, p)
    infections = sorted((i for i in record.infections if i.onset <= as_of), key=lambda i: (i.onset, i.ref))
    copies = _copies(infections, p)
    for infection in infections:
        if infection.ref in copies:
            not_counted.append(
                DataIssue(
                    ref=infection.ref,
                    reason=msg(
                        "{name}: the same infection as {original} (same code, no onset of its own): counted once",
                        name=infection.display,
                        original=copies[infection.ref],
                    ),
                )
            )
            continue
        if not infection.classified:
            not_counted.append(
                DataIssue(
                    ref=infection.ref,
                    reason=msg(
                        "{name}: an infection code the guideline's tables do not classify as bacterial: not counted "
                        "(it still marks IgG samples taken while it was active)",
                        name=infection.display,
                    ),
                )
            )
            continue
        antibiotics = antibiotic_index.linked(infection, p)
        if not infection.kinds & _BACTERIAL and not antibiotics:
            not_verified.append(infection)
            not_counted.append(
                DataIssue(
                    ref=infection.ref,
                    reason=msg("organism not stated and no J01 antibiotic linked: not counted as bacterial"),
                )
            )
            continue
        life_threatening = InfectionKind.BACTERIAL_SEPSIS in infection.kinds or (
            InfectionKind.SEPSIS_UNSPECIFIED in infection.kinds and bool(antibiotics)
        )
        classified.append(
            _Classified(
                record=infection,
                verified=_is_verified(infection, p),
                life_threatening=life_threatening,
                antibiotics=antibiotics,
                admissions=admission_index.linked(infection),
            )
        )
    return InfectionHistory(tuple(_merge(classified, p)), tuple(not_counted), tuple(not_verified))


def _copies(infections: list[InfectionRecord], p: Parameters) -> dict[str, str]:
    """Map the ref of each undated copy (no onset, dated by ``recordedDate``) to the ref of the infection it copies.

    ``infections`` is sorted by onset. A copy follows its original: same ``code_key``, original dated by an onset
    (not by ``recordedDate``) at most ``infection_copy_max_days`` before the copy's recorded date.
    """
    found: dict[str, str] = {}
    dated: dict[str, list[InfectionRecord]] = defaultdict(list)
    for infection in infections:
        if not infection.code_key:
            continue
        if infection.date_source != "recordedDate":
            dated[infection.code_key].append(infection)
            continue
        for original in reversed(dated.get(infection.code_key, [])):
            if 0 <= (infection.onset - original.onset).days <= p.infection_copy_max_days:
                found[infection.ref] = original.ref
                break
    return found


def _is_verified(infection: InfectionRecord, p: Parameters) -> bool:
    if infection.verification is None:
        return p.missing_verification_counts_as_confirmed
    return infection.verification == "confirmed"


class _AntibioticIndex:
    """The antibiotics indexed by start date and by the Conditions they name as reason.

    Linking each infection then costs a bisection instead of a scan of every antibiotic (long histories hold
    thousands of antibiotic administrations).
    """

    def __init__(self, antibiotics: tuple[AntibioticRecord, ...]) -> None:
        # Antibiotics are kept as their positions in the record: an antibiotic's order is its position (the last
        # one, should one object be listed twice: it is linked once), so linking sorts plain integers.
        self._antibiotics = antibiotics
        last = {id(a): i for i, a in enumerate(antibiotics)}
        if len(last) == len(antibiotics):  # every object once: its position is its own index
            positions: list[int] | range = range(len(antibiotics))
        else:
            positions = [last[id(a)] for a in antibiotics]
        starts = [a.start for a in antibiotics]
        by_start = sorted(range(len(antibiotics)), key=starts.__getitem__)  # stable: ties in record order
        self._by_start = [positions[i] for i in by_start]
        self._starts = [starts[i] for i in by_start]
        self._by_reason: dict[str, list[int]] = defaultdict(list)
        for antibiotic, position in zip(antibiotics, positions, strict=True):
            for reason in antibiotic.reason_refs:
                self._by_reason[reason].append(position)

    def linked(self, infection: InfectionRecord, p: Parameters) -> tuple[AntibioticRecord, ...]:
        """The antibiotics that name ``infection`` as reason or start in its window, in the record's order."""
        earliest = infection.onset - timedelta(days=p.antibiotic_link_days_before_onset)
        latest = infection.onset + timedelta(days=p.antibiotic_link_days_after_onset)
        found = set(self._by_start[bisect_left(self._starts, earliest) : bisect_right(self._starts, latest)])
        found.update(self._by_reason.get(infection.ref, ()))
        antibiotics = self._antibiotics
        return tuple(antibiotics[i] for i in sorted(found))


class _AdmissionIndex:
    """The admissions that count (``emergency_encounter_counts_as_admission``), indexed by reference and start date.

    An infection is linked to an admission that names it as a diagnosis, that it names as its encounter, or that
    was under way on its onset (start to end, or the start day when no end is recorded). Linking each infection
    then costs dictionary look-ups and a bisection instead of a scan of every admission (issue 32: long histories
    hold hundreds of each, which made the scan quadratic).
    """

    def __init__(self, admissions: tuple[Admission, ...], p: Parameters) -> None:
        self._admissions = admissions
        counted = [
            (i, a)
            for i, a in enumerate(admissions)
            if a.encounter_class != "EMER" or p.emergency_encounter_counts_as_admission
        ]
        self._by_ref: dict[str, list[int]] = defaultdict(list)
        self._by_diagnosis: dict[str, list[int]] = defaultdict(list)
        for i, admission in counted:
            self._by_ref[admission.ref].append(i)
            for diagnosis in admission.diagnosis_refs:
                self._by_diagnosis[diagnosis].append(i)
        self._by_start = sorted(counted, key=lambda item: item[1].start)
        self._starts = [a.start for _, a in self._by_start]
        self._longest = max(((a.end or a.start) - a.start for _, a in counted), default=timedelta(0))

    def linked(self, infection: InfectionRecord) -> tuple[Admission, ...]:
        """The admissions linked to ``infection`` (by reference, or under way on its onset), in the record's order."""
        found: set[int] = set(self._by_diagnosis.get(infection.ref, ()))
        for encounter in infection.encounter_refs:
            found.update(self._by_ref.get(encounter, ()))
        onset = infection.onset
        earliest = onset - self._longest  # no admission starting before this lasts until the onset
        at = bisect_right(self._starts, onset)
        while at and self._starts[at - 1] >= earliest:
            at -= 1
            i, admission = self._by_start[at]
            if onset <= (admission.end or admission.start):
                found.add(i)
        return tuple(self._admissions[i] for i in sorted(found))


def _merge(classified: list[_Classified], p: Parameters) -> list[InfectionEpisode]:
    groups: list[list[_Classified]] = []
    for item in classified:
        if groups and (item.record.onset - groups[-1][0].record.onset).days <= p.infection_episode_merge_days:
            groups[-1].append(item)
        else:
            groups.append([item])
    return [_episode(group) for group in groups]


def _episode(group: list[_Classified]) -> InfectionEpisode:
    reasons: list[Message] = []
    admissions = {a.ref: a for item in group for a in item.admissions}
    for _, admission in sorted(admissions.items()):
        reasons.append(msg("admitted {start}", start=admission.start))
    severe_coded = [item.record.ref for item in group if item.record.severity_severe]
    if severe_coded:
        reasons.append(msg("severity Severe"))
    life_threatening = any(item.life_threatening for item in group)
    if life_threatening:
        reasons.append(msg("life-threatening sepsis"))
    severe_by_code = [item.record.ref for item in group if item.record.severe_by_code]
    if severe_by_code:
        reasons.append(msg("severe by its code (meningitis or endocarditis)"))
    antibiotics = sorted({a.display for item in group for a in item.antibiotics})
    if antibiotics:
        reasons.append(msg("J01 antibiotic ({names})", names=tuple(antibiotics)))
    return InfectionEpisode(
        onset=group[0].record.onset,
        refs=tuple(item.record.ref for item in group),
        display=" + ".join(dict.fromkeys(item.record.display for item in group)),
        verified=any(item.verified for item in group),
        severe=bool(admissions) or bool(severe_coded) or life_threatening or bool(severe_by_code),
        life_threatening=life_threatening,
        antibiotic_treated=bool(antibiotics),
        reasons=tuple(reasons),
        admitted=bool(admissions),
    )


def _within(episodes: tuple[InfectionEpisode, ...], *, on: date, months: int) -> list[InfectionEpisode]:
    start = add_calendar_months(on, -months)
    return [e for e in episodes if start <= e.onset <= on]


def severe_or_recurrent(episodes: tuple[InfectionEpisode, ...], *, on: date, p: Parameters) -> Criterion:
    """Evaluate "svære eller tilbagevendende verificerede bakterielle infektioner" on the date ``on``.

    **interpretation**: at least ``severe_or_recurrent_min_severe`` severe, or at least
    ``severe_or_recurrent_min_verified`` verified bacterial episodes in the ``severe_or_recurrent_lookback``
    calendar months up to and including ``on``.
    """
    months = p.severe_or_recurrent_lookback_calendar_months
    verified = [e for e in _within(episodes, on=on, months=months) if e.verified]
    severe = [e for e in verified if e.severe]
    held = len(severe) >= p.severe_or_recurrent_min_severe or len(verified) >= p.severe_or_recurrent_min_verified
    return Criterion(
        id="severe-or-recurrent-verified-bacterial-infections",
        description=msg(
            "Severe or recurrent verified bacterial infections in the {months} months to {on}: {severe}, {verified} "
            "(needed: {min_severe} severe or {min_verified} verified)",
            min_severe=p.severe_or_recurrent_min_severe,
            min_verified=p.severe_or_recurrent_min_verified,
            months=months,
            on=on,
            severe=plural("{count} severe", "{count} severe", len(severe)),
            verified=plural("{count} verified", "{count} verified", len(verified)),
        ),
        held=held,
        evidence=tuple(e.evidence() for e in verified),
    )


def igg_below_6_infection_criterion(episodes: tuple[InfectionEpisode, ...], *, on: date, p: Parameters) -> Criterion:
    """Evaluate the infection part of the IgG < 6 g/L "kan overvejes" criterion on the date ``on``.

    Within the last 6 calendar months: at least two severe hospitalisation-requiring bacterial infections, or at
    least one life-threatening bacterial sepsis, or at least two verified bacterial infections with a definite
    need for antibiotics (Opsummering, "Kriterier for opstart", population 1). "Alvorlige
    indlæggelseskrævende" is read literally: the episode is linked to an inpatient admission; a
    ``Condition.severity`` of Severe without an admission does not count here.
    """
    months = p.consider_infection_lookback_calendar_months
    recent = _within(episodes, on=on, months=months)
    severe = [e for e in recent if e.admitted]
    septic = [e for e in recent if e.life_threatening]
    treated = [e for e in recent if e.verified and e.antibiotic_treated]
    held = len(severe) >= 2 or len(septic) >= 1 or len(treated) >= 2
    return Criterion(
        id="igg-below-6-infection-criterion",
        description=msg(
            "Bacterial infections in the {months} months to {on}: {severe} requiring admission, {septic} "
            "life-threatening sepsis, {treated} verified and treated with antibiotics (needed: 2 requiring admission, "
            "1 sepsis or 2 treated)",
            months=months,
            on=on,
            severe=len(severe),
            septic=len(septic),
            treated=len(treated),
        ),
        held=held,
        evidence=tuple(e.evidence() for e in recent),
    )


def active_infection(infections: tuple[InfectionRecord, ...], on: date, p: Parameters) -> InfectionRecord | None:
    """Return a coded infection active on ``on``, if any (Opsummering, "Monitorering af effekt").

    Active = from onset to ``abatement[x]``; without an abatement date, for ``active_infection_days`` from onset
    (**interpretation**). Every coded infection counts, bacterial or not, classified or not: the source asks for a
    sample taken "når patienten ikke har en aktiv infektion", any infection.
    """
    for infection in sorted(infections, key=lambda i: (i.onset, i.ref), reverse=True):
        end = infection.abatement or infection.onset + timedelta(days=p.active_infection_days)
        if infection.onset <= on <= max(end, infection.onset):
            return infection
    return None
