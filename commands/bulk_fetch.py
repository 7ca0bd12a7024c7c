"""``cds-service cohort --from-fhir BASE``: fetch a Bulk Data export into a directory, for the worklist to read.

The glue between the client (``cds_service.ehr.bulk``, with tokens from ``cds_service.ehr.backend_auth``) and the
worklist (``cohort``): builds the client from the settings (``ehr`` and ``bulk`` blocks), prints its progress on
standard error, turns SIGTERM into the same cancellation as Ctrl-C (the export is deleted on the server), and says
what came back: the files, the server's error files (kept in ``errors/``, never read as data), the parameters the
server refused, and the ``transactionTime`` to give as ``--since`` next time.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TextIO

from cds_service.ehr.backend_auth import BackendAuth, BackendClient
from cds_service.ehr.bulk import BulkExportClient, ExportRequest, ExportResult, observation_filter
from cds_service.ehr.bulk.events import Event
from cds_service.settings import Settings

DOWNLOAD_FOLDER = "export"
"""Where the files go below ``--out`` unless ``--download-dir`` says otherwise."""


def fetch_export(
    base: str,
    *,
    settings: Settings,
    directory: Path,
    group: str | None = None,
    since: str | None = None,
    stderr: TextIO | None = None,
) -> ExportResult:
    """Run one export of ``base`` into ``directory``; progress on ``stderr``.

    Raises:
        BulkExportError: the export failed (it was deleted on the server if it had started).
        KeyboardInterrupt: Ctrl-C or SIGTERM (likewise deleted).
    """
    err = stderr or sys.stderr

    def say(event: Event | str) -> None:
        print(f"bulk export: {event}", file=err, flush=True)

    limits = settings.bulk_client
    auth = None
    client = BulkExportClient(base, limits, on_event=say)
    if settings.bulk.authenticated:
        bulk = settings.bulk
        assert bulk.client_id is not None and bulk.private_key_file is not None and bulk.key_id is not None
        auth = BackendAuth(
            BackendClient(
                client_id=bulk.client_id,
                key_file=bulk.private_key_file,
                key_id=bulk.key_id,
                scopes=bulk.scopes,
                timeout=settings.smart.timeout_seconds,
                allow_http=settings.ehr.allow_http,
            ),
            base=client.transport.base,
            session=client.transport.session,
        )
        client.transport.auth = auth
    else:
        say("no CDS_BULK_CLIENT_ID set: requests carry no Authorization header (open test servers only)")
    filters = observation_filter() if limits.type_filter else None
    request = ExportRequest(group=group, since=since, type_filters=(filters,) if filters else ())
    try:
        with _sigterm_cancels():
            result = client.export(directory, request)
    finally:
        client.close()
    errors = result.section("error")
    say(
        f"{len(result.section('output'))} data files, {result.size:,} bytes, in {result.seconds:.1f} s into "
        f"{directory}; next time --since {result.manifest.transaction_time} fetches only what changed"
    )
    if result.dropped:
        say(f"the server did not accept {', '.join(result.dropped)}: the export holds more than the rules read")
    if errors:
        say(
            f"the server reported problems in {len(errors)} error files (OperationOutcome, not read as data): "
            + ", ".join(str(directory / local.relative) for local in errors)
        )
    return result


@contextmanager
def _sigterm_cancels() -> Iterator[None]:
    """While inside, SIGTERM raises ``KeyboardInterrupt`` in the main thread, as Ctrl-C does (then restored)."""

    def cancel(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt("SIGTERM")

    try:
        previous = signal.signal(signal.SIGTERM, cancel)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
