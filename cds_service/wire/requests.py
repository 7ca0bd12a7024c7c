"""The CDS Hooks 2.0.1 request as this service reads it: strict on what it uses, lenient on the rest.

Unknown fields and extensions are ignored (Epic sends ``com.epic.cdshooks.request.*``). Hook contexts follow the
Hook Library 1.0.1 (patient-view, order-select, order-sign).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from cds_service.wire.errors import InvalidHookRequestError
from fhir_mappers.references import FHIR_ID_PATTERN as ID_PATTERN

FHIR_ID_PATTERN = f"^{ID_PATTERN}$"
"""FHIR R4 ``id`` (``fhir_mappers.references.FHIR_ID_PATTERN``), anchored for pydantic: 1-64 of A-Z a-z 0-9 - ."""


class HookContext(BaseModel):
    """``context`` (patient-view): ``patientId`` is required for every hook here."""

    model_config = ConfigDict(extra="allow")

    patientId: str = Field(pattern=FHIR_ID_PATTERN, description="FHIR id of the patient in context")
    userId: str | None = None
    encounterId: str | None = None
    selections: list[str] | None = None
    draftOrders: dict[str, Any] | None = None

    @field_validator("patientId")
    @classmethod
    def _not_a_dot_segment(cls, value: str) -> str:
        # "." and ".." match the FHIR id pattern but, put into a query path (Patient/{{context.patientId}}), they
        # would address another resource on the EHR's FHIR server.
        if value in (".", ".."):
            raise ValueError("'.' and '..' are not patient ids")
        return value


class OrderSignContext(HookContext):
    """``context`` of order-sign: ``draftOrders`` (a FHIR Bundle of the orders being signed) is required.

    Anything but a Bundle (a Patient, an order outside a Bundle) is a 400: answering ``{"cards": []}`` would say
    "no immunoglobulin ordered" about orders the service never saw. ``Bundle.type`` may be missing (the Sandbox).
    """

    draftOrders: dict[str, Any]

    @field_validator("draftOrders")
    @classmethod
    def _bundle(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("resourceType") != "Bundle":
            raise ValueError("must be a FHIR Bundle (resourceType 'Bundle')")
        return value


class OrderSelectContext(OrderSignContext):
    """``context`` of order-select: ``selections`` (references to the selected draft orders) is also required."""

    selections: list[str]


class FhirAuthorization(BaseModel):
    """``fhirAuthorization`` (CDS Hooks 2.0.1 "Passing the Access Token").

    Only ``access_token`` is required here: clients in the wild omit ``expires_in`` and others (pitfall 10). The
    token is a ``SecretStr`` so it never appears in a repr, a log line or an error message.
    """

    model_config = ConfigDict(extra="allow")

    access_token: SecretStr = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: StrictInt | None = None  # JSON true is not a number of seconds (pydantic would read it as 1)
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("must be 'Bearer'")
        return value


_CDS_R_1: JsonDict = {
    "if": {"required": ["fhirAuthorization"], "properties": {"fhirAuthorization": {"type": "object"}}},
    "then": {"required": ["fhirServer"], "properties": {"fhirServer": {"type": "string", "minLength": 1}}},
}
"""cds-r-1 in JSON Schema (the published request schemas): ``fhirAuthorization`` requires ``fhirServer``."""


class HookRequest(BaseModel):
    """The service call body (CDS Hooks 2.0.1 "HTTP Request"); one subclass per hook fixes ``hook`` and ``context``."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_CDS_R_1)

    hook: str
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: HookContext
    prefetch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _authorization_needs_server(self) -> HookRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirAuthorization requires fhirServer (cds-r-1)")
        return self


class PatientViewRequest(HookRequest):
    """A patient-view call."""

    hook: Literal["patient-view"]


class OrderSignRequest(HookRequest):
    """An order-sign call."""

    hook: Literal["order-sign"]
    context: OrderSignContext


class OrderSelectRequest(HookRequest):
    """An order-select call."""

    hook: Literal["order-select"]
    context: OrderSelectContext


HOOK_REQUESTS: dict[str, type[HookRequest]] = {
    "patient-view": PatientViewRequest,
    "order-select": OrderSelectRequest,
    "order-sign": OrderSignRequest,
}
"""The request model of each hook this service answers (also the request schemas of ``/openapi.json``)."""


def parse_hook_request(body: Any, *, hook: str) -> HookRequest:
    """Validate a parsed JSON body as a request for ``hook``.

    Raises:
        InvalidHookRequestError: not an object, another hook, a missing or ill-typed field (``draftOrders`` for
            order hooks, ``selections`` for order-select), or ``fhirAuthorization`` without ``fhirServer``.
    """
    if not isinstance(body, dict):
        raise InvalidHookRequestError("The request body must be a JSON object.")
    sent = body.get("hook")
    if isinstance(sent, str) and sent != hook:
        raise InvalidHookRequestError(f"This service answers '{hook}', not '{sent[:40]}'.", expression="hook")
    try:
        return HOOK_REQUESTS[hook].model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "fhirServer"
        raise InvalidHookRequestError(f"{location}: {first['msg']}", expression=location) from error
