"""The indexes that keep long histories linear (issue 32) decide exactly as the scans they replaced.

``guideline.infections._AdmissionIndex`` links an infection to admissions by reference and by date;
``guideline.igrt._merge`` merges IgRT exposures into episodes. Each is checked against the plain scan it replaced,
on generated histories (admissions that overlap, lack an end, end before they start, name the infection or are
named by it; exposures within and beyond the gap), and at the boundaries of a stay and of the gap.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guideline.concepts import InfectionKind
from guideline.igrt import IgrtEpisode, _merge
from guideline.infections import _AdmissionIndex
from guideline.model import Admission, InfectionRecord
from guideline.parameters import DEFAULT_PARAMETERS, Parameters

DAY0 = date(2026, 1, 1)
REFS = [f"Condition/c{i}" for i in range(4)]
ENCOUNTERS = [f"Encounter/e{i}" for i in range(4)]


def linked_by_scan(
    infection: InfectionRecord, admissions: tuple[Admission, ...], p: Parameters
) -> tuple[Admission, ...]:
    """The scan of every admission that ``_AdmissionIndex`` replaced (before issue 32), as it was."""
    linked = []
    for admission in admissions:
        if admission.encounter_class == "EMER" and not p.emergency_encounter_counts_as_admission:
            continue
        by_reference = admission.ref in infection.encounter_refs or infection.ref in admission.diagnosis_refs
        end = admission.end or admission.start
        if by_reference or admission.start <= infection.onset <= end:
            linked.append(admission)
    return tuple(linked)


def merged_by_rebuilding(intervals: list[tuple[date, date, str]], gap_days: int) -> list[IgrtEpisode]:
    """The merge ``guideline.igrt._merge`` replaced (a tuple rebuilt per record), as it was."""
    episodes: list[IgrtEpisode] = []
    for start, end, ref in intervals:
        if episodes and (start - episodes[-1].end).days <= gap_days:
            last = episodes[-1]
            episodes[-1] = IgrtEpisode(last.start, max(last.end, end), (*last.refs, ref))
        else:
            episodes.append(IgrtEpisode(start, end, (ref,)))
    return episodes


def infection(onset: int, ref: str = "Condition/c0", encounters: tuple[str, ...] = ()) -> InfectionRecord:
    return InfectionRecord(
        ref=ref,
        display="pneumonia",
        kinds=frozenset({InfectionKind.BACTERIAL}),
        onset=DAY0 + timedelta(days=onset),
        date_source="onsetDateTime",
        encounter_refs=encounters,
    )


def admission(
    start: int, end: int | None, ref: str = "Encounter/e0", cls: str = "IMP", dx: tuple[str, ...] = ()
) -> Admission:
    return Admission(
        ref=ref,
        encounter_class=cls,  # type: ignore[arg-type]
        start=DAY0 + timedelta(days=start),
        end=None if end is None else DAY0 + timedelta(days=end),
        diagnosis_refs=dx,
    )


ADMISSIONS = st.builds(
    admission,
    start=st.integers(0, 60),
    end=st.none() | st.integers(0, 90),  # an end before the start too (bad data: never under way)
    ref=st.sampled_from(ENCOUNTERS),
    cls=st.sampled_from(["IMP", "EMER"]),
    dx=st.lists(st.sampled_from(REFS), max_size=2).map(tuple),
)
INFECTIONS = st.builds(
    infection,
    onset=st.integers(-5, 95),
    ref=st.sampled_from(REFS),
    encounters=st.lists(st.sampled_from(ENCOUNTERS), max_size=2).map(tuple),
)


@given(st.lists(ADMISSIONS, max_size=12).map(tuple), st.lists(INFECTIONS, min_size=1, max_size=6), st.booleans())
def test_admissions_linked_as_the_scan_links_them(
    admissions: tuple[Admission, ...], infections: list[InfectionRecord], emergency_counts: bool
) -> None:
    p = DEFAULT_PARAMETERS.model_copy(update={"emergency_encounter_counts_as_admission": emergency_counts})
    index = _AdmissionIndex(admissions, p)
    for item in infections:
        assert index.linked(item) == linked_by_scan(item, admissions, p)


@pytest.mark.parametrize(
    ("onset", "linked"),
    [(9, False), (10, True), (40, True), (41, False)],
    ids=["day-before-start", "start-day", "end-day", "day-after-end"],
)
def test_a_long_stay_is_found_on_its_first_and_last_day_only(onset: int, linked: bool) -> None:
    """A 30-day stay among short ones: the bisection looks back as far as the longest stay, no further."""
    stays = (admission(0, 1, "Encounter/a"), admission(10, 40, "Encounter/long"), admission(38, 39, "Encounter/b"))
    found = _AdmissionIndex(stays, DEFAULT_PARAMETERS).linked(infection(onset))
    assert (stays[1] in found) is linked
    assert found == linked_by_scan(infection(onset), stays, DEFAULT_PARAMETERS)


def test_an_admission_is_linked_once_in_the_record_order_however_it_is_found() -> None:
    stay = admission(5, 8, "Encounter/e1", dx=("Condition/c0", "Condition/c0"))
    other = replace(stay, ref="Encounter/e2", diagnosis_refs=())
    found = _AdmissionIndex((other, stay), DEFAULT_PARAMETERS).linked(infection(6, encounters=("Encounter/e1",)))
    assert found == (other, stay)


@given(
    st.lists(
        st.tuples(st.integers(0, 400), st.integers(0, 30)).map(
            lambda s: (DAY0 + timedelta(days=s[0]), DAY0 + timedelta(days=s[0] + s[1]))
        ),
        max_size=40,
    ),
    st.integers(0, 60),
)
def test_igrt_episodes_merge_as_before(spans: list[tuple[date, date]], gap_days: int) -> None:
    intervals = sorted((start, end, f"MedicationAdministration/m{i}") for i, (start, end) in enumerate(spans))
    assert _merge(intervals, gap_days=gap_days) == merged_by_rebuilding(intervals, gap_days)


@pytest.mark.parametrize(("second", "episodes"), [(43, 1), (44, 2)], ids=["gap-42-days-merges", "gap-43-days-splits"])
def test_igrt_gap_boundary(second: int, episodes: int) -> None:
    doses = [(DAY0, DAY0, "m/1"), (DAY0 + timedelta(days=second - 1), DAY0 + timedelta(days=second - 1), "m/2")]
    assert len(_merge(doses, gap_days=42)) == len(merged_by_rebuilding(doses, 42)) == episodes
