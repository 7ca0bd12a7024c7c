"""What a worker process holds for its lifetime: settings, audit store, decision writer, authenticator and evaluator.

Also the large-request gate (``cds_service.http.large_requests``).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

import requests

from cds_service.audit.queue import DecisionWriter
from cds_service.auth.client_jwt import ClientAuthenticator, FallbackReplayGuard, KeySetCache
from cds_service.ehr.fhir_client import FhirClient
from cds_service.http.evaluator import Evaluator
from cds_service.http.large_requests import LargeRequestGate
from cds_service.settings import Settings
from storage import AuditStore, Database, DatabaseUnreachableError, Pseudonymizer

logger = logging.getLogger(__name__)

_EVALUATION_THREADS = 8
"""Evaluations at once per process: more than gunicorn's request threads, so that evaluations abandoned at the
latency budget (they run to completion) do not hold up the next requests."""


@dataclass(frozen=True)
class Runtime:
    """The service's long-lived parts. ``authenticator`` is ``None`` when ``CDS_AUTH=off``."""

    settings: Settings
    store: AuditStore
    decisions: DecisionWriter
    pseudonymizer: Pseudonymizer
    authenticator: ClientAuthenticator | None
    fhir_client: FhirClient
    evaluator: Evaluator
    large_requests: LargeRequestGate


def build_runtime(settings: Settings) -> Runtime:
    """Connect storage and build the authenticator and FHIR client.

    SQLite databases are migrated here (embedded default: ``make serve`` needs no setup); other databases must
    already be at the newest revision (``cds-service db upgrade``; ``cds-service serve`` runs it first). A database
    that cannot be reached at this moment is logged, not fatal (see ``cds_service.audit.queue``).

    Raises:
        StorageError: the database is not at the newest revision, or SQLite cannot be migrated.
    """
    database = Database(settings.audit.database_url)
    if database.is_sqlite:
        database.upgrade()
    else:
        try:
            database.require_current()
        except DatabaseUnreachableError as error:
            # A worker (re)started by gunicorn during a database outage must still serve: decisions are queued and
            # readiness answers 503 until the database is back. A wrong schema still refuses to start.
            # (`cds-service serve` migrates before any worker starts, so a misconfigured URL fails there.)
            logger.error("database unreachable at start-up (%s); serving with decisions queued", error)
    store = AuditStore(database)
    key = settings.audit_hmac_key
    if key is None:
        logger.warning("CDS_AUDIT_HMAC_KEY is not set: a random key for this process (audit pseudonyms not linkable)")
        key = secrets.token_bytes(32)
    authenticator = None
    auth = settings.auth
    if auth.required:
        key_sets = KeySetCache(requests.Session(), ttl=float(auth.jwks_cache_seconds))
        key_sets.warm([i.jwks_url for i in auth.trusted_issuers.values() if i.jwks_url])
        authenticator = ClientAuthenticator(
            auth.trusted_issuers,
            key_sets=key_sets,
            replay_guard=FallbackReplayGuard(
                lambda iss, jti, expires_at: store.claim_jti(iss, jti, expires_at=expires_at)
            ),
            leeway_seconds=auth.jwt_leeway_seconds,
            max_lifetime_seconds=auth.jwt_max_lifetime_seconds,
        )
    return Runtime(
        settings=settings,
        store=store,
        decisions=DecisionWriter(store),
        pseudonymizer=Pseudonymizer(key),
        authenticator=authenticator,
        fhir_client=FhirClient(settings.fhir_client),
        evaluator=Evaluator(threads=_EVALUATION_THREADS),
        large_requests=LargeRequestGate(settings.large_request_bytes),
    )


def runtime_of(app: Any) -> Runtime:
    """Return the runtime ``create_app`` built for a Flask ``app`` (``app.extensions["cds_runtime"]``)."""
    value = app.extensions["cds_runtime"]
    assert isinstance(value, Runtime)
    return value
