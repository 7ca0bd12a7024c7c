"""Uploading the synthetic fixture patients to a FHIR R4 server (``cds-service load-fixtures``), for testers.

The fixture requests (``fixtures/golden/<service>/<case>/request.json``) carry each patient's data as prefetch.
This module turns it into one FHIR ``transaction`` Bundle of ``PUT`` entries, so ids are stable and the Sandbox
(or any client) can open ``Patient/<patientId>`` by the id docs/integrating.md lists. Resource ids are prefixed with the
patient id (fixtures reuse short ids such as ``igg-1``) and references are rewritten to match. Resources of other
patients and OperationOutcome entries (test data for exclusion rules) are left out. Draft orders are not uploaded:
they are what the clinician is ordering in the hook, not stored data.
"""

from __future__ import annotations

import copy
import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from fhir_mappers.references import with_references_renamed

DEFAULT_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "golden"


class FixtureUploadError(RuntimeError):
    """The fixtures cannot be read, or the FHIR server refused the transaction."""


@dataclass(frozen=True)
class UploadSummary:
    """What was uploaded: the resource count and, per patient id, the fixture cases that use it."""

    resources: int
    patients: Mapping[str, tuple[str, ...]]


def fixture_transaction(
    fixtures: Path, *, today: date | None = None
) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
    """Build the transaction Bundle from every fixture request under ``fixtures``.

    Args:
        fixtures: the ``fixtures/golden`` directory.
        today: move every date of a patient's data by ``today - asOf`` days (``asOf``: the evaluation date in its
            case's ``case.json``), so the patient looks on ``today`` as it did on ``asOf`` and a service evaluating
            as of today gives the golden card. ``None``: the dates as written.

    Returns:
        ``(bundle, {patientId: (case, ...)})``.

    Raises:
        FixtureUploadError: no fixtures, an unreadable request, or two cases disagreeing about one resource.
    """
    resources: dict[str, dict[str, Any]] = {}
    cases: dict[str, list[str]] = defaultdict(list)
    paths = sorted(fixtures.glob("*/*/request.json"))
    if not paths:
        raise FixtureUploadError(f"no fixture requests under {fixtures}")
    for path in paths:
        try:
            request = json.loads(path.read_text(encoding="utf-8"))
            patient_id = str(request["context"]["patientId"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise FixtureUploadError(f"cannot read {path}: {error}") from error
        cases[patient_id].append(f"{path.parent.parent.name}/{path.parent.name}")
        days = (today - case_as_of(path.parent)).days if today is not None else 0
        for resource in _patient_resources(request.get("prefetch") or {}, patient_id):
            resource = shift_dates(resource, days)
            key = f"{resource['resourceType']}/{resource['id']}"
            if key in resources and resources[key] != resource:
                # Cases share a patient only with the same data; anything else would upload a different patient.
                raise FixtureUploadError(f"fixtures disagree about {key} ({path.parent.name})")
            resources[key] = resource
    entries = [
        {"resource": r, "request": {"method": "PUT", "url": key}}
        for key, r in sorted(resources.items(), key=lambda kv: (kv[1]["resourceType"] != "Patient", kv[0]))
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    return bundle, {pid: tuple(c) for pid, c in cases.items()}


def upload_fixtures(
    base_url: str, fixtures: Path, *, token: str | None = None, timeout: float = 60, today: date | None = None
) -> UploadSummary:
    """POST the fixture transaction to ``base_url`` and check every entry succeeded.

    ``today``: dates moved so the data looks on ``today`` as on its fixture date (``fixture_transaction``).

    Raises:
        FixtureUploadError: unreachable server, a non-2xx answer, or an entry that failed.
    """
    bundle, patients = fixture_transaction(fixtures, today=today)
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = requests.post(base_url.rstrip("/"), data=json.dumps(bundle), headers=headers, timeout=timeout)
    except requests.RequestException as error:
        raise FixtureUploadError(f"cannot reach {base_url}: {type(error).__name__}") from error
    if not 200 <= response.status_code < 300:
        raise FixtureUploadError(f"{base_url} answered HTTP {response.status_code}: {response.text[:500]}")
    try:
        answer = response.json()
        statuses = [str(e["response"]["status"]) for e in answer.get("entry", [])]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise FixtureUploadError("the server's answer is not a transaction-response Bundle") from error
    failed = [s for s in statuses if not s.startswith("2")]
    if failed or len(statuses) != len(bundle["entry"]):
        raise FixtureUploadError(f"{len(failed)} entries failed ({', '.join(failed[:5])})")
    return UploadSummary(resources=len(bundle["entry"]), patients=patients)


_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")


def case_as_of(case_directory: Path) -> date:
    """Return the evaluation date of a fixture case (``asOf`` in its ``case.json``).

    Raises:
        FixtureUploadError: no readable ``case.json`` with an ISO ``asOf``.
    """
    try:
        return date.fromisoformat(json.loads((case_directory / "case.json").read_text(encoding="utf-8"))["asOf"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise FixtureUploadError(f"cannot read the asOf date of {case_directory.name}: {error}") from error


def shift_dates(value: Any, days: int) -> Any:
    """Return ``value`` with every FHIR ``date`` / ``dateTime`` / ``instant`` string moved by ``days`` days.

    Full dates only (``YYYY-MM-DD`` with or without a time, which is kept); a year or year-month is left as it is.
    Whole days keep every interval in days; a rule in calendar months may move by a day at a month's end.
    """
    if days == 0:
        return value
    if isinstance(value, dict):
        return {key: shift_dates(child, days) for key, child in value.items()}
    if isinstance(value, list):
        return [shift_dates(child, days) for child in value]
    if isinstance(value, str) and (match := _DATE.match(value)):
        try:
            moved = date.fromisoformat(match.group(1)) + timedelta(days=days)
        except ValueError:
            return value
        return moved.isoformat() + (match.group(2) or "")
    return value


def _patient_resources(prefetch: Mapping[str, Any], patient_id: str) -> Iterator[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for value in prefetch.values():
        if not isinstance(value, Mapping):
            continue
        if value.get("resourceType") == "Bundle":
            for entry in value.get("entry") or []:
                resource = entry.get("resource") if isinstance(entry, Mapping) else None
                if isinstance(resource, Mapping):
                    found.append(copy.deepcopy(dict(resource)))
        else:
            found.append(copy.deepcopy(dict(value)))
    found = [r for r in found if r.get("resourceType") not in (None, "OperationOutcome") and _belongs(r, patient_id)]
    renamed = _renames(found, patient_id)
    for n, resource in enumerate(found):
        kind = resource["resourceType"]
        resource["id"] = renamed[f"{kind}/{resource.get('id') or f'{kind.lower()}-{n}'}"].split("/", 1)[1]
    for resource in found:
        yield with_references_renamed(resource, renamed)


def draft_orders_renamed(draft_orders: Any, prefetch: Mapping[str, Any], patient_id: str) -> Any:
    """Return a case's ``draftOrders`` with references to the patient's resources renamed as uploaded.

    The uploader gives every resource a patient-unique id (``_patient_resources``); a draft order's
    ``reasonReference`` to the patient's Condition must name the uploaded one.
    """
    renamed = _renames(list(_patient_resources_as_given(prefetch, patient_id)), patient_id)
    # Only the patient's Conditions (reasonReference): a draft's Medication entries travel with the draft itself.
    conditions = {old: new for old, new in renamed.items() if old.startswith("Condition/")}
    return with_references_renamed(draft_orders, conditions)


def _patient_resources_as_given(prefetch: Mapping[str, Any], patient_id: str) -> Iterator[Mapping[str, Any]]:
    for value in prefetch.values():
        if isinstance(value, Mapping) and value.get("resourceType") == "Bundle":
            for entry in value.get("entry") or []:
                resource = entry.get("resource") if isinstance(entry, Mapping) else None
                if isinstance(resource, Mapping) and resource.get("resourceType") not in (None, "OperationOutcome"):
                    if _belongs(resource, patient_id):
                        yield resource
        elif isinstance(value, Mapping) and value.get("resourceType") not in (None, "OperationOutcome"):
            if _belongs(value, patient_id):
                yield value


def _renames(found: list[Any], patient_id: str) -> dict[str, str]:
    renamed: dict[str, str] = {}
    for n, resource in enumerate(found):
        kind = resource["resourceType"]
        old = str(resource.get("id") or f"{kind.lower()}-{n}")
        new = patient_id if kind == "Patient" else _new_id(patient_id, old)
        renamed[f"{kind}/{old}"] = f"{kind}/{new}"
    return renamed


def _belongs(resource: Mapping[str, Any], patient_id: str) -> bool:
    if resource.get("resourceType") == "Patient":
        return resource.get("id") == patient_id
    if resource.get("resourceType") == "Medication":
        return True
    for field in ("subject", "patient"):
        ref = resource.get(field)
        if isinstance(ref, Mapping) and isinstance(ref.get("reference"), str):
            return bool(str(ref["reference"]).endswith(f"Patient/{patient_id}"))
    return False


def _new_id(patient_id: str, old: str) -> str:
    new = old if old.startswith(patient_id + "-") else f"{patient_id}-{old}"
    return new[:64]
