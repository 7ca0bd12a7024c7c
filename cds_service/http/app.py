"""The Flask application factory (``create_app``) and the WSGI entry point for gunicorn (``app:create_app()``).

``runtime_of(app)`` (re-exported from ``cds_service.http.runtime``) returns what the app was built with.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import orjson
from flask import Flask, Response, g, request

from cds_service.cards.i18n import LANGUAGES, translator
from cds_service.http import hooks, operations, smart_launch
from cds_service.http.json_provider import OrjsonProvider
from cds_service.http.operation_outcome import register_error_handlers
from cds_service.http.runtime import build_runtime, runtime_of
from cds_service.observability import HOOK_INSTANCE, REQUEST_ID, REQUEST_SECONDS, configure_logging, request_id_from
from cds_service.settings import Settings
from cds_service.settings.loading import load_config, load_settings
from cds_service.wire.openapi import openapi_document
from fhir_mappers import code_table

__all__ = ["create_app", "load_config", "load_settings", "runtime_of"]

logger = logging.getLogger(__name__)
request_logger = logging.getLogger("cds_service.requests")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the CDS Hooks service.

    Raises:
        SettingsError: an invalid setting (the service does not start).
        StorageError: the database is not migrated (an unreachable PostgreSQL is logged, not fatal).
        CodeTableError: a malformed code table.
    """
    configure_logging()
    app = Flask("cds_service")
    app.json = OrjsonProvider(app)
    app.config.update(load_config(test_config))
    settings = Settings.from_config(app.config)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_CONTENT_LENGTH"])
    runtime = build_runtime(settings)
    app.extensions["cds_runtime"] = runtime
    code_table()  # load and validate once, at start-up
    for language in LANGUAGES:
        translator(language)  # read the catalogs now, not on a first call that has a latency budget
    if os.environ.get(ANNOUNCED_ENV) != "1":  # `cds-service serve` said it once for the instance
        announce(settings)
    if settings.cors_origins:
        from flask_cors import CORS

        CORS(
            app,
            origins=list(settings.cors_origins),
            allow_headers=["Content-Type", "Authorization"],
            methods=["GET", "POST", "OPTIONS"],
            max_age=600,
            always_send=False,  # CORS headers only on CORS requests (those with an Origin)
        )

        @app.after_request
        def _vary_on_origin(response: Response) -> Response:
            # Whether CORS headers are sent depends on Origin: a shared cache must not reuse one answer for another.
            response.vary.add("Origin")
            return response

    app.extensions["cds_openapi"] = orjson.dumps(
        openapi_document(auth_required=settings.auth.required, server_url=settings.auth.public_base_url)
    )
    app.register_blueprint(hooks.bp)
    app.register_blueprint(operations.bp)
    smart_launch.init_app(app)  # the evidence page's SMART EHR launch: /evidence/launch, /evidence/callback
    register_error_handlers(app)
    _observe_requests(app)
    return app


_UNLOGGED = frozenset({"health", "metrics", "openapi"})
"""Request kinds without an access-log line (probes and scrapes, every few seconds)."""


def _observe_requests(app: Flask) -> None:
    """Give every request an id, time it, and write one log line and one histogram sample per request.

    The line (``cds_service.requests``) gives method, path, status and ``duration_ms``; for a hook call also the
    service and the outcome (``Answer.described``), which the invocation no longer logs on a line of its own.
    """

    @app.before_request
    def _start() -> None:
        g.started = time.monotonic()
        g.metric_hook = "other"
        g.request_id = request_id_from(request.headers.get("X-Request-ID"))
        g.context_tokens = (REQUEST_ID.set(g.request_id), HOOK_INSTANCE.set(None))

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.get("started")
        if started is None:  # the request failed before _start (cannot happen with Flask's ordering; be safe)
            return response
        elapsed = time.monotonic() - started
        response.headers["X-Request-ID"] = g.request_id
        REQUEST_SECONDS.labels(g.metric_hook, str(response.status_code)).observe(elapsed)
        if g.metric_hook not in _UNLOGGED and request_logger.isEnabledFor(logging.INFO):
            fields = {
                "method": request.method,
                "path": request.path[:100],
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            }
            access = g.get("access_fields")
            if access is not None:  # a hook call's service and outcome (cds_service.http.hooks)
                fields.update(access)
            request_logger.info("request", extra=fields)
        return response

    @app.teardown_request
    def _reset(_error: BaseException | None) -> None:
        tokens = g.pop("context_tokens", None)
        if tokens is not None:
            REQUEST_ID.reset(tokens[0])
            HOOK_INSTANCE.reset(tokens[1])


ANNOUNCED_ENV = "CDS_STARTUP_ANNOUNCED"
"""Set by ``cds-service serve`` after it logged the start-up warnings, so gunicorn's workers do not repeat them."""


def announce(settings: Settings) -> None:
    """Log the start-up warnings of these settings (auth off, Sandbox trusted, fixed date, CORS, plain-http FHIR)."""
    if not settings.auth.required:
        logger.warning("*** CDS_AUTH=off: ANY caller is trusted. Local trials only; never expose this port. ***")
    if settings.auth.trusts_sandbox:
        logger.warning("CDS_TRUST_SANDBOX: the CDS Hooks Sandbox issuer is trusted (its key is public; testers only)")
    if settings.fixed_date is not None:
        logger.warning("CDS_FIXED_DATE=%s: evaluating as of a fixed date (testing only)", settings.fixed_date)
    if settings.cors_origins:
        logger.warning("CORS allowed for origins %s", ", ".join(settings.cors_origins))
    if settings.ehr.allow_http:
        logger.warning("CDS_FHIR_ALLOW_HTTP: plain-http FHIR servers allowed (local testing only)")
    if not settings.ehr.allowlist:
        logger.info("no CDS_FHIR_SERVER_ALLOWLIST: missing prefetch is answered 412, never fetched")
