"""Why a SMART launch of the evidence page stopped, each with its HTTP status and the page the clinician sees.

The evidence page answers in HTML, not in OperationOutcomes: a clinician's browser shows it. Every launch error
carries its answer on the class (werkzeug style): ``status``, a stable ``code`` (logged and counted, never a token
or patient id) and a ``title``; the instance carries a ``detail`` sentence saying what happened and what to do.
``launch_error_for`` is the one mapping from any exception raised during a launch to one of these.

Tree (status, code; ``tests/test_smart_launch.py`` checks every class is here and mapped):

* LaunchError                       500  internal-error        a defect: logged with its traceback
  x InvalidLaunchError              400  invalid-launch        ``iss`` or ``launch`` missing or malformed
  x UnknownIssuerError              400  unknown-iss           ``iss`` not on ``CDS_FHIR_SERVER_ALLOWLIST``
  x LaunchStateError                400  launch-state          no launch in this browser, wrong, reused or expired
  x TokenRefusedError               401  token-refused         the token endpoint refused the code (used, expired)
  x AuthorizationDeniedError        403  access-denied         the authorization server said ``access_denied``
  x AppOffError                     404  app-off               ``CDS_SMART_CLIENT_ID`` unset: the app is off
  x AuthorizationServerError        502  authorization-server  discovery or token endpoint unusable or down
  x LaunchContextError              502  launch-context        the token response names no patient
  x FhirDataError                   502  fhir-data             the FHIR server did not give the page its data
  x LaunchStoreError                503  launch-store          the database holding pending launches is down

Mapped by ``launch_error_for``: ``storage.StorageError`` to ``LaunchStoreError``;
``cds_service.wire.errors.PrefetchUnavailableError`` and ``InvalidHookRequestError`` (from the page's own hook
call) to ``FhirDataError``; anything else to ``LaunchError`` (500).
"""

from __future__ import annotations

from typing import ClassVar

from cds_service.wire.errors import InvalidHookRequestError, PrefetchUnavailableError
from storage import StorageError

RELAUNCH = "Open the evidence page again from the card in the EHR."
"""What the clinician can do after most failures: a new launch starts from scratch."""


class LaunchError(Exception):
    """Base class: an unexpected failure (500). Subclasses set ``status``, ``code`` and ``title``.

    Attributes:
        detail: a sentence for the clinician (shown HTML-escaped); never a token, code or patient id.
    """

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "The evidence page failed"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidLaunchError(LaunchError):
    """The launch URL lacks ``iss`` or ``launch``, or one is malformed (SMART App Launch 2.x "EHR Launch")."""

    status, code, title = 400, "invalid-launch", "This is not a valid EHR launch"


class UnknownIssuerError(LaunchError):
    """``iss`` is not a FHIR server on the allowlist (``CDS_FHIR_SERVER_ALLOWLIST``): nothing is contacted."""

    status, code, title = 400, "unknown-iss", "This EHR is not known to the service"


class LaunchStateError(LaunchError):
    """The callback matches no pending launch in this browser: no cookie, a wrong ``state``, reused or expired.

    One answer for all of them (SMART App Launch 2.x "Obtain authorization code": the app must check ``state``),
    so that a forged callback learns nothing.
    """

    status, code, title = 400, "launch-state", "This launch is not valid any more"


class TokenRefusedError(LaunchError):
    """The token endpoint refused the authorization code (``invalid_grant``: used, expired; or the client)."""

    status, code, title = 401, "token-refused", "The EHR did not accept this sign-in"


class AuthorizationDeniedError(LaunchError):
    """The authorization server redirected back with ``error=access_denied`` (the user or a policy declined)."""

    status, code, title = 403, "access-denied", "Access to the patient's record was declined"


class AppOffError(LaunchError):
    """The SMART app is not configured on this service (``CDS_SMART_CLIENT_ID`` unset)."""

    status, code, title = 404, "app-off", "The evidence page is not enabled on this service"


class AuthorizationServerError(LaunchError):
    """The EHR's SMART configuration or token endpoint is unreachable, too slow, too large or not usable.

    Also a configuration without PKCE ``S256`` (refused: the app never falls back to ``plain`` or no PKCE).
    """

    status, code, title = 502, "authorization-server", "The EHR's sign-in service did not answer as expected"


class LaunchContextError(LaunchError):
    """The token response lacks what an EHR launch must give: a ``patient`` in context (or a usable token)."""

    status, code, title = 502, "launch-context", "The EHR did not say which patient to show"


class FhirDataError(LaunchError):
    """The FHIR server did not give the data the decision needs (fetch failed, refused, too slow, too large)."""

    status, code, title = 502, "fhir-data", "The patient's data could not be read from the EHR"


class LaunchStoreError(LaunchError):
    """The database that holds pending launches is unavailable: 503, try again shortly."""

    status, code, title = 503, "launch-store", "The service is temporarily unavailable"


def launch_error_for(error: BaseException) -> LaunchError:
    """Return the launch error that answers ``error``: itself, or its mapping (see the module docstring).

    Never raises. An unmapped exception becomes ``LaunchError`` (500) with a fixed detail: its text is never shown.
    """
    if isinstance(error, LaunchError):
        return error
    if isinstance(error, StorageError):
        return LaunchStoreError("Pending launches cannot be read or written right now. Try again in a minute.")
    if isinstance(error, PrefetchUnavailableError | InvalidHookRequestError):
        return FhirDataError(
            "The EHR's FHIR server did not return the data the decision needs, or returned it unreadable. " + RELAUNCH
        )
    return LaunchError("The service failed while preparing the page; nothing was decided. " + RELAUNCH)
