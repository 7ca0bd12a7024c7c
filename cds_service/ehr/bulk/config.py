"""What the Bulk Data client may do: where it may go, for how long, how much (``BulkClientSettings``).

The limits the hook's FHIR client has (``cds_service.ehr.fhir_client.FhirClientSettings``: the allowlist, plain http,
the connect and read timeouts, the largest JSON answer) apply here too, plus what only an export needs: the bound on
the whole wait, the byte caps of the downloaded files, the download pool. ``cds_service.settings`` builds one from the
``ehr`` and ``bulk`` blocks (``Settings.bulk_client``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_mappers.summarize import READ_TYPES

GiB = 1024 * 1024 * 1024
RULE_TYPES: tuple[str, ...] = READ_TYPES
"""The resource types the rules read (``fhir_mappers.summarize.READ_TYPES``), in the order they are asked for: the
export's default ``_type`` and the default scopes (``system/<Type>.rs``)."""


@dataclass(frozen=True)
class BulkClientSettings:
    """Limits of one export (defaults as in ``cds_service.settings``; the time values in seconds).

    Attributes:
        allowlist: FHIR base URLs the export server must lie under (``CDS_FHIR_SERVER_ALLOWLIST``); empty: any
            server named on the command line.
        file_servers: base URLs, besides the export server's origin, output files may be downloaded from
            (``CDS_BULK_FILE_SERVERS``, e.g. an object store).
        allow_http: accept plain ``http://`` anywhere (``CDS_FHIR_ALLOW_HTTP``); loopback addresses always may.
        connect_timeout / read_timeout: per request (read: the longest silence between bytes).
        max_answer_bytes: the largest JSON answer read (kick-off, status, manifest; ``CDS_FHIR_MAX_RESPONSE_BYTES``).
        max_wait: from the kick-off to the complete manifest (``CDS_BULK_MAX_WAIT_SECONDS``); past it the export
            is cancelled on the server.
        max_file_bytes / max_total_bytes: the largest file, and all files together, as written (decompressed).
        downloads: files downloaded at once.
        retries: attempts after the first for a 429, a transient 5xx or a broken connection, per request.
        backoff: the first wait before a retry when the server gives no ``Retry-After`` (doubled each time).
        max_backoff: the longest wait between polls or retries, whatever ``Retry-After`` says.
        type_filter: ask for the Observations the rules read only (``_typeFilter``; ``CDS_BULK_TYPE_FILTER``).
    """

    allowlist: tuple[str, ...] = ()
    file_servers: tuple[str, ...] = ()
    allow_http: bool = False
    connect_timeout: float = 1.0
    read_timeout: float = 2.0
    max_answer_bytes: int = 8 * 1024 * 1024
    max_wait: float = 6 * 3600.0
    max_file_bytes: int = 16 * GiB
    max_total_bytes: int = 128 * GiB
    downloads: int = 4
    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 600.0
    type_filter: bool = True
