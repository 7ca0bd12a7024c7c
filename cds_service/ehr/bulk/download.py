"""Downloading an export's files: a small pool, byte caps per file and in total, gzip, cancellable.

Each manifest item becomes one file in the download directory, named by its section and type, numbered per type
from 1 in the manifest's order: ``output`` -> ``<Type>_<n>.ndjson``, ``error`` -> ``errors/<Type>_<n>.ndjson``,
``deleted`` -> ``deleted/<Type>_<n>.ndjson``; the data files are the only ones at the top. A file is written as
``<name>.part`` and renamed when complete, so a file with its final name is whole.

* ``Accept-Encoding: gzip`` is sent (``requests``' default) and the body decoded as it is read; the caps count the
  bytes written (decoded), so a small compressed file cannot fill the disk. urllib3 >= 2.6 bounds what one read
  decompresses.
* A file past ``max_file_bytes``, or all files past ``max_total_bytes``, stops the download (``too-large``); a
  ``Content-Length`` above the file cap is refused before anything is read.
* A connection that breaks mid-file is retried from the start of the file (``retries`` times, with backoff).
* ``cancel`` (set by the caller on Ctrl-C or SIGTERM) stops every worker at its next chunk; ``.part`` files are removed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import requests

from cds_service.ehr.bulk.errors import BulkExportError, outcome_text
from cds_service.ehr.bulk.events import Downloaded, DownloadProgress, Event
from cds_service.ehr.bulk.manifest import FileItem, Manifest
from cds_service.ehr.bulk.transport import Transport

CHUNK = 1024 * 1024
"""Bytes read (decoded) and written at a time."""
FOLDERS = {"output": "", "error": "errors/", "deleted": "deleted/"}
PROGRESS_EVERY = 10.0
"""Seconds between "downloading ..." lines while files are in progress."""


class Cancelled(Exception):
    """The download was cancelled (``cancel`` set); raised inside workers only."""


@dataclass(frozen=True)
class LocalFile:
    """A downloaded manifest item: where it is (``relative`` to the download directory) and its size as written."""

    item: FileItem
    relative: str
    size: int


def local_names(manifest: Manifest) -> dict[FileItem, str]:
    """Each item's path relative to the download directory (see the module docstring)."""
    counts: dict[tuple[str, str], int] = {}
    names: dict[FileItem, str] = {}
    for item in manifest.files:
        key = (item.section, item.type)
        counts[key] = counts.get(key, 0) + 1
        names[item] = f"{FOLDERS[item.section]}{item.type}_{counts[key]}.ndjson"
    return names


class _Budget:
    """Bytes all files may still take, shared by the workers."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> None:
        with self._lock:
            self.used += size
            over = self.used > self.limit
        if over:
            raise BulkExportError(
                f"the export's files together are larger than {self.limit} bytes (CDS_BULK_MAX_TOTAL_BYTES)",
                "too-large",
            )

    def give_back(self, size: int) -> None:
        with self._lock:
            self.used -= size


def download_all(
    transport: Transport,
    manifest: Manifest,
    directory: Path,
    *,
    on_event: Callable[[Event], None],
    cancel: threading.Event,
) -> list[LocalFile]:
    """Download every file of ``manifest`` into ``directory`` (``downloads`` at a time); return them in order.

    Raises:
        BulkExportError: a file refused (``not-allowed``), answered with an error status, past a cap, or broken
            off after the retries; the other downloads are stopped and their ``.part`` files removed.
        KeyboardInterrupt: as raised in the calling thread (the workers are stopped first).
    """
    names = local_names(manifest)
    settings = transport.settings
    budget = _Budget(settings.max_total_bytes)
    items = list(manifest.files)
    for folder in {name.rpartition("/")[0] for name in names.values()}:
        (directory / folder).mkdir(parents=True, exist_ok=True)
    done: list[LocalFile] = []
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(settings.downloads, 1), thread_name_prefix="bulk-download")
    futures: dict[Future[LocalFile], FileItem] = {
        pool.submit(_download, transport, manifest, item, directory, names[item], budget, cancel): item
        for item in items
    }
    pending = set(futures)
    last_line = time.monotonic()
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            for future in finished:
                local = future.result()  # raises the worker's error
                done.append(local)
                on_event(Downloaded(len(done), len(items), local.relative, budget.used, time.monotonic() - started))
            if pending and time.monotonic() - last_line >= PROGRESS_EVERY:
                last_line = time.monotonic()
                on_event(DownloadProgress(len(done), len(items), budget.used, time.monotonic() - started))
    except BaseException:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        for part in directory.rglob("*.part"):
            part.unlink(missing_ok=True)
        raise
    pool.shutdown(wait=True)
    order = {item: index for index, item in enumerate(items)}
    return sorted(done, key=lambda local: order[local.item])


def _download(
    transport: Transport,
    manifest: Manifest,
    item: FileItem,
    directory: Path,
    name: str,
    budget: _Budget,
    cancel: threading.Event,
) -> LocalFile:
    settings = transport.settings
    what = f"{item.section} file {name}"
    target = directory / name
    part = target.with_name(target.name + ".part")
    attempt = 0
    while True:
        if cancel.is_set():
            raise Cancelled
        written = 0
        try:
            with transport.request(
                "GET",
                item.url,
                accept="application/fhir+ndjson",
                token=manifest.requires_access_token,
                file_token=manifest.requires_access_token,
                follow=True,
                what=what,
            ) as response:
                if response.status_code != 200:
                    said = outcome_text(_small_json(response))
                    raise BulkExportError(
                        f"{what}: HTTP {response.status_code}" + (f" ({said})" if said else ""), "server"
                    )
                length = response.headers.get("Content-Length", "")
                if length.isdigit() and int(length) > settings.max_file_bytes:
                    raise BulkExportError(
                        f"{what}: larger than {settings.max_file_bytes} bytes (CDS_BULK_MAX_FILE_BYTES)", "too-large"
                    )
                with part.open("wb") as handle:
                    for chunk in response.iter_content(CHUNK):
                        if cancel.is_set():
                            raise Cancelled
                        written += len(chunk)
                        if written > settings.max_file_bytes:
                            raise BulkExportError(
                                f"{what}: larger than {settings.max_file_bytes} bytes (CDS_BULK_MAX_FILE_BYTES)",
                                "too-large",
                            )
                        budget.take(len(chunk))
                        handle.write(chunk)
            part.replace(target)
            return LocalFile(item, name, written)
        except requests.RequestException as error:
            budget.give_back(written)
            part.unlink(missing_ok=True)
            if attempt >= settings.retries:
                raise BulkExportError(f"{what}: the download broke off ({type(error).__name__})", "server") from None
            time.sleep(min(settings.backoff * 2**attempt, settings.max_backoff))
            attempt += 1
        except BaseException:
            part.unlink(missing_ok=True)
            raise


def _small_json(response: requests.Response) -> object:
    """An error answer's JSON (at most 64 kB read), or ``None``."""
    try:
        return json.loads(response.raw.read(65536, decode_content=True))
    except Exception:  # an error answer that cannot be read adds nothing to the error
        return None
