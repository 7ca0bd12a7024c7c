"""Every non-2xx answer as a FHIR OperationOutcome (``application/fhir+json``), mapped in one place.

CDS Hooks 3.0 (STU note, adopted here for 2.0.1): non-2xx responses SHOULD carry an OperationOutcome.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from cds_service.audit.queue import AuditQueueFullError
from cds_service.observability import AUDIT_WRITE_FAILURES
from cds_service.wire.errors import AuthenticationError, CdsServiceError, ServiceBusyError, ServiceUnavailableError
from storage import StorageError

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
_HTTP_ISSUE_CODES = {404: "not-found", 405: "not-supported", 413: "too-long", 415: "not-supported"}


def operation_outcome(
    status: int, *, issue_code: str, code: str, detail: str, expression: str | None = None
) -> Response:
    """Return an OperationOutcome response.

    Args:
        status: the HTTP status.
        issue_code: FHIR IssueType (``invalid``, ``not-found``, ``incomplete``, ``exception`` ...).
        code: this service's stable error slug, in ``issue[0].details.coding[0].code``.
        detail: a sentence for the client, in ``issue[0].details.text``.
        expression: the request element at fault.
    """
    issue: dict[str, Any] = {
        "severity": "error",
        "code": issue_code,
        "details": {
            "coding": [{"system": "urn:sid-igrt:error", "code": code}],
            "text": detail,
        },
    }
    if expression:
        issue["expression"] = [expression]
    body = {"resourceType": "OperationOutcome", "issue": [issue]}
    return Response(json.dumps(body), status=status, mimetype=FHIR_JSON)


def register_error_handlers(app: Flask) -> None:
    """Map ``CdsServiceError``, ``StorageError`` (503), werkzeug errors and anything else to OperationOutcomes."""

    @app.errorhandler(CdsServiceError)
    def _service_error(error: CdsServiceError) -> Response:
        logger.info("answered %d %s", error.status, error.code)
        response = operation_outcome(
            error.status, issue_code=error.issue_code, code=error.code, detail=error.detail, expression=error.expression
        )
        if isinstance(error, AuthenticationError):
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        if isinstance(error, ServiceBusyError):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response

    @app.errorhandler(StorageError)
    def _storage_error(error: StorageError) -> Response:
        logger.error("storage unavailable: %s", error)
        if not isinstance(error, AuditQueueFullError):  # a refusal: no write was attempted
            AUDIT_WRITE_FAILURES.inc()
        return _service_error(
            ServiceUnavailableError("The decision or feedback could not be recorded; nothing was returned.")
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        response = operation_outcome(
            status,
            issue_code=_HTTP_ISSUE_CODES.get(status, "processing"),
            code=f"http-{status}",
            detail=error.description or error.name,
        )
        for name, value in error.get_headers():  # e.g. 405's Allow (RFC 9110 15.5.6)
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.exception("unexpected error")
        return operation_outcome(
            500, issue_code="exception", code="internal-error", detail="The service failed; no decision was made."
        )
