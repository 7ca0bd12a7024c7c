"""The run as the worklist page's last section tells it: input, export time, settings, versions, engine, duration.

A reader of the page (a clinician asked "is this last week's?", a data engineer reproducing a run) needs what went
in and how: the export directory, its server base and ``transactionTime`` (from its Bulk Data ``manifest.json``, the
instant the export reflects), the interpretation settings that differ from the defaults, the guideline and service
versions, the engine and the time taken.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson

from cohort.export import MANIFEST, MAX_MANIFEST_BYTES, Export
from cohort.worklist_html import RunDetails
from guideline.parameters import DEFAULT_PARAMETERS, Parameters

DISTRIBUTION = "sid-igrt-cds"
"""The installed distribution whose version is the service version."""


def run_details(
    export: Export,
    *,
    parameters: Parameters,
    compare: Parameters | None,
    guideline_version: str,
    workers: int,
    seconds: float,
    display_system: str | None,
    display_key: str = "",
    notes: tuple[str, ...] = (),
) -> RunDetails:
    """Return the ``RunDetails`` of a run (``workers`` 0: the Spark engine; ``seconds``: reading and evaluating).

    ``display_key``: where the pseudonym key came from (``""``: none given, ``cohort.display.PUBLIC_KEY``).
    """
    keyed = f"keyed by {display_key}" if display_key else "not keyed: no key given, so not secret"
    return RunDetails(
        input=str(export.directory),
        fhir_base=export.describe_base(),
        transaction_time=transaction_time(export),
        guideline_version=guideline_version,
        service_version=service_version(),
        engine="Spark" if workers == 0 else f"local, {workers} process{'es' if workers != 1 else ''}",
        seconds=seconds,
        display=(
            f"Patient.identifier {display_system} (a pseudonym, {keyed}, where a patient has none)"
            if display_system
            else f"a pseudonym ({keyed}; no --display-identifier given)"
        ),
        shown_by=f"their {display_system} identifier (else a pseudonym)" if display_system else "a pseudonym",
        settings=_differences(DEFAULT_PARAMETERS, parameters),
        compared=_differences(parameters, compare) if compare is not None else (),
        notes=notes,
    )


def transaction_time(export: Export) -> str:
    """Return the ``transactionTime`` of the export's ``manifest.json``, or ``""`` (none, unreadable, not a string)."""
    path = export.directory / MANIFEST
    try:
        if not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return ""
        manifest: Any = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return ""
    value = manifest.get("transactionTime") if isinstance(manifest, dict) else None
    return value if isinstance(value, str) else ""


def service_version() -> str:
    """The installed service's version (``sid-igrt-cds``), or ``"unknown"`` when it is not installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def _differences(before: Parameters, after: Parameters) -> tuple[tuple[str, str, str], ...]:
    mine, theirs = before.model_dump(), after.model_dump()
    return tuple((name, str(mine[name]), str(theirs[name])) for name in mine if mine[name] != theirs[name])
