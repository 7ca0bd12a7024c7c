"""How the worklist shows a patient: the site's identifier, else a keyed pseudonym; never the FHIR id alone.

A FHIR ``Patient.id`` tells a clinician nothing (the EHR shows an MRN or a national number) and, where a server uses a
national number as its id, tells an onlooker too much. The site names the ``Patient.identifier.system`` its clinicians
look patients up by (``cds-service cohort --display-identifier SYSTEM``: its MRN system, or a research pseudonym
system). The worklist then shows:

* ``identifier_display``: that identifier's ``value`` (an ``official`` or ``usual`` one before others, ``old`` ones
  never; at most ``MAX_DISPLAY`` characters), when the patient has one;
* ``pseudonym`` otherwise (no system configured, or none on the patient): ``P-`` and ten Crockford base-32 digits of
  HMAC-SHA-256(key, ``DOMAIN`` + patient id), e.g. ``P-7QK2M-XW9RD`` (50 bits: two of a million patients share one
  with odds about 1 in 2,000). ``cds-service cohort`` keys it with the service's ``CDS_AUDIT_HMAC_KEY`` when set (the
  same pseudonym in every run and output directory; ``DOMAIN`` keeps it apart from the audit log's patient hash),
  else with a random key kept in the output directory (``KEY_FILE``, created once, owner-only: the same pseudonym in
  every run into it). Without the key the pseudonym cannot be turned back into the id; a clinician resolves it in
  ``worklist.csv`` or ``worklist.parquet``, whose ``display`` and ``patient_id`` columns sit side by side (files kept
  as the export is), or opens the row's evidence page. A library caller of ``cohort.run.run_cohort`` that gives no
  key gets ``PUBLIC_KEY``: stable everywhere (tests, benchmarks, engines compared), but not secret, so anyone with
  the ids can compute it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

DOMAIN = b"sid-igrt worklist display\x00"
"""Prefixed to the patient id before the HMAC: a display pseudonym is never the audit log's ``patient_hmac``."""
PUBLIC_KEY = b"sid-igrt worklist: no site key given"
"""The key when the caller gives none (``cohort.outputs.OutputOptions.display_key``): public, so not a secret."""
KEY_FILE = ".display-key"
"""The output directory's own pseudonym key (32 random bytes) when no site key is configured."""
MAX_DISPLAY = 64
"""The longest identifier value shown, in characters (longer ones are cut and end in ``…``)."""
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PREFERRED_USES = ("official", "usual")


def pseudonym(patient_id: str, key: bytes) -> str:
    """Return the patient's display pseudonym, ``P-XXXXX-XXXXX`` (Crockford base 32 of a keyed hash; see module).

    Raises:
        ValueError: ``key`` shorter than 16 bytes.
    """
    if len(key) < 16:
        raise ValueError("the display pseudonym key must be at least 16 bytes")
    digest = hmac.new(key, DOMAIN + patient_id.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:7], "big") >> 6  # 50 bits
    digits = "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(45, -1, -5))
    return f"P-{digits[:5]}-{digits[5:]}"


def identifier_display(patient: Mapping[str, Any], system: str) -> str:
    """Return the value of ``patient``'s identifier in ``system`` ("" when it has none): see the module docstring."""
    found: list[tuple[int, str]] = []
    for identifier in patient.get("identifier") or ():
        if not isinstance(identifier, Mapping) or identifier.get("system") != system:
            continue
        value, use = identifier.get("value"), identifier.get("use")
        if not isinstance(value, str) or not value.strip() or use == "old":
            continue
        rank = _PREFERRED_USES.index(use) if use in _PREFERRED_USES else len(_PREFERRED_USES)
        found.append((rank, value.strip()))
    if not found:
        return ""
    value = min(found, key=lambda pair: pair[0])[1]
    return value if len(value) <= MAX_DISPLAY else value[: MAX_DISPLAY - 1] + "…"


def display_from_resources(patient_id: str, raw_resources: Sequence[bytes], system: str) -> str:
    """Return ``identifier_display`` of the patient's own ``Patient`` line among ``raw_resources`` ("" if none).

    Only lines that can be a Patient are parsed (the byte test first: one small line per patient).
    """
    for raw in raw_resources:
        if b'"Patient"' not in raw:
            continue
        resource = orjson.loads(raw)
        if resource.get("resourceType") == "Patient" and resource.get("id") == patient_id:
            return identifier_display(resource, system)
    return ""


def load_or_create_key(directory: Path) -> bytes:
    """Return the key in ``directory/KEY_FILE``, first writing 32 random bytes there (mode 0600) if it is absent.

    Raises:
        OSError: the file cannot be read or created.
    """
    path = directory / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another run created it meanwhile
        return path.read_bytes()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key
