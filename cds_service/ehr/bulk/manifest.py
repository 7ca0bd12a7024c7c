"""The complete-status manifest of an export (Bulk Data Access 2.0, "Response - Complete Status") and its local copy.

``parse_manifest`` checks what the client relies on: ``transactionTime``, ``request``, ``requiresAccessToken``,
``output[]``, ``error[]`` and ``deleted[]`` items with a resource ``type`` and a ``url``. A missing
``requiresAccessToken`` is read as ``true`` (the token still goes only where the transport allows it); a missing
``request`` is the kick-off URL this client sent. ``local_manifest`` is the copy kept with the files as
``manifest.json``: the server's fields as they were, each item's ``url`` replaced by the file's path relative to the
manifest (``Observation_1.ndjson``, ``errors/OperationOutcome_1.ndjson``), the server's URL kept in the item's
``extension.sourceUrl`` (the IG allows ``extension`` in items) without its query, which may hold a signature. The
server's URLs die with the DELETE; the local paths tell the reader which file is which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

from cds_service.ehr.bulk.errors import BulkExportError

RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]{0,63}$")
"""A FHIR resource type name: it becomes part of a file name, so nothing else is accepted."""
Section = Literal["output", "error", "deleted"]
SECTIONS: tuple[Section, ...] = ("output", "error", "deleted")


@dataclass(frozen=True)
class FileItem:
    """One file of the manifest: its section, resource ``type``, absolute ``url`` and optional ``count``."""

    section: Section
    type: str
    url: str
    count: int | None = None


@dataclass(frozen=True)
class Manifest:
    """A checked manifest; ``body`` is the server's JSON object as it came."""

    transaction_time: str
    request: str
    requires_access_token: bool
    files: tuple[FileItem, ...]
    body: Mapping[str, Any] = field(repr=False, default_factory=dict)

    def section(self, name: Section) -> tuple[FileItem, ...]:
        """The files of one section, in the manifest's order."""
        return tuple(item for item in self.files if item.section == name)


def parse_manifest(body: Any, *, status_url: str, kickoff_url: str) -> Manifest:
    """Check a complete-status body and return the ``Manifest`` (relative URLs resolved against ``status_url``).

    Raises:
        BulkExportError: not a JSON object, no ``transactionTime``, ``output`` or ``error`` not arrays, an item
            without a valid resource type or a URL (``server``).
    """
    if not isinstance(body, dict):
        raise BulkExportError("the complete status is not a JSON object (a Bulk Data manifest)", "server")
    when = body.get("transactionTime")
    if not isinstance(when, str) or not when:
        raise BulkExportError("the manifest has no transactionTime", "server")
    request = body.get("request")
    requires = body.get("requiresAccessToken")
    files: list[FileItem] = []
    for section in SECTIONS:
        items = body.get(section, [] if section == "deleted" else None)
        if items is None and section == "error":
            items = []  # required by the IG, but servers omit it when empty
        if not isinstance(items, list):
            raise BulkExportError(f"the manifest's {section} is not an array", "server")
        for index, item in enumerate(items):
            files.append(_item(section, index, item, status_url))
    return Manifest(
        transaction_time=when,
        request=request if isinstance(request, str) and request else kickoff_url,
        requires_access_token=requires is not False,
        files=tuple(files),
        body=body,
    )


def _item(section: Section, index: int, item: Any, status_url: str) -> FileItem:
    where = f"the manifest's {section}[{index}]"
    if not isinstance(item, dict):
        raise BulkExportError(f"{where} is not an object", "server")
    kind, url, count = item.get("type"), item.get("url"), item.get("count")
    if not isinstance(kind, str) or not RESOURCE_TYPE.match(kind):
        raise BulkExportError(f"{where} has no resource type", "server")
    if not isinstance(url, str) or not url:
        raise BulkExportError(f"{where} has no url", "server")
    number = count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None
    return FileItem(section, kind, urljoin(status_url, url), number)


def local_manifest(manifest: Manifest, paths: Mapping[FileItem, str]) -> dict[str, Any]:
    """The manifest to keep with the files: each item's ``url`` is its local path, the server's in ``extension``.

    Args:
        manifest: the checked manifest.
        paths: each downloaded item's path relative to the manifest's directory (``/`` separated).
    """
    local: dict[str, Any] = {key: value for key, value in manifest.body.items() if key not in SECTIONS}
    local["request"] = manifest.request
    local["requiresAccessToken"] = manifest.requires_access_token
    for section in SECTIONS:
        items = []
        for item in manifest.section(section):
            entry: dict[str, Any] = {"type": item.type, "url": paths[item]}
            if item.count is not None:
                entry["count"] = item.count
            entry["extension"] = {"sourceUrl": _without_query(item.url)}
            items.append(entry)
        if items or section != "deleted":
            local[section] = items
    return local


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
