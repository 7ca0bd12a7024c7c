"""Errors raised while mapping FHIR data into the guideline model.

* MappingError                  a resource is relevant but cannot be used (reported on the card)
  x UnsupportedUnitError        a quantity's unit cannot be converted to g/L
  x MissingElementError         an element the guideline needs is absent
  x InvalidElementError         an element has the wrong type or an unparseable value
* CodeTableError                the code-set table is malformed (raised at start-up, never per request)
"""

from __future__ import annotations

from guideline.text import Message, msg


class MappingError(ValueError):
    """A relevant resource that cannot be used; ``message()`` is the reason shown on the card.

    Attributes:
        reason: what is wrong, as a translatable ``Message``.
        path: the FHIR element path, e.g. ``"Observation.valueQuantity.unit"``.
    """

    def __init__(self, reason: Message, *, path: str | None = None) -> None:
        super().__init__(reason.english())
        self.reason = reason
        self.path = path

    def message(self) -> Message:
        """Return the reason with the element path, for the card."""
        return msg("{reason} ({path})", reason=self.reason, path=self.path) if self.path else self.reason

    def __str__(self) -> str:
        return self.message().english()


class UnsupportedUnitError(MappingError):
    """The unit of a lab value is not one the service converts to g/L."""


class MissingElementError(MappingError):
    """An element the guideline needs (a value, a date) is absent."""


class InvalidElementError(MappingError):
    """An element has the wrong JSON type or a value that cannot be parsed (e.g. an impossible date)."""


class CodeTableError(ValueError):
    """``codesets/codes.csv`` is malformed: unknown concept, bad match kind, or a duplicate code."""
