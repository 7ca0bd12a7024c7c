"""Which patient of this export a resource belongs to: this server's references are merged, another server's are not.

A resource belongs to the patient its ``subject`` (else ``patient``) references, read as the mappers read references
(``fhir_mappers.references.reference_key``: relative, absolute, versioned); a Patient to itself (``Patient.id``).
Which references name a patient *of this export* (``patient_of``):

* **relative** (no scheme, not ``//host``), ``Patient/x`` or ``Patient/x/_history/2``: relative to the server that
  exported it (FHIR R4 ``Reference.reference``: "relative to the service base URL"). This export's patient ``x``.
* **absolute**, ``https://host/fhir/Patient/x``: this export's patient ``x`` only when ``https://host/fhir`` is the
  export's own base (``server_base`` compares them: scheme and host in lower case, default port and final ``/``
  dropped). The base comes from the Bulk Data manifest's ``request`` URL (``base_of_request``; the kick-off URL
  ``[base]/$export``, ``[base]/Patient/$export`` or ``[base]/Group/[id]/$export``) or is given (``cds-service cohort
  --fhir-base``). Any other absolute reference, and every absolute one when the base is unknown, names a patient on
  **another server**: its ``x`` is another namespace (a different person may have that id there), so the resource is
  ``FOREIGN``: not merged into the local ``Patient/x``, not evaluated, counted and reported.
* ``urn:uuid:...`` (any ``urn:``): a Bundle-local name, unresolvable in NDJSON; contained ``#x``, a Group, no
  reference: **no patient** (counted, not evaluated, as before).
"""

from __future__ import annotations

import enum
import re
from typing import Any
from urllib.parse import urlsplit

from fhir_mappers.references import reference_key

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Foreign(enum.Enum):
    """The owner of a resource whose patient is on another server (``patient_of``)."""

    FOREIGN = "another server's patient"


FOREIGN = Foreign.FOREIGN
"""``patient_of``'s answer for a resource referencing another server's patient."""


def patient_of(resource: dict[str, Any], *, base: str | None = None) -> str | Foreign | None:
    """Return the id of this export's patient a resource belongs to, ``FOREIGN``, or ``None`` (no patient).

    Args:
        resource: a FHIR resource (JSON object).
        base: the export's server base as ``server_base`` gives it (``https://ehr.example/fhir``), or ``None``
            (unknown: every absolute reference is another server's).

    The id is the Patient's own ``id``, or the ``x`` of a local ``Patient/x`` reference (see the module docstring).
    """
    if resource.get("resourceType") == "Patient":
        value = resource.get("id")
        return value if isinstance(value, str) and value else None
    reference = resource.get("subject") or resource.get("patient")
    if isinstance(reference, dict):  # the common relative "Patient/x": what the general path below gives, sooner
        text = reference.get("reference")
        if isinstance(text, str) and text.startswith("Patient/"):
            rid = text[8:]
            if rid and "/" not in rid and "?" not in rid:
                return rid
    key = reference_key(reference)
    if key is None or not key.startswith("Patient/") or key == "Patient/":
        return None
    text = reference.get("reference") if isinstance(reference, dict) else reference
    if isinstance(text, str) and _absolute(text) and (base is None or _server_of(text, base) != base):
        return FOREIGN
    return key.removeprefix("Patient/")


def server_base(url: str) -> str | None:
    """Return an http(s) URL as a comparable server base (``HTTPS://EHR.example:443/fhir/`` -> ``https://ehr.example/fhir``).

    Scheme and host in lower case, the scheme's default port dropped, no query, fragment or final ``/``; ``None``
    for anything that is not an absolute http or https URL with a host.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    where = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = "/".join(segment for segment in parts.path.split("/") if segment)
    return f"{scheme}://{where}" + (f"/{path}" if path else "")


def base_of_request(request: str) -> str | None:
    """Return the server base of a Bulk Data kick-off URL (a manifest's ``request``), or ``None`` if it is not one.

    ``https://ehr.example/fhir/Group/g1/$export?_type=Patient`` -> ``https://ehr.example/fhir``; likewise
    ``[base]/$export`` and ``[base]/Patient/$export`` (FHIR Bulk Data Access 2.0, "Bulk Data Kick-off Request").
    """
    try:
        parts = urlsplit(request.strip())
    except ValueError:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if "$export" not in segments:
        return None
    segments = segments[: segments.index("$export")]
    if segments[-1:] == ["Patient"]:
        segments = segments[:-1]
    elif len(segments) >= 2 and segments[-2] == "Group":
        segments = segments[:-2]
    return server_base(f"{parts.scheme}://{parts.netloc}/{'/'.join(segments)}")


def _absolute(text: str) -> bool:
    return bool(_SCHEME.match(text)) or text.startswith("//")


def _server_of(text: str, base: str) -> str | None:
    """The server base an absolute ``.../Patient/x[/_history/v]`` reference names (``server_base`` form).

    A network-path reference (``//host/fhir/Patient/x``) takes the scheme of ``base``, as a URL resolver would.
    """
    try:
        parts = urlsplit(text)
    except ValueError:  # an unparseable authority ("https://[x/Patient/1"): no base of ours
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if "_history" in segments:
        segments = segments[: segments.index("_history")]
    scheme = parts.scheme or base.partition(":")[0]
    return server_base(f"{scheme}://{parts.netloc}/{'/'.join(segments[:-2])}")
