"""The Flask application factory (``create_app``) and the WSGI entry point for gunicorn (``app:create_app()``).

``runtime_of(app)`` (re-exported from ``cds_service.runtime``) returns what the app was built with.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Config, Flask

from cds_service import hooks
from cds_service.problems import register_error_handlers
from cds_service.runtime import build_runtime, runtime_of
from cds_service.settings import DEFAULTS, Settings
from fhir_mappers import code_table

__all__ = ["create_app", "load_config", "load_settings", "runtime_of"]

logger = logging.getLogger(__name__)


def load_config(test_config: Mapping[str, Any] | None = None) -> Config:
    """Return the configuration: defaults, then ``CDS_*`` environment variables, then ``test_config``.

    Defaults are ``cds_service.settings.DEFAULTS``.
    """
    config = Config(".")
    config.from_mapping({**DEFAULTS, "GUIDELINE": {}})
    config.from_prefixed_env("CDS")
    if test_config is not None:
        config.update(test_config)
    return config


def load_settings(test_config: Mapping[str, Any] | None = None) -> Settings:
    """Validate the configuration without building an app (the CLI's offline commands).

    Raises:
        SettingsError: an invalid setting.
    """
    return Settings.from_config(load_config(test_config))


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the CDS Hooks service.

    Raises:
        SettingsError: an invalid setting (the service does not start).
        StorageError: the database is unreachable or not migrated.
        CodeTableError: a malformed code table.
    """
    _configure_logging()
    app = Flask("cds_service")
    app.config.update(load_config(test_config))
    settings = Settings.from_config(app.config)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_CONTENT_LENGTH"])
    runtime = build_runtime(settings)
    app.extensions["cds_runtime"] = runtime
    code_table()  # load and validate once, at start-up
    _announce(settings)
    if settings.cors_origins:
        from flask_cors import CORS

        CORS(
            app,
            origins=list(settings.cors_origins),
            allow_headers=["Content-Type", "Authorization"],
            methods=["GET", "POST", "OPTIONS"],
            max_age=600,
        )
    app.register_blueprint(hooks.bp)
    register_error_handlers(app)
    return app


def _announce(settings: Settings) -> None:
    if not settings.auth_required:
        logger.warning("*** CDS_AUTH=off: ANY caller is trusted. Local trials only; never expose this port. ***")
    if settings.trusts_sandbox:
        logger.warning("CDS_TRUST_SANDBOX: the CDS Hooks Sandbox issuer is trusted (its key is public; testers only)")
    if settings.fixed_date is not None:
        logger.warning("CDS_FIXED_DATE=%s: evaluating as of a fixed date (testing only)", settings.fixed_date)
    if settings.cors_origins:
        logger.warning("CORS allowed for origins %s", ", ".join(settings.cors_origins))
    if settings.fhir.allow_http:
        logger.warning("CDS_FHIR_ALLOW_HTTP: plain-http FHIR servers allowed (local testing only)")
    if not settings.fhir.allowlist:
        logger.info("no CDS_FHIR_SERVER_ALLOWLIST: missing prefetch is answered 412, never fetched")


def _configure_logging() -> None:
    """Send the service's INFO lines (service, hookInstance, outcome; never patient ids or tokens) to stderr."""
    service_logger = logging.getLogger("cds_service")
    if not service_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        service_logger.addHandler(handler)
        service_logger.setLevel(logging.INFO)
