"""Settings (``cds_service.settings``): every kind of value good and bad, every refused combination both ways.

Each value is read both ways the service reads settings: from the environment by pydantic-settings
(``Settings.from_environment``) and through the Flask config the app builds (``load_settings``: Flask decodes
``CDS_*`` values as JSON first, so ``"400"`` arrives as 400). A bad value is refused with one line: the variable,
what it must be, and what it got (never for a secret).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cds_service.ehr.fhir_client import FhirClientSettings
from cds_service.http.app import load_settings
from cds_service.settings import DEFAULTS, RULES, VARIABLES, Settings, SettingsError
from guideline.parameters import DEFAULT_PARAMETERS

URL_KIND = "an http(s) base URL without query or fragment, e.g. https://cds.example.dk/igrt"
ISSUER = "https://ehr.example.dk"
KEY = "k" * 32


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """An environment without settings of its own: authentication off, nothing else set."""
    for name in list(os.environ):
        if name.startswith("CDS_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CDS_AUTH", "off")
    yield monkeypatch


def value_of(settings: Settings, name: str) -> Any:
    variable = next(v for v in VARIABLES if v.name == name)
    owner = getattr(settings, variable.block) if variable.block else settings
    return getattr(owner, variable.field_name)


def as_flask_reads_it(text: str) -> Any:
    """``flask.Config.from_prefixed_env``: the value as JSON if it is JSON, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


READERS = {"environment": Settings.from_environment, "flask": load_settings}


# --- good values --------------------------------------------------------------------------------------------------

GOOD = [  # (variable, as written in the environment, as read)
    # true or false
    ("CDS_FHIR_ALLOW_HTTP", "true", True),
    ("CDS_FHIR_ALLOW_HTTP", "1", True),
    ("CDS_FHIR_ALLOW_HTTP", "Yes", True),
    ("CDS_FHIR_ALLOW_HTTP", "on", True),
    ("CDS_FHIR_ALLOW_HTTP", "false", False),
    ("CDS_FHIR_ALLOW_HTTP", "0", False),
    ("CDS_FHIR_ALLOW_HTTP", "off", False),
    ("CDS_FHIR_ALLOW_HTTP", "", False),
    # positive numbers
    ("CDS_LATENCY_BUDGET_MS", "400", 400),
    ("CDS_LATENCY_BUDGET_MS", " 250 ", 250),
    ("CDS_FHIR_MAX_PAGES", "1", 1),
    ("CDS_FHIR_CONNECT_TIMEOUT", "0.5", 0.5),
    ("CDS_FHIR_CONNECT_TIMEOUT", "2", 2.0),
    # lists
    ("CDS_CORS_ORIGINS", "https://a.example,https://b.example", ("https://a.example", "https://b.example")),
    ("CDS_CORS_ORIGINS", " https://a.example , ", ("https://a.example",)),
    ("CDS_CORS_ORIGINS", '["https://a.example"]', ("https://a.example",)),
    ("CDS_CORS_ORIGINS", "", ()),
    ("CDS_OPTIONAL_PREFETCH", "procedures", frozenset({"procedures"})),
    ("CDS_OPTIONAL_PREFETCH", "", frozenset()),
    # URLs
    ("CDS_PUBLIC_BASE_URL", "https://cds.example.dk/igrt/", "https://cds.example.dk/igrt"),
    ("CDS_PUBLIC_BASE_URL", "http://localhost:8080", "http://localhost:8080"),
    ("CDS_PUBLIC_BASE_URL", "", None),
    (
        "CDS_FHIR_SERVER_ALLOWLIST",
        "https://fhir.example.dk/R4/,https://b.example/fhir",
        ("https://fhir.example.dk/R4", "https://b.example/fhir"),
    ),
    ("CDS_FHIR_SERVER_ALLOWLIST", "", ()),
    ("CDS_GUIDELINE_URL", "https://example.org/page?id=1", "https://example.org/page?id=1"),
    # time zone
    ("CDS_TIMEZONE", "UTC", ZoneInfo("UTC")),
    ("CDS_TIMEZONE", "America/New_York", ZoneInfo("America/New_York")),
    # language and other choices
    ("CDS_LANGUAGE", "da", "da"),
    ("CDS_LANGUAGE", "EN", "en"),
    ("CDS_AUTH", "OFF", "off"),
    ("CDS_LOG_LEVEL", "debug", "DEBUG"),
    ("CDS_LOG_FORMAT", "text", "text"),
    ("CDS_LOG_FORMAT", "", None),
    # date
    ("CDS_FIXED_DATE", "2026-11-20", date(2026, 11, 20)),
    ("CDS_FIXED_DATE", "20261120", date(2026, 11, 20)),  # Flask reads it as a number; ISO 8601 basic format
    ("CDS_FIXED_DATE", "", None),
    # secrets, JSON, databases
    ("CDS_AUDIT_HMAC_KEY", KEY, KEY),
    ("CDS_AUDIT_HMAC_KEY", "1" * 32, "1" * 32),  # Flask reads it as a number
    ("CDS_METRICS_TOKEN", "t" * 16, "t" * 16),
    (
        "CDS_TRUSTED_ISSUERS",
        json.dumps({ISSUER: {"jwks_url": "https://keys.example"}}),
        {ISSUER: {"jwks_url": "https://keys.example"}},
    ),
    ("CDS_DATABASE_URL", "postgresql://cds@db/cds", "postgresql://cds@db/cds"),
    ("CDS_DATABASE_URL", "", "sqlite:///var/sid-igrt.sqlite3"),
]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("variable", "text", "expected"), GOOD, ids=[f"{v}={t!r}" for v, t, _ in GOOD])
def test_good_values_are_read(
    environment: pytest.MonkeyPatch, reader: str, variable: str, text: str, expected: Any
) -> None:
    environment.setenv(variable, text)
    assert value_of(READERS[reader](), variable) == expected


