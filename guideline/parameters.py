"""Thresholds fixed by the sources, and the interpretation choices the team made where the sources are open.

A clinical reviewer reads this file together with ``fhir_mappers/codesets/codes.csv``. Source-fixed values
cannot be changed by configuration; interpretation values can (``Parameters.with_interpretations``), and every
card names the interpretation settings its rule used, with their values.

Every interpretation setting that is a number has a valid range (``valid=(low, high)``, both included), checked when
the settings are read: a value outside it stops the service's start (and ``cds-service cohort --compare-settings``)
with one line, never a 500 on every call later (issue 29, item 5). The ranges are what a clinician could still
defend, not what the code survives: a gap that ends "on IgRT" cannot be shorter than the 4 weeks between IVIG doses
(``on_igrt_recent_days`` >= 28), a bsAb course cannot end between its Q4W doses (``bsab_new_course_gap_days`` >=
28), the "washout" cannot be shorter than one IgG half-life (``igg_washout_days`` >= 21), the confirming IgG cannot be
required closer than the source's 3 weeks (``igg_confirm_max_span_days`` >= 21), a dosing month is 28-31 days, the
"high in the interval" trough lies in the 6-8 g/L interval, a dose reduction waits the source's 6-12 months, the
winter days on IgRT fit in one winter (1 Oct - 30 Apr: 212), an immunomodulatory course is above IgRT's 0.8 g/kg a
month and at most the usual 2 g/kg, reference lows lie between 0.1 and 2 g/L; look-backs run from 1 month to 5 years
and day windows from 0 to 2 years (``interpretation_table`` lists every range).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SOURCE = "source"
INTERPRETATION = "interpretation"


def _source(default: Any, description: str) -> Any:
    return Field(default=default, description=description, json_schema_extra={"kind": SOURCE})


def _interpretation(default: Any, description: str, valid: tuple[float, float] | None = None) -> Any:
    """A setting a site may change; ``valid``: the range a number must lie in (both ends included)."""
    if valid is None:
        return Field(default=default, description=description, json_schema_extra={"kind": INTERPRETATION})
    low, high = valid
    return Field(
        default=default,
        description=description,
        ge=low,
        le=high,
        allow_inf_nan=False,
        json_schema_extra={"kind": INTERPRETATION, "valid": [low, high]},
    )


class Parameters(BaseModel):
    """All numbers and choices the rules use. Units are in the field names (g/L, days, calendar months)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Fixed by the sources.
    igg_start_below_g_per_l: float = _source(4.0, "IgG < 4 g/L (Opsummering, Kriterier for opstart)")
    igg_consider_below_g_per_l: float = _source(6.0, "IgG < 6 g/L (Opsummering, Kriterier for opstart)")
    window_calendar_months: int = _source(6, "< 6 months after CAR-T infusion or bsAb start (addendum §4.1)")
    adult_age_years: int = _source(18, "children are outside the CAR-T/bsAb criteria (addendum §4)")
    igg_confirm_min_gap_days: int = _source(21, "IgG measured twice at least 3 weeks apart (Monitorering)")
    consider_infection_lookback_calendar_months: int = _source(
        6, "infections 'inden for de sidste 6 måneder' for the IgG < 6 criterion"
    )
    follow_up_calendar_months: tuple[int, ...] = _source((3, 6), "follow-up 3 and 6 months after start")
    reassess_every_calendar_months: int = _source(6, "reassess every 6 months when continued")
    stop_attempt_from_calendar_months: int = _source(6, "stop attempt 6-12 months after start")
    stop_attempt_until_calendar_months: int = _source(12, "stop attempt 6-12 months after start")
    dose_min_g_per_kg_month: float = _source(0.4, "cumulative monthly dose 0.4-0.8 g/kg (Dosisjustering)")
    dose_max_g_per_kg_month: float = _source(0.8, "cumulative monthly dose 0.4-0.8 g/kg (Dosisjustering)")
    trough_target_low_g_per_l: float = _source(6.0, "IgG trough 6-8 g/L with continued infections (Dosisjustering)")
    trough_target_high_g_per_l: float = _source(8.0, "higher troughs than 8 g/L are not recommended (Dosisjustering)")
    infection_history_calendar_months: int = _source(
        12, "infection history: documented infections in the last 12 months (Monitorering af effekt)"
    )

    # Interpretations (decision-table.md "interpretation", plus choices made while implementing).
    bsab_new_course_gap_days: int = _interpretation(
        90,
        "a bsAb administration more than this many days after the previous one starts a new course (new T0)",
        valid=(28, 730),
    )
    on_igrt_recent_days: int = _interpretation(
        42,
        "on IgRT = immunoglobulin given within this many days, or an active order/statement; a longer gap "
        "ends an IgRT episode",
        valid=(28, 180),
    )
    igg_recent_max_age_days: int = _interpretation(
        90, "an IgG result older than this many days is not used", valid=(7, 730)
    )
    igg_confirm_max_span_days: int = _interpretation(
        180,
        "the confirming (earlier) IgG for 'persistent' IgG < 4 g/L must be at most this many days older",
        valid=(21, 730),
    )
    overdue_stop_infection_free_calendar_months: int = _source(
        6,
        "past 12 months on IgRT with no stop attempt, a stop is attempted when no bacterial infection occurred on "
        "IgRT in this many months ('revurderes hver 6. måned', addendum §4.2)",
    )
    severe_or_recurrent_lookback_calendar_months: int = _interpretation(
        12, "'severe or recurrent verified bacterial infections' are counted over this many months", valid=(1, 60)
    )
    severe_or_recurrent_min_severe: int = _interpretation(
        1, "this many severe verified infections suffice", valid=(1, 10)
    )
    severe_or_recurrent_min_verified: int = _interpretation(2, "this many verified infections suffice", valid=(1, 20))
    infection_episode_merge_days: int = _interpretation(
        14,
        "coded bacterial infections with onsets within this many days of an episode's first onset are one "
        "episode (e.g. pneumonia and sepsis in one admission)",
        valid=(0, 90),
    )
    antibiotic_link_days_before_onset: int = _interpretation(
        3, "a J01 antibiotic started up to this many days before an infection's onset treats it", valid=(0, 30)
    )
    antibiotic_link_days_after_onset: int = _interpretation(
        14, "a J01 antibiotic started up to this many days after an infection's onset treats it", valid=(0, 60)
    )
    emergency_encounter_counts_as_admission: bool = _interpretation(
        False, "an emergency-department visit counts as a hospital admission"
    )
    missing_verification_counts_as_confirmed: bool = _interpretation(
        False, "an infection diagnosis recorded without a verification status counts as verified"
    )
    pop2_igg_must_follow_t0: bool = _interpretation(
        True, "inside the CAR-T/bsAb window only an IgG measured on or after T0 is used"
    )
    stop_min_winter_days_on_igrt: int = _interpretation(
        90,
        "a standard stop attempt is due once IgRT has covered this many winter days (1 Oct - 30 Apr)",
        valid=(1, 212),
    )
    m_protein_pairing_max_days: int = _interpretation(
        30,
        "with an IgG M-component, an IgG is estimated with the M-protein measured at most this many days apart",
        valid=(0, 180),
    )
    weight_max_age_days: int = _interpretation(
        90, "a body weight older than this many days is not used for dosing", valid=(1, 730)
    )
    dose_month_days: int = _interpretation(
        28,
        "a dosing month is this many days (IVIG every 4 weeks = 4 weekly SCIG doses) for the monthly g/kg dose",
        valid=(28, 31),
    )
    trough_high_in_range_g_per_l: float = _interpretation(
        7.0,
        "a trough at or above this (and <= 8 g/L) is 'high in the 6-8 g/L interval' for a dose reduction",
        valid=(6.0, 8.0),
    )
    dose_reduction_infection_free_calendar_months: int = _interpretation(
        6,
        "free of bacterial infections for this many months (source: 6-12) before a dose reduction is tried",
        valid=(6, 12),
    )
    trough_severe_infection_lookback_calendar_months: int = _interpretation(
        6,
        "a severe bacterial infection on IgRT within this many months counts as 'continued severe infections'",
        valid=(1, 24),
    )
    active_infection_days: int = _interpretation(
        14,
        "an infection without an abatement date counts as active for this many days from its onset (a sample "
        "taken then was taken during active infection)",
        valid=(1, 90),
    )
    # IgG (own and infused) has a half-life of 21-28 days; after 90 days more than three half-lives have passed and
    # at most 1/8 of a dose's rise in IgG remains (guideline.own_igg).
    igg_washout_days: int = _interpretation(
        90,
        "an IgG drawn on the day of, or fewer than this many days after, any immunoglobulin dose (ATC J06BA, any "
        "dose or reason) is not the patient's own IgG",
        valid=(21, 365),
    )
    # Lymphodepletion, the infusion and the first weeks after it commonly interrupt monthly IVIG or weekly SCIG;
    # 90 days covers one skipped monthly dose plus that period, and not a stop made on purpose months earlier.
    igrt_interruption_tolerated_days: int = _interpretation(
        90,
        "IgRT that ended at most this many days before an IgRT restart inside the CAR-T/bsAb window, and started "
        "before T0, was only interrupted around the therapy: 'in treatment before CAR-T/bsAb' (standard stop rules)",
        valid=(0, 365),
    )
    # B-cell reconstitution after allogeneic HSCT takes 1-2 years (longer with chronic GvHD); "der gennemgår allogen
    # HSCT" is read as that period. Later, the haematological disease behind the transplant (population 1) applies.
    allo_hsct_population_calendar_months: int = _interpretation(
        24,
        "population 3 ('patients undergoing allogeneic HSCT') applies for this many months after the latest "
        "allogeneic HSCT record; later the population-1 criteria apply",
        valid=(6, 120),
    )
    # Adult reference intervals IgA 0.70-4.00 g/L and IgM 0.40-2.30 g/L (Medscape, "Immunoglobulins: reference
    # range", adults > 19 years); Danish and UK laboratories publish similar lows (IgA 0.7-0.8, IgM 0.4-0.5 g/L).
    # A site sets its own laboratory's values; a result's own referenceRange always wins.
    iga_reference_low_default_g_per_l: float = _interpretation(
        0.7,
        "IgA reference-range low (g/L) for general immunoparesis when the result carries no reference range "
        "(adult interval 0.70-4.00 g/L)",
        valid=(0.1, 2.0),
    )
    igm_reference_low_default_g_per_l: float = _interpretation(
        0.4,
        "IgM reference-range low (g/L) for general immunoparesis when the result carries no reference range "
        "(adult interval 0.40-2.30 g/L)",
        valid=(0.1, 2.0),
    )
    follow_up_due_soon_days: int = _interpretation(
        14, "patient-view reminds this many days before a follow-up", valid=(0, 90)
    )
    follow_up_done_tolerance_days: int = _interpretation(
        14,
        "an IgG measured from this many days before a follow-up date on counts as that follow-up's sample",
        valid=(0, 90),
    )
    influenza_vaccine_max_age_days: int = _interpretation(
        365,
        "'annual influenza vaccination': the latest influenza vaccine is at most this many days old",
        valid=(180, 730),
    )
    organ_focus_min_infections: int = _interpretation(
        2,
        "this many infections of one organ site in the infection-history months make a known organ focus",
        valid=(2, 20),
    )
    treatment_failing_lookback_calendar_months: int = _interpretation(
        6,
        "a severe or verified bacterial infection on IgRT within this many months means the treatment is failing: "
        "adjust the dose, never stop or pause (Dosisjustering; dose reduction only after 6-12 infection-free months)",
        valid=(1, 24),
    )
    allo_hsct_high_risk_calendar_months: int = _interpretation(
        6,
        "an allogeneic HSCT within this many months is a new high-risk period in which no stop or pause is "
        "recommended (as the first 6 months after CAR-T or a bsAb start, addendum §3.4)",
        valid=(1, 24),
    )
    infection_copy_max_days: int = _interpretation(
        60,
        "a coded infection without an onset (dated by recordedDate) with the same code as an infection whose onset "
        "lies up to this many days before it is a copy of that one (a problem-list copy of an encounter diagnosis)",
        valid=(0, 365),
    )
    # Pre-school age, roughly under 20 kg, where 4-8 mL/kg of HyQvia at once is 80-160 mL in one site.
    small_child_max_age_years: int = _interpretation(
        6,
        "a child younger than this is a 'small child' for whom fSCIG (HyQvia) is hard to use (very large volume at a "
        "time), so ordinary SCIG about weekly is preferred (Anbefalinger for SCIG)",
        valid=(1, 18),
    )
    # Seed 002 gives IVIG 1-2 g/kg for ICANS and neuropathy; IgRT is 0.4-0.8 g/kg per month, loading below 1 g/kg.
    immunomodulation_course_min_g_per_kg: float = _interpretation(
        1.0,
        "an immunoglobulin course (a single dose, or a bounded series within 7 days) of this many g/kg or more is "
        "immunomodulation (ICANS, neuropathy, ITP), not IgRT: the order gets no IgRT card",
        valid=(0.9, 2.0),
    )
    trough_tolerance_days: int = _interpretation(
        1,
        "an IgG drawn at least (dosing interval - this many) days after the last IVIG or fSCIG dose is a trough "
        "(the card asks for the day before or the day of the next dose)",
        valid=(0, 7),
    )
    concern_horizon_calendar_months: int = _interpretation(
        12, "patient-view concerns patients with CAR-T or bsAb within this many months", valid=(6, 60)
    )

    def with_interpretations(self, overrides: Mapping[str, Any]) -> Parameters:
        """Return a copy with interpretation settings replaced.

        Args:
            overrides: field name (case-insensitive) to new value.

        Raises:
            ValueError: ``"<name>: <why>"``: a name is unknown, names a source-fixed threshold (those follow the
                guideline text), or a value of the wrong type or outside its range (``must be <what>, not <value>``).
        """
        updates: dict[str, Any] = {}
        for raw_name, value in overrides.items():
            name = raw_name.lower()
            field = type(self).model_fields.get(name)
            if field is None:
                raise ValueError(f"{raw_name}: not a guideline setting (see docs/configuration.md)")
            if interpretation_kind(name) != INTERPRETATION:
                raise ValueError(f"{raw_name}: fixed by the guideline text, not configurable")
            updates[name] = value
        try:
            return type(self).model_validate({**self.model_dump(), **updates})
        except ValidationError as error:  # one line: which setting, what it must be, what it got
            first = error.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else "?"
            must_be = valid_values(name) if name in type(self).model_fields else first["msg"]
            raise ValueError(f"{name}: must be {must_be}, not {first.get('input')!r}") from None


