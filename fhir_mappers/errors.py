"""Errors raised while mapping FHIR data into the guideline model.

* MappingError                  a resource is relevant but cannot be used (reported on the card)
  x UnsupportedUnitError        a quantity's unit cannot be converted to g/L
  x MissingElementError         an element the guideline needs is absent
  x InvalidElementError         an element has the wrong type or an unparseable value
* CodeTableError                the code-set table is malformed (raised at start-up, never per request)
"""

from __future__ import annotations


class MappingError(ValueError):
    """A relevant resource that cannot be used; ``str(error)`` is the reason shown on the card.

    Attributes:
        path: the FHIR element path, e.g. ``"Observation.valueQuantity.unit"``.
    """

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def __str__(self) -> str:
        return f"{self.reason} ({self.path})" if self.path else self.reason


class UnsupportedUnitError(MappingError):
    """The unit of a lab value is not one the service converts to g/L."""


class MissingElementError(MappingError):
    """An element the guideline needs (a value, a date) is absent."""


class InvalidElementError(MappingError):
    """An element has the wrong JSON type or a value that cannot be parsed (e.g. an impossible date)."""


class CodeTableError(ValueError):
    """``codesets/codes.csv`` is malformed: unknown concept, bad match kind, or a duplicate code."""