# --- bad values ---------------------------------------------------------------------------------------------------

BAD = [  # (variable, as written in the environment, what it must be)
    ("CDS_FHIR_ALLOW_HTTP", "maybe", "true or false"),
    ("CDS_TRUST_SANDBOX", "2", "true or false"),
    ("CDS_LATENCY_BUDGET_MS", "abc", "a positive whole number"),
    ("CDS_LATENCY_BUDGET_MS", "0", "a positive whole number"),
    ("CDS_LATENCY_BUDGET_MS", "-5", "a positive whole number"),
    ("CDS_LATENCY_BUDGET_MS", "1.5", "a positive whole number"),
    ("CDS_MAX_CONTENT_LENGTH", "10m", "a positive whole number"),
    ("CDS_FHIR_MAX_PAGES", "", "a positive whole number"),
    ("CDS_FHIR_BUDGET_SECONDS", "0", "a positive number"),
    ("CDS_FHIR_READ_TIMEOUT", "-1", "a positive number"),
    ("CDS_FHIR_READ_TIMEOUT", "nan", "a positive number"),
    ("CDS_FHIR_READ_TIMEOUT", "soon", "a positive number"),
    ("CDS_CORS_ORIGINS", '["https://a.example", 1]', "a comma-separated list"),
    ("CDS_CORS_ORIGINS", "[https://a.example", "a comma-separated list"),
    ("CDS_PUBLIC_BASE_URL", "cds.example.dk", URL_KIND),
    ("CDS_PUBLIC_BASE_URL", "ftp://cds.example.dk", URL_KIND),
    ("CDS_PUBLIC_BASE_URL", "https://cds.example.dk/?tenant=a", URL_KIND),
    ("CDS_PUBLIC_BASE_URL", "https://cds.example.dk/#top", URL_KIND),
    ("CDS_GUIDELINE_URL", "medicinraadet.dk", "an http(s) URL"),
    ("CDS_TIMEZONE", "Mars/Base", "an IANA time zone, e.g. Europe/Copenhagen"),
    ("CDS_TIMEZONE", "", "an IANA time zone, e.g. Europe/Copenhagen"),
    ("CDS_TIMEZONE", "../../etc/passwd", "an IANA time zone, e.g. Europe/Copenhagen"),
    ("CDS_LANGUAGE", "fr", "en or da"),
    ("CDS_LANGUAGE", "", "en or da"),
    ("CDS_AUTH", "maybe", "required or off"),
    ("CDS_LOG_FORMAT", "xml", "json or text"),
    ("CDS_LOG_LEVEL", "chatty", "DEBUG, INFO, WARNING or ERROR"),
    ("CDS_FIXED_DATE", "yesterday", "a date, YYYY-MM-DD"),
    ("CDS_FIXED_DATE", "2026-13-01", "a date, YYYY-MM-DD"),
    ("CDS_FIXED_DATE", "2026-11-20T10:00", "a date, YYYY-MM-DD"),
    ("CDS_TRUSTED_ISSUERS", "[1]", "a JSON object"),
]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("variable", "text", "kind"), BAD, ids=[f"{v}={t!r}" for v, t, _ in BAD])
def test_a_bad_value_is_refused_in_one_line_naming_the_variable_and_what_it_must_be(
    environment: pytest.MonkeyPatch, reader: str, variable: str, text: str, kind: str
) -> None:
    environment.setenv(variable, text)
    with pytest.raises(SettingsError) as refused:
        READERS[reader]()
    got = as_flask_reads_it(text) if reader == "flask" else text
    assert str(refused.value) == f"{variable}: must be {kind}, not {got!r}"


