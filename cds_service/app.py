"""The Flask application factory (``create_app``) and the WSGI entry point for gunicorn (``app:create_app()``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from cds_service import hooks
from cds_service.problems import register_error_handlers
from cds_service.settings import DEFAULTS, Settings
from fhir_mappers import code_table

logger = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the CDS Hooks service.

    Configuration precedence: defaults (``cds_service.settings.DEFAULTS``), then ``CDS_*`` environment variables,
    then ``test_config``.

    Raises:
        SettingsError: an invalid setting (the service does not start).
        CodeTableError: a malformed code table.
    """
    _configure_logging()
    app = Flask("cds_service")
    app.config.from_mapping({**DEFAULTS, "GUIDELINE": {}})
    app.config.from_prefixed_env("CDS")
    if test_config is not None:
        app.config.update(test_config)
    settings = Settings.from_config(app.config)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_CONTENT_LENGTH"])
    app.extensions["cds_service"] = settings
    code_table()  # load and validate once, at start-up
    if settings.fixed_date is not None:
        logger.warning("CDS_FIXED_DATE=%s: evaluating as of a fixed date (testing only)", settings.fixed_date)
    if settings.cors_origins:
        from flask_cors import CORS

        CORS(app, origins=list(settings.cors_origins), allow_headers=["Content-Type", "Authorization"])
        logger.warning("CORS allowed for origins %s", ", ".join(settings.cors_origins))
    app.register_blueprint(hooks.bp)
    register_error_handlers(app)
    return app


def _configure_logging() -> None:
    """Send the service's INFO lines (service, hookInstance, outcome; never patient ids or tokens) to stderr."""
    service_logger = logging.getLogger("cds_service")
    if not service_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        service_logger.addHandler(handler)
        service_logger.setLevel(logging.INFO)
