"""Errors the CDS service answers with; each maps to one HTTP status and a FHIR OperationOutcome.

* CdsServiceError                     500  processing
  x InvalidHookRequestError           400  invalid
  x UnknownServiceError               404  not-found
  x PrefetchUnavailableError          412  incomplete
  x AuthenticationError               401  login (no detail)
  x ServiceUnavailableError           503  transient (audit store down)
  x ServiceBusyError                  503  throttled (a large call got no evaluation slot in time; Retry-After)
"""

from __future__ import annotations

from typing import ClassVar


class CdsServiceError(Exception):
    """Base class. Subclasses set ``status`` (HTTP), ``issue_code`` (FHIR IssueType) and a stable ``code``.

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


class ServiceUnavailableError(CdsServiceError):
    """The audit store cannot record the decision or feedback: 503, and no card is returned."""

    status, issue_code, code = 503, "transient", "storage-unavailable"


class ServiceBusyError(CdsServiceError):
    """A large hook call could not start within its latency budget (``cds_service.http.large_requests``): 503.

    Answered with ``Retry-After``; the request body was read but not parsed, so nothing was evaluated or audited.
    """

    status, issue_code, code = 503, "throttled", "busy"
    retry_after_seconds: ClassVar[int] = 1