SECRETS = [("CDS_AUDIT_HMAC_KEY", 32), ("CDS_METRICS_TOKEN", 16)]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("variable", "length"), SECRETS)
def test_a_short_secret_is_refused_without_repeating_it(
    environment: pytest.MonkeyPatch, reader: str, variable: str, length: int
) -> None:
    environment.setenv(variable, "s3cr3t-" + "x" * (length - 8))
    with pytest.raises(SettingsError) as refused:
        READERS[reader]()
    assert str(refused.value) == f"{variable}: must be at least {length} characters"


def test_secrets_are_not_in_the_settings_repr(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CDS_AUDIT_HMAC_KEY", KEY)
    environment.setenv("CDS_METRICS_TOKEN", "metrics-token-0123456789")
    text = repr(Settings.from_environment())
    assert KEY not in text and "metrics-token" not in text


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("variable", "text", "line"),
    [
        (
            "CDS_GUIDELINE__ON_IGRT_RECENT_DAYS",
            "x",
            "CDS_GUIDELINE__ON_IGRT_RECENT_DAYS: must be a whole number from 28 to 180, not 'x'",
        ),
        ("CDS_GUIDELINE__NOPE", "1", "CDS_GUIDELINE__NOPE: not a guideline setting (see docs/configuration.md)"),
        ("CDS_GUIDELINE__ADULT_AGE_YEARS", "16", "CDS_GUIDELINE__ADULT_AGE_YEARS: fixed by the guideline text"),
        ("CDS_GUIDELINE__FOLLOW_UP_CALENDAR_MONTHS", "[3]", "CDS_GUIDELINE__FOLLOW_UP_CALENDAR_MONTHS: fixed by"),
        ("CDS_OPTIONAL_PREFETCH", "procedures,x", "CDS_OPTIONAL_PREFETCH: unknown prefetch key 'x' (keys: patient, "),
        ("CDS_TRUSTED_ISSUERS", "{not json", "CDS_TRUSTED_ISSUERS: must be a JSON object"),
        ("CDS_TRUSTED_ISSUERS", json.dumps({ISSUER: {}}), f"CDS_TRUSTED_ISSUERS: issuer {ISSUER}: give jwks_file"),
        ("CDS_TRUSTED_ISSUERS", json.dumps({ISSUER: "k"}), f"CDS_TRUSTED_ISSUERS: issuer {ISSUER}: must be an object"),
        ("CDS_TRUSTED_ISSUERS_FILE", "/nonexistent/issuers.json", "CDS_TRUSTED_ISSUERS_FILE: cannot read /nonexistent"),
        (
            "CDS_FHIR_SERVER_ALLOWLIST",
            "https://fhir.example.dk,fhir.example.dk",  # the entry that is not a URL is named
            "CDS_FHIR_SERVER_ALLOWLIST: must be http(s) base URLs without query or fragment, comma-separated, not "
            "'fhir.example.dk'",
        ),
    ],
)
def test_settings_with_their_own_words(
    environment: pytest.MonkeyPatch, reader: str, variable: str, text: str, line: str
) -> None:
    environment.setenv(variable, text)
    with pytest.raises(SettingsError) as refused:
        READERS[reader]()
    assert str(refused.value).startswith(line) and "\n" not in str(refused.value)


