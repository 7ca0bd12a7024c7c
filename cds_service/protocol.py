"""The CDS Hooks 2.0.1 request as this service reads it: strict on what it uses, lenient on the rest.

Unknown fields and extensions are ignored (Epic sends ``com.epic.cdshooks.request.*``). Hook contexts follow the
Hook Library 1.0.1 (patient-view, order-select, order-sign).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from cds_service.errors import InvalidHookRequestError

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class HookContext(BaseModel):
    """``context``: ``patientId`` is required for every hook here; order hooks add ``draftOrders``."""

    model_config = ConfigDict(extra="allow")

    patientId: str
    userId: str | None = None
    encounterId: str | None = None
    selections: list[str] | None = None
    draftOrders: dict[str, Any] | None = None

    @field_validator("patientId")
    @classmethod
    def _fhir_id(cls, value: str) -> str:
        if not _FHIR_ID.match(value):
            raise ValueError("must be a FHIR id: 1-64 characters A-Z, a-z, 0-9, '-' or '.'")
        return value


class FhirAuthorization(BaseModel):
    """``fhirAuthorization`` (CDS Hooks 2.0.1 "Passing the Access Token").

    Only ``access_token`` is required here: clients in the wild omit ``expires_in`` and others (pitfall 10). The
    token is a ``SecretStr`` so it never appears in a repr, a log line or an error message.
    """

    model_config = ConfigDict(extra="allow")

    access_token: SecretStr = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("must be 'Bearer'")
        return value


class HookRequest(BaseModel):
    """The service call body (CDS Hooks 2.0.1 "HTTP Request")."""

    model_config = ConfigDict(extra="allow")

    hook: str
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: HookContext
    prefetch: dict[str, Any] | None = None


def parse_hook_request(body: Any, *, hook: str) -> HookRequest:
    """Validate a parsed JSON body as a request for ``hook``.

    Raises:
        InvalidHookRequestError: not an object, a missing/ill-typed field, another hook, or a hook-specific
            context field missing (``draftOrders`` for order hooks, ``selections`` for order-select).
    """
    if not isinstance(body, dict):
        raise InvalidHookRequestError("The request body must be a JSON object.")
    try:
        request = HookRequest.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise InvalidHookRequestError(f"{location}: {first['msg']}", expression=location) from error
    if request.hook != hook:
        raise InvalidHookRequestError(f"This service answers '{hook}', not '{request.hook}'.", expression="hook")
    if request.fhirAuthorization is not None and not request.fhirServer:
        raise InvalidHookRequestError("fhirAuthorization requires fhirServer (cds-r-1).", expression="fhirServer")
    if hook in ("order-select", "order-sign") and request.context.draftOrders is None:
        raise InvalidHookRequestError(f"{hook} requires context.draftOrders.", expression="context.draftOrders")
    if hook == "order-select" and request.context.selections is None:
        raise InvalidHookRequestError("order-select requires context.selections.", expression="context.selections")
    return request
