"""The feedback request (CDS Hooks 2.0.1 "Feedback"), including Epic's ``overrideReasons`` variant.

Spec shape::

    {"feedback": [{"card": "<card uuid>", "outcome": "accepted" | "overridden",
                   "acceptedSuggestions": [{"id": "<suggestion uuid>"}],          # required when accepted
                   "overrideReason": {"reason": {"code", "system", "display"}, "userComment": "..."},
                   "outcomeTimestamp": "2026-11-20T10:05:31Z"}]}

Epic sends ``overrideReasons`` (an object of the same shape), sometimes with the reason only in
``extension["com.epic.cdshooks.feedback.overrideReason.reasonCategory" / ".reasonDisplay"]``. Card ids are not
required to be UUIDs (Epic's examples use "123456"). ``userComment`` is validated but not stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cds_service.wire.errors import InvalidHookRequestError
from cds_service.wire.json_shape import JsonLimits
from storage import FeedbackEntry

FEEDBACK_JSON_LIMITS = JsonLimits(max_values=20_000, max_depth=32)
"""What a feedback body may hold before it is parsed (``cds_service.wire.json_shape``): 100 items of a dozen values
each, with room for Epic's extensions, are some 2,000 values 6 levels deep; feedback is never under the large-call
gate, so it is bounded on its own, far below a hook call (413 above)."""
EPIC_CATEGORY = "com.epic.cdshooks.feedback.overrideReason.reasonCategory"
EPIC_DISPLAY = "com.epic.cdshooks.feedback.overrideReason.reasonDisplay"
EPIC_CATEGORY_SYSTEM = "urn:epic:cdshooks:override-reason-category"


class ReasonCoding(BaseModel):
    """A CDS Hooks Coding; ``display`` is optional in feedback (the Sandbox omits it)."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(min_length=1, max_length=200)
    system: str | None = Field(default=None, max_length=500)
    display: str | None = Field(default=None, max_length=500)


class OverrideReason(BaseModel):
    """``overrideReason``: a coded reason and/or a comment (cds-fb-3: at least one), or Epic's extension."""

    model_config = ConfigDict(extra="allow")

    reason: ReasonCoding | None = None
    userComment: str | None = Field(default=None, max_length=10_000)
    extension: dict[str, Any] | None = None

    def coding(self) -> tuple[str | None, str | None, str | None]:
        """Return ``(system, code, display)`` from ``reason`` or from Epic's extension."""
        if self.reason is not None:
            return self.reason.system, self.reason.code, self.reason.display
        ext = self.extension or {}
        code, display = ext.get(EPIC_CATEGORY), ext.get(EPIC_DISPLAY)
        if code is None and display is None:
            return None, None, None
        return EPIC_CATEGORY_SYSTEM, _text(code), _text(display)


class AcceptedSuggestion(BaseModel):
    """One accepted suggestion: its ``uuid`` as ``id``."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)


class FeedbackItem(BaseModel):
    """One feedback entry (cds-fb-1: accepted needs acceptedSuggestions; cds-fb-2: overridden has none)."""

    model_config = ConfigDict(extra="allow")

    card: str = Field(min_length=1, max_length=200)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    overrideReasons: OverrideReason | None = None
    outcomeTimestamp: AwareDatetime

    @field_validator("outcomeTimestamp")
    @classmethod
    def _in_utc_range(cls, value: datetime) -> datetime:
        # Stored in UTC: an instant such as 0001-01-01T00:00:00+01:00 has no UTC datetime (found by fuzzing).
        try:
            return value.astimezone(UTC)
        except OverflowError as error:
            raise ValueError("outside the range of representable instants") from error

    @model_validator(mode="after")
    def _consistent(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("an accepted outcome needs acceptedSuggestions")
        if self.outcome == "overridden" and self.acceptedSuggestions:
            raise ValueError("an overridden outcome has no acceptedSuggestions")
        return self

    def entry(self, *, service_id: str, client_issuer: str | None, received_at: datetime) -> FeedbackEntry:
        """Return the record to store (no free text)."""
        reason = self.overrideReason or self.overrideReasons
        system, code, display = reason.coding() if reason else (None, None, None)
        return FeedbackEntry(
            received_at=received_at,
            service_id=service_id,
            client_issuer=client_issuer,
            card_uuid=self.card,
            outcome=self.outcome,
            accepted_suggestions=tuple(s.id for s in self.acceptedSuggestions or ()),
            override_reason_system=system,
            override_reason_code=code,
            override_reason_display=display,
            has_user_comment=bool(reason and reason.userComment),
            outcome_timestamp=self.outcomeTimestamp,
        )


class FeedbackRequest(BaseModel):
    """The feedback body: 1 to 100 items."""

    model_config = ConfigDict(extra="allow")

    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


def parse_feedback(body: Any) -> FeedbackRequest:
    """Validate a parsed JSON feedback body.

    Raises:
        InvalidHookRequestError: not an object, or an item that breaks the rules above (400, naming the element).
    """
    if not isinstance(body, dict):
        raise InvalidHookRequestError("The feedback body must be a JSON object.")
    try:
        return FeedbackRequest.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise InvalidHookRequestError(f"{location}: {first['msg']}", expression=location or "feedback") from error


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:500]
