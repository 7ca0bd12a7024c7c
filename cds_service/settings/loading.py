"""Where the service's configuration comes from: defaults, then ``CDS_*`` environment variables, then a mapping.

``load_config`` gives the Flask ``Config`` the app is built with (``cds_service.http.app.create_app``);
``load_settings`` validates it without building an app, for the command line's offline commands (``cds-service
cohort``, ``evaluate``, ``explain`` ...), which so start without importing the web application.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Config

from cds_service.settings.model import DEFAULTS, Settings


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
