"""Deployment settings, read once at start-up from ``CDS_*`` environment variables (pydantic-settings).

Each setting is a field of ``Settings`` (``model``) or of one of its blocks (``blocks``: ``auth``, ``ehr``,
``audit``, ``smart``, ``bulk``) with its default and meaning; ``docs/configuration.md`` is generated from them
(``scripts/update_docs.py``). A bad value or an unsafe combination (``RULES``) stops the start with ``SettingsError``,
one line per problem naming the variable and what it must be (``values``).
"""

from cds_service.settings.blocks import AuditSettings, AuthSettings, EhrSettings
from cds_service.settings.bulk import BulkSettings
from cds_service.settings.model import DEFAULTS, VARIABLES, Settings
from cds_service.settings.rules import RULES, Rule
from cds_service.settings.smart import SmartSettings
from cds_service.settings.values import SettingsError
from cds_service.settings.variables import Variable

__all__ = [
    "DEFAULTS",
    "RULES",
    "VARIABLES",
    "AuditSettings",
    "AuthSettings",
    "BulkSettings",
    "EhrSettings",
    "Rule",
    "Settings",
    "SettingsError",
    "SmartSettings",
    "Variable",
]
