"""``measure-report.json``: the run's patient counts as a FHIR R4 ``MeasureReport`` (issue 30 §7).

A summary report (``type`` ``summary``, ``status`` ``complete``) of the measure ``MEASURE`` (this worklist, at the
guideline's version) on ``as_of``: ``date`` and ``period`` are ``as_of`` (the date the population was evaluated for,
so a rerun of the same day writes the same bytes). One ``group`` whose populations are the counts of
``cohort.outputs.patient_counts``:

* ``evaluated``, coded also as MeasurePopulationType ``initial-population`` (every patient of the export);
* ``worklist``, ``card``, ``not-relevant``, ``deceased``, in ``POPULATION_SYSTEM``;

and one stratifier, ``recommendation``, whose strata (codes in ``RECOMMENDATION_SYSTEM``: the guideline's
recommendations, ``not-relevant`` and ``deceased``) count every evaluated patient once (their counts sum to
``evaluated``). MeasureReport (R4, https://hl7.org/fhir/R4/measurereport.html): ``status``, ``type``, ``measure`` and
``period`` are required; ``group.population.code`` is bound extensibly to MeasurePopulationType, whose codes are for
proportion and ratio measures, so the counts that are not one carry the worklist's own codes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from cohort.evaluation import DECEASED, NOT_RELEVANT, WorklistRow
from guideline.concepts import Recommendation

MEASURE = "urn:sid-igrt:measure:igrt-worklist|1.1"
"""``MeasureReport.measure``: this worklist, at the guideline summary's version (as ``moduleCanonical``)."""
MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
POPULATION_SYSTEM = "urn:sid-igrt:worklist-population"
RECOMMENDATION_SYSTEM = "urn:sid-igrt:worklist-recommendation"
POPULATIONS = {
    "evaluated": "patients evaluated",
    "worklist": "on the worklist",
    "card": "with a patient-view card",
    NOT_RELEVANT: "not relevant: the guideline does not concern them",
    DECEASED: "deceased",
}
"""The ``patient_counts`` keys reported, and their text."""
STRATA = (*(r.value for r in Recommendation), NOT_RELEVANT, DECEASED)
"""The recommendation strata, every one reported (0 included) in this order."""


def measure_report(counts: Mapping[str, int], rows: Sequence[WorklistRow], *, as_of: date) -> dict[str, Any]:
    """Return the ``MeasureReport`` (JSON-ready) of ``counts`` (``patient_counts(rows)``) and ``rows``' recommendations.

    Raises:
        ValueError: a row's recommendation is not one of ``STRATA`` (the strata would not sum to ``evaluated``).
    """
    per_recommendation = Counter(row.recommendation for row in rows)
    unknown = set(per_recommendation) - set(STRATA)
    if unknown:
        raise ValueError(f"recommendations outside the strata: {sorted(unknown)}")
    day = as_of.isoformat()
    return {
        "resourceType": "MeasureReport",
        "id": f"sid-igrt-worklist-{day}",
        "status": "complete",
        "type": "summary",
        "measure": MEASURE,
        "date": day,
        "period": {"start": day, "end": day},
        "group": [
            {
                "code": {"text": "IgRT worklist"},
                "population": [_population(name, counts[name]) for name in POPULATIONS],
                "stratifier": [
                    {
                        "code": [{"text": "recommendation"}],
                        "stratum": [
                            {
                                "value": {"coding": [{"system": RECOMMENDATION_SYSTEM, "code": code}], "text": code},
                                "population": [_population("evaluated", per_recommendation.get(code, 0))],
                            }
                            for code in STRATA
                        ],
                    }
                ],
            }
        ],
    }


def write_measure_report(report: Mapping[str, Any], path: Path) -> None:
    """Write the report as indented JSON (one resource; read by a FHIR server or a warehouse as is)."""
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")


def _population(name: str, count: int) -> dict[str, Any]:
    coding = [{"system": POPULATION_SYSTEM, "code": name}]
    if name == "evaluated":
        coding.insert(0, {"system": MEASURE_POPULATION, "code": "initial-population"})
    return {"code": {"coding": coding, "text": POPULATIONS[name]}, "count": count}
