"""Pure guideline core: Medicinrådet's IgRT-in-SID guideline (Opsummering v1.1, CAR-T/bsAb addendum) as rules.

Pure by construction: no I/O, no clock, no randomness, and no imports of flask, requests or the FHIR mappers.
Callers pass ``as_of`` explicitly. ``tests/test_layering.py`` enforces this.
"""

from guideline.concepts import Population, Recommendation, RuleId
from guideline.evaluate import Assessment, assess, evaluate
from guideline.model import Finding, PatientRecord
from guideline.parameters import DEFAULT_PARAMETERS, Parameters

__all__ = [
    "DEFAULT_PARAMETERS",
    "Assessment",
    "assess",
    "Finding",
    "Parameters",
    "PatientRecord",
    "Population",
    "Recommendation",
    "RuleId",
    "evaluate",
]