def test_interpretation_settings_are_read_by_name(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CDS_GUIDELINE__ON_IGRT_RECENT_DAYS", "35")
    environment.setenv("CDS_GUIDELINE__EMERGENCY_ENCOUNTER_COUNTS_AS_ADMISSION", "true")
    for reader in READERS.values():
        parameters = reader().parameters
        assert (parameters.on_igrt_recent_days, parameters.emergency_encounter_counts_as_admission) == (35, True)
        assert parameters.igg_washout_days == DEFAULT_PARAMETERS.igg_washout_days


def test_every_bad_setting_has_its_own_line_in_the_order_of_the_model(environment: pytest.MonkeyPatch) -> None:
    for variable, text in [("CDS_FHIR_MAX_PAGES", "0"), ("CDS_LANGUAGE", "fr"), ("CDS_TIMEZONE", "Mars/Base")]:
        environment.setenv(variable, text)
    with pytest.raises(SettingsError) as refused:
        Settings.from_environment()
    assert str(refused.value).splitlines() == [
        "CDS_LANGUAGE: must be en or da, not 'fr'",
        "CDS_TIMEZONE: must be an IANA time zone, e.g. Europe/Copenhagen, not 'Mars/Base'",
        "CDS_FHIR_MAX_PAGES: must be a positive whole number, not '0'",
    ]


def test_values_from_a_flask_config_may_be_python_values() -> None:
    settings = Settings.from_config(
        {
            "AUTH": "off",
            "FHIR_ALLOW_HTTP": True,
            "FHIR_MAX_PAGES": 5.0,
            "CORS_ORIGINS": ["https://a.example"],
            "FIXED_DATE": date(2026, 1, 2),
            "TIMEZONE": ZoneInfo("UTC"),
            "GUIDELINE": {"on_igrt_recent_days": 35},
            "TESTING": True,  # Flask's own keys are not settings
        }
    )
    assert (settings.ehr.allow_http, settings.ehr.max_pages, settings.cors_origins) == (True, 5, ("https://a.example",))
    assert (settings.fixed_date, settings.tz, settings.parameters.on_igrt_recent_days) == (
        date(2026, 1, 2),
        ZoneInfo("UTC"),
        35,
    )
    with pytest.raises(SettingsError, match=r"^CDS_FHIR_MAX_PAGES: must be a positive whole number, not 5.5$"):
        Settings.from_config({"AUTH": "off", "FHIR_MAX_PAGES": 5.5})
    with pytest.raises(SettingsError, match=r"^CDS_FHIR_ALLOW_HTTP: must be true or false, not \['x'\]$"):
        Settings.from_config({"AUTH": "off", "FHIR_ALLOW_HTTP": ["x"]})


# --- where settings come from -------------------------------------------------------------------------------------


def test_the_environment_and_the_flask_config_read_the_same_settings(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    issuers = tmp_path / "issuers.json"
    issuers.write_text(json.dumps({"https://other.example": {"jku": ["https://other.example/jwks"]}}), "utf-8")
    for variable, text in {
        "CDS_AUTH": "required",
        "CDS_PUBLIC_BASE_URL": "https://cds.example.dk/igrt",
        "CDS_TRUSTED_ISSUERS": json.dumps({ISSUER: {"jwks_url": "https://keys.example"}}),
        "CDS_TRUSTED_ISSUERS_FILE": str(issuers),
        "CDS_AUDIT_HMAC_KEY": KEY,
        "CDS_FHIR_SERVER_ALLOWLIST": "https://fhir.example.dk/R4",
        "CDS_FHIR_MAX_PAGES": "4",
        "CDS_FHIR_READ_TIMEOUT": "1.5",
        "CDS_LATENCY_BUDGET_MS": "300",
        "CDS_LANGUAGE": "da",
        "CDS_TIMEZONE": "UTC",
        "CDS_FIXED_DATE": "2026-11-20",
        "CDS_OPTIONAL_PREFETCH": "procedures,immunizations",
        "CDS_GUIDELINE__ON_IGRT_RECENT_DAYS": "35",
        "CDS_LOG_LEVEL": "warning",
        "DATABASE_URL": "sqlite:///tmp/a.sqlite3",
    }.items():
        environment.setenv(variable, text)
    from_environment = Settings.from_environment()
    assert from_environment == load_settings()
    assert set(from_environment.auth.trusted_issuers) == {ISSUER, "https://other.example"}


def test_the_database_url_is_cds_database_url_then_database_url_then_the_default(
    environment: pytest.MonkeyPatch,
) -> None:
    for reader in READERS.values():
        assert reader().audit.database_url == "sqlite:///var/sid-igrt.sqlite3"
    environment.setenv("DATABASE_URL", "postgresql://platform@db/cds")
    for reader in READERS.values():
        assert reader().audit.database_url == "postgresql://platform@db/cds"
    environment.setenv("CDS_DATABASE_URL", "postgresql://ours@db/cds")
    for reader in READERS.values():
        assert reader().audit.database_url == "postgresql://ours@db/cds"
    assert load_settings({"DATABASE_URL": "sqlite:///test.sqlite3"}).audit.database_url == "sqlite:///test.sqlite3"


def test_a_test_config_overrides_the_environment_and_none_means_unset(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CDS_AUDIT_HMAC_KEY", KEY)
    environment.setenv("CDS_LANGUAGE", "da")
    settings = load_settings({"LANGUAGE": "en", "AUDIT_HMAC_KEY": None})
    assert (settings.language, settings.audit_hmac_key) == ("en", None)


def test_a_setting_in_a_block_keeps_its_flat_variable(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CDS_EHR__MAX_PAGES", "3")  # not a variable of the service
    environment.setenv("CDS_FHIR_MAX_PAGES", "4")
    assert Settings.from_environment().ehr.max_pages == 4


# --- defaults -----------------------------------------------------------------------------------------------------


def test_the_defaults_are_the_ones_the_service_always_had() -> None:
    settings = Settings.from_config({"AUTH": "off"})
    assert settings.ehr.client == FhirClientSettings()  # the FHIR client's own defaults agree
    assert (settings.tz, settings.language, settings.fixed_date) == (ZoneInfo("Europe/Copenhagen"), "en", None)
    assert settings.optional_prefetch == {"medicationStatements", "procedures", "immunizations"}
    assert settings.parameters == DEFAULT_PARAMETERS and settings.cors_origins == ()
    assert (settings.latency_budget, settings.large_request_bytes, settings.max_content_length) == (
        0.4,
        1024 * 1024,
        10 * 1024 * 1024,
    )
    assert settings.metrics_token is None and (settings.log_format, settings.log_level) == (None, "INFO")
    auth = settings.auth
    assert (auth.public_base_url, auth.trust_sandbox, dict(auth.trusted_issuers)) == (None, False, {})
    assert (auth.jwt_leeway_seconds, auth.jwt_max_lifetime_seconds, auth.jwks_cache_seconds) == (30, 3600, 3600)
    assert (settings.audit.database_url, settings.audit_hmac_key) == ("sqlite:///var/sid-igrt.sqlite3", None)
    assert DEFAULTS["AUTH"] == "required" and DEFAULTS["MAX_CONTENT_LENGTH"] == 10 * 1024 * 1024


def test_the_flask_defaults_are_the_field_defaults() -> None:
    assert set(DEFAULTS) == {v.config_key for v in VARIABLES}
    assert Settings.from_config({**DEFAULTS, "AUTH": "off"}) == Settings.from_config({"AUTH": "off"})


def test_the_derived_attributes_read_their_blocks() -> None:
    settings = Settings.from_config(
        {
            "AUTH": "off",
            "AUDIT_HMAC_KEY": KEY,
            "PUBLIC_BASE_URL": "https://cds.example.dk",
            "TRUST_SANDBOX": True,
            "FIXED_DATE": "2026-11-20",
            "LATENCY_BUDGET_MS": 250,
        }
    )
    assert settings.auth.required is False and settings.auth.public_base_url == "https://cds.example.dk"
    assert settings.auth.trusts_sandbox and settings.audit_hmac_key == KEY.encode()
    assert settings.ehr.client == FhirClientSettings(**settings.ehr.model_dump())
    assert (settings.today(), settings.latency_budget) == (date(2026, 11, 20), 0.25)


# --- refused combinations -----------------------------------------------------------------------------------------

PRODUCTION = {
    "AUTH": "required",
    "TRUSTED_ISSUERS": {ISSUER: {"jwks_url": "https://keys.example/jwks.json"}},
    "PUBLIC_BASE_URL": "https://cds.example.dk/igrt",
    "AUDIT_HMAC_KEY": KEY,
    "DATABASE_URL": "postgresql://cds@db/cds",
}
"""A configuration every rule accepts."""

SMART = {"SMART_CLIENT_ID": "igrt", "FHIR_SERVER_ALLOWLIST": "https://ehr.example/fhir"}
"""The evidence app enabled as the settings require it (a client id and the FHIR servers whose launches count)."""
COMBINATIONS = [  # (the rule's first words, a configuration breaking only it, the same made safe)
    ("CDS_AUTH=required but no trusted issuers", {"TRUSTED_ISSUERS": None}, {"TRUSTED_ISSUERS": None, "AUTH": "off"}),
    ("CDS_AUTH=required needs CDS_AUDIT_HMAC_KEY", {"AUDIT_HMAC_KEY": None}, {"AUDIT_HMAC_KEY": None, "AUTH": "off"}),
    ("CDS_CORS_ORIGINS=* is for local trials", {"CORS_ORIGINS": "*"}, {"CORS_ORIGINS": "*", "AUTH": "off"}),
    (
        "CDS_CORS_ORIGINS=* is for local trials",
        {"CORS_ORIGINS": "https://ehr.example,*"},
        {"CORS_ORIGINS": "*", "TRUST_SANDBOX": True, "DATABASE_URL": "sqlite:///a.sqlite3"},
    ),
    (
        "CDS_AUTH=required needs CDS_PUBLIC_BASE_URL",
        {"PUBLIC_BASE_URL": None},
        {"PUBLIC_BASE_URL": None, "AUTH": "off"},
    ),
    (
        "CDS_TRUST_SANDBOX=true is for testers",
        {"TRUST_SANDBOX": True},
        {"TRUST_SANDBOX": True, "DATABASE_URL": "sqlite:///a.sqlite3"},
    ),
    (
        "CDS_TRUST_SANDBOX=true is for testers",
        {"TRUST_SANDBOX": "yes", "AUTH": "off", "DATABASE_URL": "postgresql+psycopg://cds@db/cds"},
        {"TRUST_SANDBOX": "no", "AUTH": "off", "DATABASE_URL": "postgresql+psycopg://cds@db/cds"},
    ),
    (
        "CDS_SMART_CLIENT_ID needs CDS_SMART_REDIRECT_URI",
        {**SMART, "AUTH": "off", "PUBLIC_BASE_URL": None},
        {
            **SMART,
            "AUTH": "off",
            "PUBLIC_BASE_URL": None,
            "SMART_REDIRECT_URI": "https://cds.example.dk/evidence/callback",
        },
    ),
    ("CDS_SMART_CLIENT_ID needs CDS_FHIR_SERVER_ALLOWLIST", {"SMART_CLIENT_ID": "igrt"}, SMART),
    (
        "CDS_SMART_COOKIE_SAMESITE=none needs",
        {"SMART_COOKIE_SAMESITE": "none", "SMART_COOKIE_SECURE": False},
        {"SMART_COOKIE_SAMESITE": "none"},
    ),
    (
        "CDS_SMART_COOKIE_SECURE=false is for local trials",
        {**SMART, "SMART_COOKIE_SECURE": False},
        {**SMART, "SMART_COOKIE_SECURE": False, "SMART_REDIRECT_URI": "http://127.0.0.1:8080/evidence/callback"},
    ),
]


@pytest.mark.parametrize(
    ("rule", "broken", "safe"), COMBINATIONS, ids=[f"{c[0]}-{i}" for i, c in enumerate(COMBINATIONS)]
)
def test_an_unsafe_combination_is_refused_and_the_safe_one_accepted(
    rule: str, broken: dict[str, Any], safe: dict[str, Any]
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_config({**PRODUCTION, **broken})
    (line,) = str(refused.value).splitlines()
    assert line.startswith(rule) and line in {r.refusal for r in RULES}
    Settings.from_config({**PRODUCTION, **safe})


def test_every_rule_is_tested_both_ways_and_production_is_accepted() -> None:
    assert {next(r.refusal for r in RULES if r.refusal.startswith(c[0])) for c in COMBINATIONS} == {
        r.refusal for r in RULES
    }
    settings = Settings.from_config(PRODUCTION)
    assert settings.auth.required and not settings.auth.trusts_sandbox


def test_every_rule_broken_at_once_is_one_line_each_in_order() -> None:
    broken = {"AUTH": "required", "TRUST_SANDBOX": True, "CORS_ORIGINS": "*", "DATABASE_URL": "postgresql://db/cds"}
    with pytest.raises(SettingsError) as refused:
        Settings.from_config(broken)
    no_key, no_url, sandbox = (RULES[1], RULES[3], RULES[4])  # the Sandbox is a trusted issuer, and allows CORS *
    assert str(refused.value).splitlines() == [no_key.refusal, no_url.refusal, sandbox.refusal]
    with pytest.raises(SettingsError) as refused:
        Settings.from_config({"AUTH": "required", "CORS_ORIGINS": "*"})
    assert str(refused.value).splitlines() == [rule.refusal for rule in RULES[:4]]
