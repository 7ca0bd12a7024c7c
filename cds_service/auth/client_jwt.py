"""Trusting CDS clients: the signed JWT on every call (CDS Hooks 2.0.1 "Trusting CDS Clients").

A call carries ``Authorization: Bearer <JWT>``. The token is accepted only if all of these hold:

* header ``alg`` is ES384 or RS384 (``none`` and HMAC are refused), ``kid`` is present, ``typ`` (if sent) is JWT;
* ``iss`` is a configured trusted issuer;
* the key with ``kid`` comes from that issuer's JWKS (file or URL, cached) or from the header ``jku``, and a ``jku``
  is used only when it is on the issuer's allowlist;
* ES384 keys are P-384 and RS384 keys are at least 2048 bits;
* the signature verifies; ``aud`` equals the externally visible URL of the endpoint called; ``exp``, ``iat`` and
  ``jti`` are present, ``exp`` has not passed and ``iat`` is not in the future (both with the configured leeway),
  and ``exp - iat`` is at most the configured maximum lifetime;
* ``jti`` has not been seen from this issuer before it expired (a shared store, so all workers agree).

Any failure is a 401 with no detail (the reason is logged for the operator; never the token).
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from cds_service.observability import REPLAY_GUARD_DEGRADED
from cds_service.wire.errors import AuthenticationError
from storage import StorageError

logger = logging.getLogger(__name__)

ALGORITHMS = ("ES384", "RS384")
SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
SANDBOX_JWKS_FILE = Path(__file__).parent / "trust" / "cds-hooks-sandbox.jwks.json"

ReplayGuard = Callable[[str, str, datetime], bool]
"""``(iss, jti, expires_at) -> True`` if first seen (and now remembered), ``False`` if replayed."""


@dataclass(frozen=True)
class TrustedIssuer:
    """One client the service trusts, with where its signing keys come from.

    Attributes:
        issuer: the exact ``iss`` value.
        jwks: a JWK Set read at start-up (from ``jwks_file``), or ``None``.
        jwks_url: a JWK Set URL fetched and cached, or ``None``.
        jku_allowlist: header ``jku`` URLs this issuer may point to.
    """

    issuer: str
    jwks: Mapping[str, Any] | None = None
    jwks_url: str | None = None
    jku_allowlist: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, issuer: str, entry: Mapping[str, Any]) -> TrustedIssuer:
        """Read ``{"jwks_file": path, "jwks_url": url, "jku": [url, ...]}`` (at least one key source).

        Raises:
            ValueError: no key source, an unreadable JWKS file, or a JWKS without usable keys.
        """
        jwks = None
        if entry.get("jwks_file"):
            path = Path(str(entry["jwks_file"]))
            try:
                jwks = json.loads(path.read_text(encoding="utf-8"))
                jwt.PyJWKSet.from_dict(jwks)
            except (OSError, ValueError, jwt.PyJWTError) as error:
                raise ValueError(f"issuer {issuer}: cannot read JWKS file {path}: {error}") from error
        jku = entry.get("jku") or []
        jku_allowlist = (jku,) if isinstance(jku, str) else tuple(str(u) for u in jku)
        jwks_url = str(entry["jwks_url"]) if entry.get("jwks_url") else None
        if jwks is None and jwks_url is None and not jku_allowlist:
            raise ValueError(f"issuer {issuer}: give jwks_file, jwks_url or jku")
        return cls(issuer=issuer, jwks=jwks, jwks_url=jwks_url, jku_allowlist=jku_allowlist)


def sandbox_issuer() -> TrustedIssuer:
    """The CDS Hooks Sandbox (its private key is public: trust it for testers only)."""
    return TrustedIssuer.from_config(SANDBOX_ISSUER, {"jwks_file": str(SANDBOX_JWKS_FILE), "jku": [SANDBOX_JKU]})


@dataclass(frozen=True)
class ClientIdentity:
    """The authenticated caller: ``issuer`` (JWT ``iss``) and optional ``tenant``."""

    issuer: str
    tenant: str | None = None


@dataclass
class _KeySetState:
    """What is known of one JWK Set URL: its keys, when they were fetched, the last attempt, a fetch under way."""

    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float | None = None
    attempted_at: float | None = None
    fetching: threading.Event | None = None


@dataclass
class KeySetCache:
    """JWK Sets fetched by URL with ``requests``, cached for ``ttl`` seconds; never a global lock around I/O.

    * An unknown ``kid`` triggers a refetch (key rotation), and a failed fetch (timeout, 404, bad JSON) is
      remembered: either way at most one attempt per ``min_refresh`` seconds per URL, so tokens with random kids
      cannot make the service hammer the issuer, or a JWKS URL that answers 404 cost a fetch per forged token.
    * One fetch per URL at a time, without holding the lock that guards the cache: a JWKS URL that hangs holds one
      caller (bounded by ``timeout``), never the other URLs, health checks or discovery.
    * A caller that finds a fetch of its URL under way waits at most ``max_wait`` seconds for it, then answers with
      the keys it has (an unknown kid is then a 401).
    * ``warm(urls)`` fetches the issuers' keys at start-up, in the background.
    """

    session: requests.Session
    ttl: float = 3600.0
    min_refresh: float = 60.0
    timeout: tuple[float, float] = (2.0, 3.0)
    max_wait: float = 0.5
    clock: Callable[[], float] = time.monotonic
    _states: dict[str, _KeySetState] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, url: str, kid: str) -> jwt.PyJWK | None:
        """Return the key ``kid`` of the JWK Set at ``url``, or ``None``."""
        fetch = wait = None
        with self._lock:  # bookkeeping only: no I/O while it is held
            state = self._states.setdefault(url, _KeySetState())
            now = self.clock()
            if state.fetching is not None:
                wait = state.fetching
            elif self._due(state, kid, now):
                fetch = state.fetching = threading.Event()
                state.attempted_at = now
        if fetch is not None:
            try:
                self._refresh(url, state)
            finally:
                with self._lock:
                    state.fetching = None
                fetch.set()
        elif wait is not None:
            wait.wait(self.max_wait)
        return state.keys.get(kid)

    def warm(self, urls: Sequence[str]) -> None:
        """Fetch the JWK Sets at ``urls`` in a background thread (start-up), so the first calls find keys."""

        def fetch_all() -> None:
            for url in urls:
                self.key(url, "")

        threading.Thread(target=fetch_all, name="jwks-warm", daemon=True).start()

    def _due(self, state: _KeySetState, kid: str, now: float) -> bool:
        if state.attempted_at is None:
            return True
        since_attempt = now - state.attempted_at
        if since_attempt < self.min_refresh:
            return False
        stale = state.fetched_at is None or now - state.fetched_at >= self.ttl
        return stale or kid not in state.keys

    def _refresh(self, url: str, state: _KeySetState) -> None:
        try:
            response = self.session.get(url, timeout=self.timeout, allow_redirects=False)
            response.raise_for_status()
            keys = keys_by_kid(response.json())
        except (requests.RequestException, ValueError, jwt.PyJWTError) as error:
            logger.warning("JWKS fetch failed for %s: %s", url, type(error).__name__)
            return  # keep the old keys; the failed attempt counts against min_refresh
        with self._lock:
            state.keys = keys
            state.fetched_at = self.clock()


def keys_by_kid(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """Index the signing keys of a JWK Set by ``kid``.

    Raises:
        jwt.PyJWKSetError: no usable keys.
    """
    return {k.key_id: k for k in jwt.PyJWKSet.from_dict(dict(jwks)).keys if k.key_id}


class ClientAuthenticator:
    """Validates the client JWT of one call; see the module docstring for the rules."""

    def __init__(
        self,
        issuers: Mapping[str, TrustedIssuer],
        *,
        key_sets: KeySetCache,
        replay_guard: ReplayGuard,
        leeway_seconds: int = 30,
        max_lifetime_seconds: int = 3600,
    ) -> None:
        """Build the authenticator.

        Args:
            issuers: trusted issuers by ``iss``.
            key_sets: the cache for JWKS URLs and allowlisted ``jku`` URLs.
            replay_guard: remembers ``jti`` values until they expire.
            leeway_seconds: clock skew allowed on ``exp`` and ``iat``.
            max_lifetime_seconds: the longest ``exp - iat`` accepted.
        """
        self._issuers = dict(issuers)
        self._static = {iss: keys_by_kid(i.jwks) for iss, i in issuers.items() if i.jwks is not None}
        self._key_sets = key_sets
        self._replay_guard = replay_guard
        self._leeway = leeway_seconds
        self._max_lifetime = max_lifetime_seconds

    def authenticate(self, authorization: str | None, *, audience: str) -> ClientIdentity:
        """Validate ``Authorization: Bearer <JWT>`` for the endpoint whose public URL is ``audience``.

        Raises:
            AuthenticationError: any failure (the reason is in ``error.reason``, for logs only).
        """
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise AuthenticationError(f"malformed JWT ({type(error).__name__})") from error
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise AuthenticationError(f"alg {str(alg)[:20]!r} not allowed")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("no kid")
        if header.get("typ") not in (None, "JWT"):
            raise AuthenticationError("typ is not JWT")
        iss = unverified.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthenticationError(f"untrusted iss {str(iss)[:100]!r}")
        key = self._key(issuer, kid, header.get("jku"))
        _check_key_type(key, alg)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer.issuer,
                leeway=self._leeway,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as error:
            raise AuthenticationError(f"JWT rejected ({type(error).__name__}: {error})") from error
        return self._check_claims(issuer.issuer, claims)

    def _key(self, issuer: TrustedIssuer, kid: str, jku: Any) -> jwt.PyJWK:
        if jku is not None and jku not in issuer.jku_allowlist:
            raise AuthenticationError(f"jku {str(jku)[:200]!r} not on the allowlist of {issuer.issuer}")
        key = self._static.get(issuer.issuer, {}).get(kid)
        url = jku if isinstance(jku, str) else issuer.jwks_url
        if key is None and url is not None:
            key = self._key_sets.key(url, kid)
        if key is None:
            raise AuthenticationError(f"unknown kid {kid[:80]!r} for {issuer.issuer}")
        return key

    def _check_claims(self, issuer: str, claims: Mapping[str, Any]) -> ClientIdentity:
        now = time.time()
        exp, iat, jti = claims["exp"], claims["iat"], claims["jti"]
        if not _numeric_date(exp) or not _numeric_date(iat):
            # RFC 7519 NumericDate is a JSON number; PyJWT lets a numeric string through to here.
            raise AuthenticationError("exp and iat must be JSON numbers")
        if iat > now + self._leeway:
            raise AuthenticationError("iat in the future")
        if exp - iat > self._max_lifetime:
            raise AuthenticationError(f"lifetime {exp - iat}s exceeds {self._max_lifetime}s")
        if not isinstance(jti, str) or not 0 < len(jti) <= 255:
            raise AuthenticationError("jti missing or too long")
        expires_at = datetime.fromtimestamp(exp + self._leeway, tz=UTC)
        if not self._replay_guard(issuer, jti, expires_at):
            raise AuthenticationError("jti replayed")
        tenant = claims.get("tenant")
        return ClientIdentity(issuer=issuer, tenant=tenant if isinstance(tenant, str) else None)


def _numeric_date(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_key_type(key: jwt.PyJWK, alg: str) -> None:
    public = key.key
    if alg == "ES384" and not (isinstance(public, EllipticCurvePublicKey) and public.curve.name == "secp384r1"):
        raise AuthenticationError("ES384 needs a P-384 EC key")
    if alg == "RS384" and not (isinstance(public, RSAPublicKey) and public.key_size >= 2048):
        raise AuthenticationError("RS384 needs an RSA key of at least 2048 bits")


class FallbackReplayGuard:
    """The shared replay guard (the audit database), with an in-process memory while the database is unavailable.

    A ``jti`` seen by this process is always refused again, whatever the database says. When the database cannot
    be asked, the ``jti`` is remembered here only and the call is let through, so a database outage does not stop
    clinical decision support; a replay to *another* instance within the token's lifetime (at most
    ``CDS_JWT_MAX_LIFETIME_SECONDS``) is then not caught. Each such admission is logged and counted
    (``cds_replay_guard_degraded_total``).
    """

    def __init__(self, shared: ReplayGuard) -> None:
        """Args: shared: ``(issuer, jti, expires_at) -> bool``, raising ``StorageError`` when unavailable."""
        self._shared = shared
        self._seen: dict[tuple[str, str], datetime] = {}
        self._expiries: list[tuple[datetime, tuple[str, str]]] = []
        """A heap of (expiry, key): expired jtis leave in expiry order, a few per call, never a rebuild of the map
        (which cost 25 ms per call at 200,000 unexpired jtis)."""
        self._lock = threading.Lock()

    def __call__(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """Return ``False`` for a replay; ``True`` (and remember the ``jti``) otherwise."""
        now = datetime.now(UTC)
        key = (issuer, jti)
        with self._lock:
            while self._expiries and self._expiries[0][0] < now:
                when, old = heapq.heappop(self._expiries)
                if self._seen.get(old) == when:  # not re-remembered with a later expiry since
                    del self._seen[old]
            if self._seen.get(key, now) > now:
                return False
            self._seen[key] = expires_at
            heapq.heappush(self._expiries, (expires_at, key))
        try:
            return self._shared(issuer, jti, expires_at)
        except StorageError as error:
            logger.warning("replay guard: database unavailable (%s); jti checked in this process only", error)
            REPLAY_GUARD_DEGRADED.inc()
            return True
