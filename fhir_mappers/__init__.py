"""FHIR R4 resources -> the guideline model (``guideline.model``).

May import the guideline model; never flask or requests (``tests/test_layering.py``).
"""

from fhir_mappers.bundle import SearchResult, read_value
from fhir_mappers.codes import CodeTable, code_table
from fhir_mappers.context import MappingContext
from fhir_mappers.errors import MappingError
from fhir_mappers.orders import ImmunoglobulinOrder, immunoglobulin_orders, medications_by_key
from fhir_mappers.summarize import summarize

__all__ = [
    "CodeTable",
    "ImmunoglobulinOrder",
    "MappingContext",
    "MappingError",
    "SearchResult",
    "code_table",
    "immunoglobulin_orders",
    "medications_by_key",
    "read_value",
    "summarize",
]
