"""Endpoints for operators: liveness, readiness and Prometheus metrics (not CDS Hooks; no client JWT).

* ``GET /health/live``: 200 while the process serves requests (a failing probe restarts the container).
* ``GET /health/ready``: 200 when the audit database answers; 503 (OperationOutcome) when it does not, so the
  load balancer stops sending hook calls that could not be recorded.
* ``GET /openapi.json``: the OpenAPI 3.1 description of every endpoint (``cds_service.wire.openapi``).
* ``GET /metrics``: the Prometheus text exposition (``cds_service.observability``); with ``CDS_METRICS_TOKEN``
  set it requires ``Authorization: Bearer <token>``. Expose it inside the cluster only.

Health bodies use the ``application/health+json`` shape (``{"status": "pass"}``).
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, current_app, g, request

from cds_service.http.runtime import runtime_of
from cds_service.observability import metrics_exposition
from cds_service.wire.errors import AuthenticationError, ServiceUnavailableError
from storage import StorageError

logger = logging.getLogger(__name__)

bp = Blueprint("operations", __name__)

_HEALTH = "application/health+json"


@bp.get("/health/live")
def live() -> Response:
    """Liveness: the process answers HTTP."""
    g.metric_hook = "health"
    return Response('{"status":"pass"}', status=200, mimetype=_HEALTH)


@bp.get("/health/ready")
def ready() -> Response:
    """Readiness: the audit database answers a query at the current schema revision.

    Raises:
        ServiceUnavailableError: 503, the database is unreachable or not migrated.
    """
    g.metric_hook = "health"
    try:
        runtime_of(current_app).store.database.require_current()
    except StorageError as error:
        logger.warning("not ready: %s", error)
        raise ServiceUnavailableError("Not ready: the audit database is unavailable.") from error
    return Response('{"status":"pass","checks":{"database":[{"status":"pass"}]}}', status=200, mimetype=_HEALTH)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of every worker of this instance.

    Raises:
        AuthenticationError: 401, ``CDS_METRICS_TOKEN`` is set and the bearer token does not match.
    """
    g.metric_hook = "metrics"
    token = runtime_of(current_app).settings.metrics_token
    if token is not None:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise AuthenticationError("metrics: missing or wrong bearer token")
    body, content_type = metrics_exposition()
    return Response(body, status=200, content_type=content_type)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document built at start-up (``cds_service.wire.openapi.openapi_document``)."""
    g.metric_hook = "openapi"
    document = current_app.extensions["cds_openapi"]
    return Response(document, status=200, mimetype="application/json")
