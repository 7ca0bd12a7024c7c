"""The responses this service sends, as strict pydantic models: the source of ``/openapi.json`` and of the tests.

Every model forbids unknown fields and refuses ``null``, ``""``, ``[]`` and ``{}`` values (CDS Hooks 2.0.1: optional
fields are omitted, never sent empty). The test suite validates every response it receives against these models,
and the OpenAPI document (``cds_service.wire.openapi``) is generated from them, so the published contract and the
behaviour cannot drift apart.

Sources: CDS Hooks 2.0.1 "Discovery", "CDS Service Response" (Card, Source, Suggestion, Action, Link), and FHIR R4
OperationOutcome for every non-2xx answer (``cds_service.http.operation_outcome``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

SUMMARY_MAX_LENGTH = 139
"""CDS Hooks 2.0.1 Card.summary: "<140-character summary"."""


def _drop_null_defaults(schema: dict[str, Any]) -> None:
    # An optional field is absent, never null: its published schema has no `"default": null`.
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class StrictModel(BaseModel):
    """Unknown fields are refused, and a field is either absent or holds a non-empty value."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_drop_null_defaults)

    @model_validator(mode="before")
    @classmethod
    def _no_empty_values(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None or value == "" or value == [] or value == {}:
                    raise ValueError(f"'{key}' is {value!r}: omit optional fields instead of sending them empty")
        return data


# `X | SkipJsonSchema[None] = None`: optional (may be absent) but never null in the published schema.


class Coding(StrictModel):
    """CDS Hooks Coding (``system`` and ``code`` required; ``display`` required where the card shows it)."""

    system: str
    code: str
    display: str | SkipJsonSchema[None] = None


class DisplayedCoding(Coding):
    """A Coding the EHR shows to the user (``overrideReasons``): ``display`` is required."""

    display: str


class Source(StrictModel):
    """Card.source: the guideline text behind the card."""

    label: str
    url: str | SkipJsonSchema[None] = None
    icon: str | SkipJsonSchema[None] = None
    topic: Coding | SkipJsonSchema[None] = None


class Link(StrictModel):
    """Card.links[]: ``appContext`` only on ``smart`` links."""

    label: str
    url: str
    type: Literal["absolute", "smart"]
    appContext: str | SkipJsonSchema[None] = None
    autoLaunchable: bool | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _app_context_only_on_smart(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only allowed on smart links")
        return self


class Action(StrictModel):
    """Suggestion.actions[]: ``create``/``update`` carry a ``resource``, ``delete`` a ``resourceId``."""

    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | SkipJsonSchema[None] = None
    resourceId: str | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _target(self) -> Action:
        if self.type == "delete" and (self.resourceId is None or self.resource is not None):
            raise ValueError("a delete action names resourceId and no resource")
        if self.type != "delete" and (self.resource is None or self.resourceId is not None):
            raise ValueError(f"a {self.type} action carries a resource and no resourceId")
        return self


class Suggestion(StrictModel):
    """Card.suggestions[]."""

    label: str
    uuid: str | SkipJsonSchema[None] = None
    isRecommended: bool | SkipJsonSchema[None] = None
    actions: list[Action] | SkipJsonSchema[None] = None


class Card(StrictModel):
    """One CDS Hooks card: ``selectionBehavior`` exactly when there are suggestions."""

    uuid: str | SkipJsonSchema[None] = None
    summary: str = Field(max_length=SUMMARY_MAX_LENGTH)
    detail: str | SkipJsonSchema[None] = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | SkipJsonSchema[None] = None
    selectionBehavior: Literal["at-most-one", "any"] | SkipJsonSchema[None] = None
    overrideReasons: list[DisplayedCoding] | SkipJsonSchema[None] = None
    links: list[Link] | SkipJsonSchema[None] = None
    extension: dict[str, Any] | SkipJsonSchema[None] = Field(
        default=None, description='``extension["sid-igrt"]``: the machine-readable decision (see docs/cards.md).'
    )

    @model_validator(mode="after")
    def _selection_behavior_with_suggestions(self) -> Card:
        if (self.suggestions is None) != (self.selectionBehavior is None):
            raise ValueError("selectionBehavior is required with suggestions and only with them")
        return self


class CdsServiceResponse(BaseModel):
    """The service call's answer: ``cards`` (possibly empty); this service sends no ``systemActions``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cards: list[Card]


class ConfigurationOption(StrictModel):
    """One card configuration option a site may set per request (Da Vinci CRD STU2 pattern)."""

    code: str
    type: Literal["boolean", "string", "integer"]
    name: str
    description: str
    default: bool | str | int


class ServiceDescription(StrictModel):
    """One ``services[]`` entry of discovery."""

    hook: Literal["patient-view", "order-select", "order-sign"]
    id: str
    title: str
    description: str
    prefetch: dict[str, str]
    usageRequirements: str | SkipJsonSchema[None] = None
    extension: dict[str, list[ConfigurationOption] | bool] | SkipJsonSchema[None] = Field(
        default=None,
        description='``extension["sid-igrt.configuration-options"]``: the card options a request may set in its '
        '``extension["sid-igrt"]`` (Da Vinci CRD "configuration options" pattern); ``extension["sid-igrt.silent"]``: '
        "``true`` while the service is in silent mode (evaluated and recorded, answered with no cards).",
    )


class Discovery(StrictModel):
    """``GET /cds-services``."""

    services: list[ServiceDescription]


class FeedbackResponse(BaseModel):
    """The feedback answer: an empty object (all items were stored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class IssueDetails(StrictModel):
    """OperationOutcome.issue.details: this service's error slug and a sentence for the client."""

    coding: list[Coding]
    text: str


class Issue(StrictModel):
    """OperationOutcome.issue (FHIR R4)."""

    severity: Literal["fatal", "error", "warning", "information"]
    code: str
    details: IssueDetails
    expression: list[str] | SkipJsonSchema[None] = None


class OperationOutcome(StrictModel):
    """Every non-2xx answer (``application/fhir+json``)."""

    resourceType: Literal["OperationOutcome"]
    issue: list[Issue] = Field(min_length=1)


class HealthCheck(StrictModel):
    """One component check of a health answer."""

    status: Literal["pass", "fail"]


class Health(StrictModel):
    """``application/health+json`` (draft-inadarei-api-health-check): ``status`` and, on readiness, ``checks``."""

    status: Literal["pass", "fail"]
    checks: dict[str, list[HealthCheck]] | SkipJsonSchema[None] = None
