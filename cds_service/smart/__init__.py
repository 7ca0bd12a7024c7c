"""The SMART on FHIR EHR launch of the evidence page (SMART App Launch 2.x), one job per module.

* ``discovery``: the EHR's ``.well-known/smart-configuration`` (bounded in time and size; PKCE S256 required).
* ``scopes``: the scopes asked for, derived from the prefetch templates (``patient/<Type>.rs``).
* ``session``: a launch's random session id and the ``state`` and PKCE verifier derived from it.
* ``oauth``: the authorization code flow through Authlib; the token response checked (``TokenGrant``).
* ``hook_request``: the patient-view request the page is decided from.
* ``pages``: the strict headers (CSP with a nonce) and the error page.
* ``errors``: why a launch stopped, each with its status (``launch_error_for`` maps everything else).
* ``bounded``: reading an answer within a deadline and a byte limit.

The routes are ``cds_service.http.smart_launch``; pending launches are ``storage.launches``; how an EHR registers
the app: docs/smart-launch.md.
"""

__all__: list[str] = []
