"""Errors the CDS service answers with: every error maps to exactly one HTTP status and one FHIR OperationOutcome.

A ``CdsServiceError`` carries its answer on the class (werkzeug style): ``status``, ``issue_code`` (FHIR IssueType,
``issue[0].code``), ``code`` (this service's slug, ``issue[0].details.coding[0].code``) and ``headers()``. The one
mapping from any exception to its answer is ``cds_service.http.operation_outcome.answer_for``; it also answers
storage errors, werkzeug's HTTP errors and anything unexpected, as drawn here (status, issue code, code, headers).

Error tree (drawn from the classes and ``answer_for`` by ``tests/test_errors.py``; ``--update-golden`` redraws it):

* CdsServiceError                                500  exception   internal-error
  x InvalidHookRequestError                      400  invalid     invalid-hook-request
  x AuthenticationError                          401  login       unauthorized           WWW-Authenticate
  x UnknownCardError                             404  not-found   unknown-card
  x UnknownServiceError                          404  not-found   unknown-service
  x RequestTimeoutError                          408  timeout     request-timeout
  x PrefetchUnavailableError                     412  incomplete  prefetch-unavailable
  x RequestTooLargeError                         413  too-costly  too-large
  x ServiceBusyError                             503  throttled   busy                   Retry-After
  x ServiceUnavailableError                      503  transient   storage-unavailable
* storage.StorageError                           503  transient   storage-unavailable
  x cds_service.audit.queue.AuditQueueFullError  503  transient   storage-unavailable
  x storage.DatabaseUnreachableError             503  transient   storage-unavailable
* werkzeug.exceptions.HTTPException              its  see below   http-<status>          its own (405: Allow)
    400 invalid, 401 login, 403 forbidden, 404 not-found, 405 not-supported, 408 timeout, 409 conflict,
    413 too-long, 415 not-supported, 429 throttled, 500 exception, 501 not-supported, 503 transient,
    otherwise processing
* any other Exception                            500  exception   internal-error

Never answered (handled before a response is made):
* fhir_mappers.MappingError                      a data issue on the card, "Data not used" (fhir_mappers.summarize)
  x fhir_mappers.errors.InvalidElementError
  x fhir_mappers.errors.MissingElementError
  x fhir_mappers.errors.UnsupportedUnitError
* cds_service.ehr.fhir_client.FhirAccessError    the prefetch key is unavailable: 412 if required, else a data issue
* cds_service.time_limits.BudgetExceededError    answered 200 {"cards": []}, audited as budget-exceeded
* cds_service.settings.SettingsError             at start-up: the service does not start
* fhir_mappers.errors.CodeTableError             at start-up: the service does not start
"""

from __future__ import annotations

from typing import ClassVar


class CdsServiceError(Exception):
    """Base class. Subclasses set ``status`` (HTTP), ``issue_code`` (FHIR IssueType) and a stable ``code``.

    A subclass that answers with HTTP headers (401's ``WWW-Authenticate``, 503's ``Retry-After``) overrides
    ``headers()``.

    Attributes:
        detail: a sentence for the client; never contains patient data or tokens.
        expression: the request element at fault, e.g. ``"context.patientId"``.
    """

    status: ClassVar[int] = 500
    issue_code: ClassVar[str] = "exception"
    code: ClassVar[str] = "internal-error"

    def __init__(self, detail: str, *, expression: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.expression = expression

    def headers(self) -> dict[str, str]:
        """Return the HTTP headers this error is answered with, besides ``Content-Type`` (none by default)."""
        return {}


class InvalidHookRequestError(CdsServiceError):
    """The request body is not a valid CDS Hooks request for this service (CDS Hooks 2.0.1 "HTTP Request")."""

    status, issue_code, code = 400, "invalid", "invalid-hook-request"


class RequestTimeoutError(CdsServiceError):
    """The request body did not arrive within its deadline (``cds_service.http.request_body``): 408, nothing evaluated.

    Not audited (no hookInstance or patient was read); logged and counted.
    """

    status, issue_code, code = 408, "timeout", "request-timeout"


class UnknownServiceError(CdsServiceError):
    """No service with this id (CDS Hooks 2.0.1 "Discovery": services live at ``/cds-services/{id}``)."""

    status, issue_code, code = 404, "not-found", "unknown-service"


class UnknownCardError(CdsServiceError):
    """Feedback about a card this service did not issue to this client at this endpoint: 404, nothing stored.

    One answer for a card never issued, issued to another client, or issued at another endpoint, so that a caller
    cannot probe which uuids exist (issue 17, feedback integrity).
    """

    status, issue_code, code = 404, "not-found", "unknown-card"


class RequestTooLargeError(CdsServiceError):
    """The call holds more than the service reads (issue 29): 413, nothing evaluated or audited.

    Bytes over ``CDS_MAX_CONTENT_LENGTH`` are werkzeug's 413; this one counts what the body would become: JSON values
    and nesting depth before it is parsed (``cds_service.wire.json_shape``), entries per Bundle and resources per
    call once it is (``cds_service.ehr.prefetch``). 413 (RFC 9110 15.5.14, "content larger than the server is willing
    or able to process"), not 422: the request may be a valid CDS Hooks call, only a larger one than this service
    takes, and the same content sent again is refused again. FHIR IssueType ``too-costly``: "stopped to protect
    server resources".
    """

    status, issue_code, code = 413, "too-costly", "too-large"


class PrefetchUnavailableError(CdsServiceError):
    """Required data was neither prefetched nor retrievable (CDS Hooks 2.0.1: respond 412)."""

    status, issue_code, code = 412, "incomplete", "prefetch-unavailable"


class AuthenticationError(CdsServiceError):
    """The client JWT is missing or invalid (CDS Hooks 2.0.1 "Trusting CDS Clients"): 401 with no detail.

    Attributes:
        reason: why, for the service's log only; never sent to the client and never containing the token.
    """

    status, issue_code, code = 401, "login", "unauthorized"

    def __init__(self, reason: str) -> None:
        super().__init__("Authentication failed.")
        self.reason = reason

    def headers(self) -> dict[str, str]:
        """Return ``WWW-Authenticate: Bearer`` (RFC 6750 3.1), naming no reason beyond ``invalid_token``."""
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class ServiceUnavailableError(CdsServiceError):
    """The audit store cannot record the decision or feedback: 503, and no card is returned."""

    status, issue_code, code = 503, "transient", "storage-unavailable"


class ServiceBusyError(CdsServiceError):
    """A large hook call could not start within its latency budget (``cds_service.http.large_requests``): 503.

    Answered with ``Retry-After``; the request body was read but not parsed, so nothing was evaluated or audited.
    """

    status, issue_code, code = 503, "throttled", "busy"
    retry_after_seconds: ClassVar[int] = 1

    def headers(self) -> dict[str, str]:
        """Return ``Retry-After`` in seconds: another large call will soon have finished, so the EHR may retry."""
        return {"Retry-After": str(self.retry_after_seconds)}
