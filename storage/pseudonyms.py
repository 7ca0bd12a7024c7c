"""Keyed hashes of patient ids (HMAC-SHA-256): decisions can be linked per patient without storing the id."""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymizer:
    """HMAC-SHA-256 with a secret key.

    The same key and patient id always give the same 64-character hex digest; without the key the id cannot be
    recovered or confirmed by guessing. Rotating the key breaks linkage with older records (by design).
    """

    def __init__(self, key: bytes) -> None:
        """Args: key: the secret (``CDS_AUDIT_HMAC_KEY``), at least 32 bytes.

        Raises:
            ValueError: a key shorter than 32 bytes.
        """
        if len(key) < 32:
            raise ValueError("the HMAC key must be at least 32 bytes")
        self._key = key

    def patient(self, patient_id: str) -> str:
        """Return the hex HMAC of ``patient_id`` (the FHIR logical id from ``context.patientId``)."""
        return hmac.new(self._key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()
