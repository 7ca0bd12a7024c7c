"""Every non-2xx answer as a FHIR OperationOutcome (``application/fhir+json``), mapped in one place.

CDS Hooks 3.0 (STU note, adopted here for 2.0.1): non-2xx responses SHOULD carry an OperationOutcome.
``answer_for`` is the one mapping from an exception to its answer (the tree is drawn in ``cds_service.wire.errors``);
``register_error_handlers`` installs one handler that logs and counts the error, then answers with it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from cds_service.audit.queue import AuditQueueFullError
from cds_service.observability import AUDIT_WRITE_FAILURES
from cds_service.wire.errors import CdsServiceError, ServiceUnavailableError
from storage import StorageError

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
HTTP_ISSUE_CODES: Mapping[int, str] = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    408: "timeout",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    429: "throttled",
    500: "exception",
    501: "not-supported",
    503: "transient",
}
"""FHIR IssueType of a werkzeug HTTP error (routing 404, 405, 413 over ``CDS_MAX_CONTENT_LENGTH`` ...), by status."""
HTTP_ISSUE_CODE_OTHERWISE = "processing"
"""FHIR IssueType of a werkzeug HTTP error whose status ``HTTP_ISSUE_CODES`` does not list."""
STORAGE_UNAVAILABLE = "The decision or feedback could not be recorded; nothing was returned."
"""Detail of the 503 that answers a ``StorageError`` (the database is down, or the decision queue is full)."""
INTERNAL_ERROR = "The service failed; no decision was made."
"""Detail of the 500 that answers an unexpected exception (its text is logged, never sent)."""


@dataclass(frozen=True)
class ErrorAnswer:
    """What an error is answered with.

    Attributes:
        status: the HTTP status.
        issue_code: FHIR IssueType (``invalid``, ``not-found``, ``incomplete``, ``exception`` ...), ``issue[0].code``.
        code: this service's stable error slug, in ``issue[0].details.coding[0].code``.
        detail: a sentence for the client, in ``issue[0].details.text``.
        expression: the request element at fault, in ``issue[0].expression``.
        headers: HTTP headers besides ``Content-Type`` (401's ``WWW-Authenticate``, 405's ``Allow`` ...).
    """

    status: int
    issue_code: str
    code: str
    detail: str
    expression: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        """Return the OperationOutcome response."""
        response = operation_outcome(
            self.status, issue_code=self.issue_code, code=self.code, detail=self.detail, expression=self.expression
        )
        response.headers.update(self.headers)
        return response


def answer_for(error: BaseException) -> ErrorAnswer:
    """Return the answer to ``error``: the one mapping from an exception to an HTTP status and OperationOutcome.

    * ``CdsServiceError``: its class's ``status``, ``issue_code``, ``code`` and ``headers()``, its own detail.
    * ``StorageError`` (``storage``; also ``AuditQueueFullError``): answered as ``ServiceUnavailableError`` (503).
    * werkzeug ``HTTPException`` (routing 404, 405 with ``Allow``, 413 ...): its status, ``HTTP_ISSUE_CODES``,
      ``http-<status>``.
    * anything else: 500 ``exception`` ``internal-error``, with a fixed detail (the error's text is never sent).
    """
    if isinstance(error, StorageError):
        error = ServiceUnavailableError(STORAGE_UNAVAILABLE)
    if isinstance(error, CdsServiceError):
        return ErrorAnswer(
            error.status, error.issue_code, error.code, error.detail, error.expression, headers=error.headers()
        )
    if isinstance(error, HTTPException):
        status = error.code or 500
        # e.g. 405's Allow (RFC 9110 15.5.6); the body is ours, so werkzeug's Content-Type is not.
        headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
        issue_code = HTTP_ISSUE_CODES.get(status, HTTP_ISSUE_CODE_OTHERWISE)
        return ErrorAnswer(status, issue_code, f"http-{status}", error.description or error.name, headers=headers)
    return ErrorAnswer(500, "exception", "internal-error", INTERNAL_ERROR)


def operation_outcome(
    status: int, *, issue_code: str, code: str, detail: str, expression: str | None = None
) -> Response:
    """Return an OperationOutcome response.

    Args:
        status: the HTTP status.
        issue_code: FHIR IssueType (``invalid``, ``not-found``, ``incomplete``, ``exception`` ...).
        code: this service's stable error slug, in ``issue[0].details.coding[0].code``.
        detail: a sentence for the client, in ``issue[0].details.text`` (FHIR allows no empty string: an empty
            detail is replaced by the slug).
        expression: the request element at fault.
    """
    issue: dict[str, Any] = {
        "severity": "error",
        "code": issue_code,
        "details": {
            "coding": [{"system": "urn:sid-igrt:error", "code": code}],
            "text": detail or code,
        },
    }
    if expression:
        issue["expression"] = [expression]
    body = {"resourceType": "OperationOutcome", "issue": [issue]}
    return Response(json.dumps(body), status=status, mimetype=FHIR_JSON)


def register_error_handlers(app: Flask) -> None:
    """Answer every exception a request raises with ``answer_for``, after logging (and counting) it.

    One handler for ``Exception``: Flask also routes werkzeug's HTTP errors (routing 404, 405) to it, and every
    other exception, so that no answer leaves the service without an OperationOutcome.
    """

    @app.errorhandler(Exception)
    def _answer(error: Exception) -> Response:
        _observe(error)
        return answer_for(error).response()


def _observe(error: Exception) -> None:
    """Log an error the way its kind deserves; count audit write failures (``cds_audit_write_failures_total``)."""
    if isinstance(error, CdsServiceError):
        logger.info("answered %d %s", error.status, error.code)
    elif isinstance(error, StorageError):
        logger.error("storage unavailable: %s", error)
        if not isinstance(error, AuditQueueFullError):  # a refusal: no write was attempted
            AUDIT_WRITE_FAILURES.inc()
        logger.info("answered %d %s", ServiceUnavailableError.status, ServiceUnavailableError.code)
    elif not isinstance(error, HTTPException):
        logger.exception("unexpected error")
