"""``cds-service explain REQUEST.json --html OUT.html``: the evidence page of a saved hook request, offline.

For integrators and reviewers: the same page a clinician opens from the card ("Evidence and timeline"), from the
same code (``cds_service.evidence.explain_request``), written to a file. The request is read and validated as
``cds-service evaluate`` reads it (the service for its hook, or ``--service``); nothing is fetched or recorded, so
the decision rests on the prefetch alone.

Exit status: 0 written; 2 the request cannot be used (unreadable, not JSON, no service for its hook, invalid, or
required prefetch missing: the service would answer 400 or 412), with one line on standard error saying why;
1 the page cannot be written.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from cds_service.evidence import explain_request
from cds_service.http.app import load_settings
from cds_service.invocation import card_options
from cds_service.wire.definitions import SERVICES, find
from cds_service.wire.errors import CdsServiceError
from cds_service.wire.requests import parse_hook_request

PROG = "cds-service explain"


def explain(path: Path, *, html: Path, as_of: date | None, service_id: str | None, language: str | None) -> int:
    """Write the evidence page of the hook request in ``path`` to ``html``; return the exit status (see module).

    Args:
        path: a CDS Hooks request as JSON (prefetch included).
        html: where the page is written (UTF-8; replaced if it exists).
        as_of: the evaluation date; ``None``: today (``CDS_FIXED_DATE`` if set) in the configured time zone.
        service_id: the service to answer as; ``None``: the service for the request's ``hook``.
        language: ``"en"`` or ``"da"``; ``None``: the request's card language option, else ``CDS_LANGUAGE``.

    Raises:
        SettingsError: the deployment settings are invalid (the command line reports it, exit status 1).
    """
    settings = load_settings({"AUTH": "off"})
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        hook = body.get("hook") if isinstance(body, dict) else None
        service = find(service_id) if service_id else next((s for s in SERVICES if s.hook == hook), None)
        if service is None:
            wanted = f"service {service_id!r}" if service_id else f"service for hook {hook!r}"
            return _fail(f"{path}: no {wanted}", 2)
        request = parse_hook_request(body, hook=service.hook)
        chosen = card_options(request, settings, language=language).language
        page = explain_request(service, request, settings, as_of=as_of or settings.today(), language=chosen)
    except CdsServiceError as error:
        return _fail(f"{path}: the service would answer {error.status} ({error.code}): {error.detail}", 2)
    except (OSError, ValueError) as error:
        return _fail(f"cannot read {path}: {error}", 2)
    try:
        html.write_text(page, encoding="utf-8")
    except OSError as error:
        return _fail(f"cannot write {html}: {error}", 1)
    sys.stdout.write(f"{html}: the evidence page ({chosen}) of {path}\n")
    return 0


def _fail(message: str, status: int) -> int:
    """Write ``message`` as one line on standard error (line breaks in it become spaces); return ``status``."""
    sys.stderr.write(f"{PROG}: {' '.join(message.split())}\n")
    return status
