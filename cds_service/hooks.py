"""The CDS Hooks HTTP surface: discovery and service calls (CDS Hooks 2.0.1 "Discovery", "Calling a CDS Service")."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, request

from cds_service.definitions import SERVICES, USAGE_REQUIREMENTS, lookup
from cds_service.errors import InvalidHookRequestError, UnknownServiceError
from cds_service.invocation import invoke
from cds_service.protocol import parse_hook_request
from cds_service.settings import Settings

bp = Blueprint("cds_services", __name__, url_prefix="/cds-services")


def settings() -> Settings:
    """Return the settings validated at start-up."""
    value = current_app.extensions["cds_service"]
    assert isinstance(value, Settings)
    return value


@bp.get("")
def discovery() -> dict[str, Any]:
    """``GET /cds-services``: one service per hook, with prefetch templates."""
    return {"services": [s.discovery(usage_requirements=USAGE_REQUIREMENTS) for s in SERVICES]}


@bp.post("/<service_id>")
def call_service(service_id: str) -> dict[str, Any]:
    """``POST /cds-services/{id}``: validate, evaluate and answer with cards.

    Raises:
        UnknownServiceError: 404. InvalidHookRequestError: 400. PrefetchUnavailableError: 412.
    """
    service = lookup(service_id)
    if service is None:
        raise UnknownServiceError(f"No CDS service '{service_id[:80]}'. See GET /cds-services.")
    hook_request = parse_hook_request(_json_body(), hook=service.hook)
    current = settings()
    return invoke(service, hook_request, current, as_of=current.today())


def _json_body() -> Any:
    """Parse the body as JSON whatever the Content-Type (clients differ); deep nesting is a 400, not a crash."""
    raw = request.get_data(cache=False)
    if not raw:
        raise InvalidHookRequestError("The request body is empty; a CDS Hooks request (JSON) is required.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise InvalidHookRequestError("The request body is not valid JSON.") from error
