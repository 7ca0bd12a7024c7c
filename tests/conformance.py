"""Every response the test suite receives from the service, checked against CDS Hooks 2.0.1 twice.

1. Our own strict models (``cds_service.wire.responses``, the source of ``/openapi.json``): summary < 140 characters,
   no null or empty fields, ``selectionBehavior`` exactly with suggestions, ``display`` on override reasons, link
   types, ``appContext`` only on smart links, indicators, OperationOutcome on every non-2xx.
2. An independent implementation: healthchain's pydantic CDS Hooks models (test dependency only).

``install(monkeypatch)`` (an autouse fixture in ``tests/conftest.py``) wraps Flask's test client and ``requests``
so that no test can receive a non-conforming answer without failing. ``CHECKED`` counts what was checked.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
import requests
from flask.testing import FlaskClient
from healthchain.models.responses.cdsdiscovery import CDSServiceInformation
from healthchain.models.responses.cdsresponse import CDSResponse

from cds_service.wire import responses

CHECKED: Counter[str] = Counter()
_SERVICE_PATH = re.compile(r"^/cds-services/(?P<id>[^/]+)(?P<feedback>/feedback)?$")


class NonConformingResponseError(AssertionError):
    """A response that breaks CDS Hooks 2.0.1 or this service's published responses."""


def check_response(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """Check one response of the service (non-service paths and CORS preflights are ignored).

    Raises:
        NonConformingResponseError: what is wrong, with the path.
    """
    if method == "OPTIONS" or not _is_service_path(path):
        return
    try:
        _check(method, path, status, content_type, body)
    except (ValueError, AssertionError) as error:  # pydantic's ValidationError is a ValueError
        raise NonConformingResponseError(f"{method} {path} -> {status}: {error}") from error


def _is_service_path(path: str) -> bool:
    return path.startswith(("/cds-services", "/health/")) or path == "/openapi.json"


def _check(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    if status >= 300:
        assert content_type.startswith("application/fhir+json"), f"error answered as {content_type!r}"
        responses.OperationOutcome.model_validate_json(body)
        CHECKED["operation-outcome"] += 1
        return
    if path.startswith("/health/"):
        assert content_type.startswith("application/health+json"), content_type
        responses.Health.model_validate_json(body)
        CHECKED["health"] += 1
        return
    if path == "/openapi.json":
        assert orjson.loads(body)["openapi"].startswith("3.1"), "not an OpenAPI 3.1 document"
        return
    assert content_type.startswith("application/json"), f"answered as {content_type!r}"
    if path.rstrip("/") == "/cds-services" and method == "GET":
        responses.Discovery.model_validate_json(body)
        CDSServiceInformation.model_validate_json(body)
        CHECKED["discovery"] += 1
        return
    match = _SERVICE_PATH.match(path)
    assert match is not None, f"unexpected path {path}"
    if match["feedback"]:
        responses.FeedbackResponse.model_validate_json(body)
        CHECKED["feedback"] += 1
        return
    check_cards(orjson.loads(body))


def check_cards(response: Any) -> None:
    """Check a service call's JSON answer against both implementations.

    Raises:
        pydantic.ValidationError or AssertionError: the first rule broken.
    """
    responses.CdsServiceResponse.model_validate(response)
    CDSResponse.model_validate(response)
    CHECKED["cards"] += len(response["cards"])
    CHECKED["service-responses"] += 1


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check every response that tests receive through Flask's test client or ``requests``."""
    flask_open = FlaskClient.open

    def checked_open(self: FlaskClient, *args: Any, **kwargs: Any) -> Any:
        response = flask_open(self, *args, **kwargs)
        method = response.request.method
        check_response(method, response.request.path, response.status_code, response.content_type or "", response.data)
        return response

    session_send = requests.Session.send

    def checked_send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        response = session_send(self, request, **kwargs)
        path = urlsplit(request.url or "").path
        if not _is_service_path(path):  # e.g. the FHIR test server, a JWKS endpoint
            return response
        # Streamed responses (schemathesis) too: reading .content caches the body for the caller.
        content_type = response.headers.get("Content-Type", "")
        check_response(request.method or "GET", path, response.status_code, content_type, response.content)
        return response

    monkeypatch.setattr(FlaskClient, "open", checked_open)
    monkeypatch.setattr(requests.Session, "send", checked_send)
