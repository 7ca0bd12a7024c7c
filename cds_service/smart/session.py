"""The secrets of one launch, all derived from a random session id that only the browser's cookie holds.

* ``session_id``: 32 random bytes (``secrets.token_urlsafe``), the launch cookie's value.
* ``session_hash``: its SHA-256, the key of the pending launch in the database (``storage.launches``).
* ``state`` and ``code_verifier``: HMAC-SHA-256 of the session id with fixed labels, base64url (43 characters,
  RFC 7636 4.1). The database stores neither, so reading it lets nobody finish a launch; the callback recomputes
  both from the cookie, and Authlib checks ``state`` and sends the verifier (SMART App Launch 2.x, "Obtain
  authorization code": ``state`` and PKCE ``S256``).
* ``cookie_name``: ``__Host-igrt-launch-<16 hex of SHA-256(state)>`` (``__Host-``: Secure, Path=/, no Domain; without
  the prefix when cookies are not ``Secure``, local trials). One cookie per launch, named after its ``state``, so
  two launches in two tabs do not overwrite each other, and the callback finds its cookie from ``state`` alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

COOKIE_BASE = "igrt-launch-"
SECURE_PREFIX = "__Host-"
MAX_SESSION_ID_LENGTH = 100
"""Longer cookie values are not ours (``token_urlsafe(32)`` is 43 characters)."""


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _derived(session_id: str, label: bytes) -> str:
    return _b64(hmac.new(session_id.encode("utf-8"), label, hashlib.sha256).digest())


def cookie_name(state: str, *, secure: bool) -> str:
    """Return the name of the cookie that holds the session of the launch with this ``state``."""
    digest = hashlib.sha256(state.encode("utf-8")).hexdigest()[:16]
    return f"{SECURE_PREFIX if secure else ''}{COOKIE_BASE}{digest}"


@dataclass(frozen=True)
class LaunchSecrets:
    """One launch's session id and what is derived from it (see the module docstring). ``repr`` shows none."""

    session_id: str = field(repr=False)

    @classmethod
    def new(cls) -> LaunchSecrets:
        """Return the secrets of a new launch (32 random bytes)."""
        return cls(secrets.token_urlsafe(32))

    @property
    def session_hash(self) -> str:
        """SHA-256 of the session id, 64 hex characters: the pending launch's key in the database."""
        return hashlib.sha256(self.session_id.encode("utf-8")).hexdigest()

    @property
    def state(self) -> str:
        """The OAuth2 ``state`` (43 base64url characters)."""
        return _derived(self.session_id, b"sid-igrt smart state")

    @property
    def code_verifier(self) -> str:
        """The PKCE ``code_verifier`` (43 base64url characters, RFC 7636 4.1)."""
        return _derived(self.session_id, b"sid-igrt smart pkce code_verifier")

    def matches(self, state: str) -> bool:
        """Whether ``state`` is this launch's (constant time)."""
        return hmac.compare_digest(self.state.encode("utf-8"), state.encode("utf-8", "replace"))
