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

    def card_seed(self, service_id: str, client_issuer: str | None, hook_instance: str, patient: str = "") -> str:
        """Return the secret seed of one call's card uuids (hex HMAC of endpoint, client, ``hookInstance``, patient).

        Card uuids derived from it cannot be guessed from the ``hookInstance`` without the key, and differ between
        clients and endpoints that send the same ``hookInstance``, and between patients when a client reuses a
        ``hookInstance`` for two (``patient``: the patient's pseudonym, ``patient()``), so feedback always lands on
        the decision it was about; the same call always gets the same uuids.
        """
        message = "\x00".join(("card-uuid", service_id, client_issuer or "", hook_instance, patient))
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).hexdigest()
