"""The patient-view hook request the evidence page is decided from, built from the launch's token response.

The page runs the service's own ``invoke()`` on a request the EHR never sent: hook ``patient-view``, a fresh
``hookInstance``, ``fhirServer`` = the launch's ``iss``, ``fhirAuthorization`` from the token response (CDS Hooks
2.0.1 "Passing the Access Token": ``access_token``, ``token_type`` Bearer, ``scope``, ``subject`` = this app's
client id, ``expires_in``, ``patient``), ``context`` = the launch's patient (and user), and no prefetch: every key is
fetched from the FHIR server through the service's FHIR client (allowlist, budgets, byte caps), and decided by the
same code as the hook, so the page and the card cannot disagree.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from cds_service.smart.errors import LaunchContextError
from cds_service.smart.oauth import TokenGrant
from cds_service.wire.requests import HookRequest, PatientViewRequest


def patient_view_request(grant: TokenGrant, *, iss: str, client_id: str) -> HookRequest:
    """Return the validated patient-view request for this launch.

    Raises:
        LaunchContextError: the token response's values do not make a valid request (cannot happen with a
            ``TokenGrant``, whose patient is a FHIR id; kept as a typed refusal rather than a 500).
    """
    authorization: dict[str, Any] = {
        "access_token": grant.access_token.get_secret_value(),
        "token_type": "Bearer",
        "scope": grant.scope,
        "subject": client_id,
        "patient": grant.patient,
    }
    if grant.expires_in is not None:
        authorization["expires_in"] = grant.expires_in
    context: dict[str, Any] = {"patientId": grant.patient}
    if grant.user is not None:
        context["userId"] = grant.user
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": iss,
        "fhirAuthorization": authorization,
        "context": context,
    }
    try:
        return PatientViewRequest.model_validate(body)
    except ValidationError:
        raise LaunchContextError("The EHR's launch context cannot be used (patient or token malformed).") from None
