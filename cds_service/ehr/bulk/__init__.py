"""A FHIR Bulk Data Access (2.0) client: one export from kick-off to files on disk, within the hook client's limits.

``BulkExportClient`` (``client``) runs the flow; ``ExportRequest`` (``kickoff``) says what is asked for;
``BulkClientSettings`` (``config``) bounds it; events (``events``) report progress; ``BulkExportError`` (``errors``)
says why it failed. Tokens come from ``cds_service.ehr.backend_auth`` (SMART Backend Services).
"""

from cds_service.ehr.bulk.client import MANIFEST, BulkExportClient, ExportResult
from cds_service.ehr.bulk.config import RULE_TYPES, BulkClientSettings
from cds_service.ehr.bulk.download import LocalFile
from cds_service.ehr.bulk.errors import BulkExportError
from cds_service.ehr.bulk.events import Event
from cds_service.ehr.bulk.kickoff import ExportRequest, fhir_id, fhir_instant, observation_filter
from cds_service.ehr.bulk.manifest import FileItem, Manifest
from cds_service.ehr.bulk.transport import retry_after

__all__ = [
    "MANIFEST",
    "RULE_TYPES",
    "BulkClientSettings",
    "BulkExportClient",
    "BulkExportError",
    "Event",
    "ExportRequest",
    "ExportResult",
    "FileItem",
    "LocalFile",
    "Manifest",
    "fhir_id",
    "fhir_instant",
    "observation_filter",
    "retry_after",
]
