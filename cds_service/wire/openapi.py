"""The OpenAPI 3.1 description of every endpoint, generated from the pydantic models the service validates with.

Request bodies come from ``cds_service.wire.requests.HOOK_REQUESTS`` and ``cds_service.wire.feedback.FeedbackRequest``
(the models that parse requests); responses from ``cds_service.wire.responses`` (the models the test suite checks every
response against). Paths are listed per service id, so each carries its own hook's request schema. OpenAPI 3.1
uses JSON Schema 2020-12, which is what pydantic emits, so the schemas are used unchanged.

Served at ``GET /openapi.json`` (no authentication: it describes the interface, not patients).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cds_service.wire import responses
from cds_service.wire.definitions import SERVICES
from cds_service.wire.feedback import FeedbackRequest
from cds_service.wire.requests import HOOK_REQUESTS

OPENAPI_VERSION = "3.1.0"
_REF = "#/components/schemas/{model}"
_FHIR_JSON = "application/fhir+json"
_HEALTH_JSON = "application/health+json"

_ERRORS: dict[str, str] = {
    "400": "Not a valid request (malformed JSON, a missing or ill-typed field, another hook).",
    "401": "Client JWT missing or invalid (CDS Hooks 2.0.1 'Trusting CDS Clients').",
    "404": ("A feedback item names a card this service did not issue to this client at this endpoint; nothing stored."),
    "408": "The request body did not arrive in time (hook calls: within the latency budget); nothing evaluated.",
    "412": "Required prefetch data missing and not fetchable (CDS Hooks 2.0.1).",
    "413": (
        "Body larger than CDS_MAX_CONTENT_LENGTH, or holding more than a call may (issue code too-costly: JSON values "
        "or nesting, counted before parsing; Bundle entries or resources); nothing evaluated."
    ),
    "503": (
        "Retry later: the audit database cannot record the item, or (hook calls) a large call got no evaluation "
        "slot within the latency budget (with Retry-After)."
    ),
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type[BaseModel], media_type: str = "application/json") -> dict[str, Any]:
    return {"content": {media_type: {"schema": _ref(model)}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: {"description": _ERRORS[s], **_json(responses.OperationOutcome, _FHIR_JSON)} for s in statuses}


def openapi_document(*, auth_required: bool, server_url: str | None = None) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document (a JSON-ready dict).

    Args:
        auth_required: the CDS Hooks endpoints require a client JWT (``bearerAuth``); ``CDS_AUTH=off`` drops it.
        server_url: ``CDS_PUBLIC_BASE_URL`` when set (``servers[0].url``); else relative to the document.
    """
    request_models: list[type[BaseModel]] = [*HOOK_REQUESTS.values(), FeedbackRequest]
    response_models: list[type[BaseModel]] = [
        responses.Discovery,
        responses.CdsServiceResponse,
        responses.FeedbackResponse,
        responses.OperationOutcome,
        responses.Health,
    ]
    _, schemas = models_json_schema([(m, "validation") for m in request_models + response_models], ref_template=_REF)
    security: list[dict[str, list[str]]] = [{"bearerAuth": []}] if auth_required else []
    paths: dict[str, Any] = {
        "/cds-services": {
            "get": {
                "operationId": "discovery",
                "summary": "CDS Hooks discovery: one service per hook",
                "security": security,
                "responses": {"200": {"description": "The services", **_json(responses.Discovery)}, **_errors("401")},
            }
        }
    }
    for service in SERVICES:
        request_model = HOOK_REQUESTS[service.hook]
        paths[f"/cds-services/{service.id}"] = {
            "post": {
                "operationId": f"call-{service.id}",
                "summary": service.title,
                "description": service.description,
                "security": security,
                "requestBody": {"required": True, **_json(request_model)},
                "responses": {
                    "200": {
                        "description": "Cards (none when nothing is worth showing or the latency budget ran out)",
                        **_json(responses.CdsServiceResponse),
                    },
                    **_errors("400", "401", "408", "412", "413", "503"),
                },
            }
        }
        paths[f"/cds-services/{service.id}/feedback"] = {
            "post": {
                "operationId": f"feedback-{service.id}",
                "summary": f"Feedback on the cards of {service.id} (stored all or none)",
                "security": security,
                "requestBody": {"required": True, **_json(FeedbackRequest)},
                "responses": {
                    "200": {
                        "description": "Every item stored (an item already stored is not stored again)",
                        **_json(responses.FeedbackResponse),
                    },
                    **_errors("400", "401", "404", "408", "413", "503"),
                },
            }
        }
    paths["/health/live"] = {
        "get": {
            "operationId": "liveness",
            "summary": "Liveness: the process answers HTTP",
            "security": [],
            "responses": {"200": {"description": "Alive", **_json(responses.Health, _HEALTH_JSON)}},
        }
    }
    paths["/health/ready"] = {
        "get": {
            "operationId": "readiness",
            "summary": "Readiness: the audit database answers at the current schema revision",
            "security": [],
            "responses": {
                "200": {"description": "Ready", **_json(responses.Health, _HEALTH_JSON)},
                "503": {"description": "Not ready", **_json(responses.OperationOutcome, _FHIR_JSON)},
            },
        }
    }
    paths["/metrics"] = {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus metrics of every worker (bearer CDS_METRICS_TOKEN when set)",
            "security": [],
            "responses": {
                "200": {
                    "description": "Prometheus text exposition format 0.0.4",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **_errors("401"),
            },
        }
    }
    paths.update(_evidence_paths())
    paths["/openapi.json"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}
            },
        }
    }
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "IgRT in secondary immunodeficiency: CDS Hooks service",
            "version": "0.1.0",
            "description": "CDS Hooks 2.0.1 service applying the Medicinrådet SID guideline v1.1 and its CAR-T/bsAb "
            "addendum. Every non-2xx answer of the API is a FHIR OperationOutcome; the evidence page's SMART launch "
            "(/evidence/*) is opened by a browser and answers HTML pages.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "CDS Hooks 2.0.1 client JWT (ES384 or RS384, audience = the endpoint URL).",
                }
            },
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