def interpretation_kind(name: str) -> str:
    """Return ``"source"`` or ``"interpretation"`` for a ``Parameters`` field name."""
    extra = Parameters.model_fields[name].json_schema_extra
    assert isinstance(extra, dict)
    return str(extra["kind"])


def valid_values(name: str) -> str:
    """What a ``Parameters`` field must be, in words: ``a whole number from 28 to 180``, ``true or false`` ..."""
    field = Parameters.model_fields[name]
    extra = field.json_schema_extra
    valid = extra.get("valid") if isinstance(extra, dict) else None
    if field.annotation is bool:
        return "true or false"
    kind = "a whole number" if field.annotation is int else "a number"
    if not isinstance(valid, list):
        return kind
    low, high = valid
    return f"{kind} from {low:g} to {high:g}"


def describe(name: str) -> str:
    """Return the documented meaning of a ``Parameters`` field."""
    return Parameters.model_fields[name].description or name


DEFAULT_PARAMETERS = Parameters()


def interpretation_table() -> str:
    """Return the Markdown table of every interpretation setting: name, default, valid values, meaning (for the docs).

    ``docs/configuration.md`` holds this table verbatim (``scripts/update_docs.py`` writes it; a test compares).
    """
    rows = ["| setting | default | valid | meaning |", "|---|---|---|---|"]
    for name, field in Parameters.model_fields.items():
        if interpretation_kind(name) == INTERPRETATION:
            default = getattr(DEFAULT_PARAMETERS, name)
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            extra = field.json_schema_extra
            valid = extra.get("valid") if isinstance(extra, dict) else None
            shown_valid = f"{valid[0]:g}-{valid[1]:g}" if isinstance(valid, list) else "true, false"
            rows.append(f"| `{name}` | {shown} | {shown_valid} | {field.description} |")
    return "\n".join(rows) + "\n"
