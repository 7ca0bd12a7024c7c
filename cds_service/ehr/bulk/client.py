"""One export from start to files on disk: kick-off, poll, download, DELETE (FHIR Bulk Data Access IG 2.0).

``BulkExportClient(base, settings, auth).export(directory, request)`` runs the whole flow and returns an
``ExportResult``; the steps are their own modules (``kickoff``, ``status``, ``download``, ``manifest``), the rules
for URLs, tokens and retries are the transport's. After the kick-off the export is always ended on the server with a
DELETE on its status URL (the IG's "Bulk Data Delete Request"): once the files are downloaded (the server may then
remove them), and when the export fails, runs out of time or is cancelled (Ctrl-C; ``commands.bulk_fetch`` turns
SIGTERM into the same), so that the server stops working for nobody.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from cds_service.ehr.bulk.config import BulkClientSettings
from cds_service.ehr.bulk.download import LocalFile, download_all
from cds_service.ehr.bulk.errors import BulkExportError
from cds_service.ehr.bulk.events import Complete, Deleted, Event
from cds_service.ehr.bulk.kickoff import ExportRequest, kick_off
from cds_service.ehr.bulk.manifest import Manifest, local_manifest, parse_manifest
from cds_service.ehr.bulk.status import poll
from cds_service.ehr.bulk.transport import TokenSource, Transport

MANIFEST = "manifest.json"
"""The local manifest's name, in the download directory (``cohort.export`` reads it)."""


@dataclass(frozen=True)
class ExportResult:
    """A downloaded export.

    Attributes:
        directory: where the files and ``manifest.json`` are.
        manifest: the server's manifest, checked.
        files: every downloaded file, in the manifest's order (data, then error, then deleted files).
        dropped: kick-off parameters the server refused and the export went without (``_typeFilter``, ``_type``).
        seconds: from the kick-off to the last file.
    """

    directory: Path
    manifest: Manifest
    files: tuple[LocalFile, ...]
    dropped: tuple[str, ...]
    seconds: float

    def section(self, name: str) -> tuple[LocalFile, ...]:
        """The files of one manifest section (``output``, ``error``, ``deleted``)."""
        return tuple(local for local in self.files if local.item.section == name)

    @property
    def size(self) -> int:
        """Bytes written over all files."""
        return sum(local.size for local in self.files)


class BulkExportClient:
    """Runs exports against one FHIR server (the base is checked when the client is made)."""

    def __init__(
        self,
        base: str,
        settings: BulkClientSettings,
        auth: TokenSource | None = None,
        *,
        on_event: Callable[[Event], None] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        """Check ``base`` (``transport.check_base``); nothing is sent yet.

        Raises:
            BulkExportError: the base is refused (``not-allowed``).
        """
        self.on_event: Callable[[Event], None] = on_event or (lambda event: None)
        self.transport = Transport(base, settings, auth, session=session, notify=self.on_event)
        self.settings = settings

    def export(self, directory: Path, request: ExportRequest) -> ExportResult:
        """Run one export into ``directory`` (created; it must be empty) and return what was downloaded.

        Raises:
            BulkExportError: any step failed (the export is deleted on the server when it had started).
            KeyboardInterrupt: cancelled; the export is deleted on the server first.
        """
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise BulkExportError(
                f"{directory} is not an empty directory: the export is written only into a new or empty one",
                "not-allowed",
            )
        directory.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        deadline = started + self.settings.max_wait
        accepted = kick_off(self.transport, request, deadline=deadline, on_event=self.on_event)
        why = "cancelled"
        try:
            body = poll(self.transport, accepted.status_url, started=started, deadline=deadline, on_event=self.on_event)
            manifest = parse_manifest(body, status_url=accepted.status_url, kickoff_url=accepted.kickoff_url)
            self.on_event(
                Complete(
                    len(manifest.section("output")),
                    len(manifest.section("error")),
                    len(manifest.section("deleted")),
                    manifest.transaction_time,
                    time.monotonic() - started,
                )
            )
            files = download_all(self.transport, manifest, directory, on_event=self.on_event, cancel=threading.Event())
            _write_manifest(directory, manifest, files)
            why = "downloaded"
        except BulkExportError as error:
            why = "timed out" if error.kind == "timeout" else "failed"
            raise
        finally:
            self._delete(accepted.status_url, why)
        return ExportResult(directory, manifest, tuple(files), accepted.dropped, time.monotonic() - started)

    def _delete(self, status_url: str, why: str) -> None:
        """DELETE the export on the server; its answer is reported, never raised (the export's outcome stands)."""
        try:
            response = self.transport.request(
                "DELETE", status_url, accept="application/fhir+json", retry=False, what="the DELETE"
            )
        except BulkExportError:
            self.on_event(Deleted(0, why))
            return
        response.close()
        self.on_event(Deleted(response.status_code, why))

    def close(self) -> None:
        """Close the connections."""
        self.transport.close()


def _write_manifest(directory: Path, manifest: Manifest, files: list[LocalFile]) -> None:
    """Write ``manifest.json`` last, atomically: its presence says every file it names is complete."""
    paths = {local.item: local.relative for local in files}
    text = json.dumps(local_manifest(manifest, paths), indent=2, ensure_ascii=False) + "\n"
    temporary = directory / (MANIFEST + ".part")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, directory / MANIFEST)