_HTML = {"text/html": {"schema": {"type": "string"}}}
_PAGE_ERRORS = {
    "400": "A launch that cannot start or finish: no or unknown iss, no launch, a wrong, replayed or expired state",
    "401": "The authorization code was refused (expired or used)",
    "403": "The clinician or the EHR declined access",
    "404": "The evidence app is not enabled here (no CDS_SMART_CLIENT_ID)",
    "502": "The EHR's authorization or FHIR server failed or answered what the launch cannot use",
    "503": "The launch store is unavailable",
}


def _evidence_paths() -> dict[str, Any]:
    """The evidence page's SMART App Launch 2.x routes (EHR launch): HTML for a browser, not the JSON API.

    docs/smart-launch.md; ``cds_service.http.smart_launch``.
    """
    errors = {code: {"description": text, "content": _HTML} for code, text in _PAGE_ERRORS.items()}
    return {
        "/evidence/launch": {
            "get": {
                "operationId": "evidenceLaunch",
                "summary": "SMART EHR launch of the evidence page: redirects to the EHR's authorization endpoint",
                "security": [],
                "parameters": [
                    {"name": "iss", "in": "query", "required": True, "schema": {"type": "string"}},
                    {"name": "launch", "in": "query", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {"302": {"description": "To the authorization endpoint (PKCE S256, state)"}, **errors},
            }
        },
        "/evidence/callback": {
            "get": {
                "operationId": "evidenceCallback",
                "summary": "The authorization server's redirect back: exchanges the code and renders the page",
                "security": [],
                "parameters": [
                    {"name": "code", "in": "query", "required": False, "schema": {"type": "string"}},
                    {"name": "state", "in": "query", "required": False, "schema": {"type": "string"}},
                    {"name": "error", "in": "query", "required": False, "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "The evidence page", "content": _HTML}, **errors},
            }
        },
    }
