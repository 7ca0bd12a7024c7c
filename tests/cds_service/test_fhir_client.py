"""The FHIR client against a real local HTTP FHIR server: concurrency, timeouts and the total budget."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from cds_service.ehr.fhir_client import Fetched, FhirAccessError, FhirClient, FhirClientSettings
from tests.fhir_server import FhirStore, running_fhir_server

TOKEN = "local-token"


@pytest.fixture
def fhir() -> Iterator[tuple[str, FhirStore]]:
    store = FhirStore(page_size=2, token=TOKEN)
    for n in range(5):
        store.resources[f"Observation/o{n}"] = {
            "resourceType": "Observation",
            "id": f"o{n}",
            "subject": {"reference": "Patient/p1"},
        }
    store.resources["Patient/p1"] = {"resourceType": "Patient", "id": "p1"}
    with running_fhir_server(store) as base:
        yield base, store


def client(base: str, **limits: float) -> FhirClient:
    return FhirClient(FhirClientSettings(allowlist=(base,), allow_http=True, **limits))  # type: ignore[arg-type]


def test_pages_are_followed_and_merged(fhir: tuple[str, FhirStore]) -> None:
    base, store = fhir
    results = client(base).fetch_all(base, TOKEN, {"o": "Observation?patient=p1", "p": "Patient/p1", "x": "Patient/x"})
    observations = results["o"]
    assert isinstance(observations, Fetched) and observations.value is not None
    assert [e["resource"]["id"] for e in observations.value["entry"]] == [f"o{n}" for n in range(5)]
    assert results["x"] == Fetched(None)  # a read that finds nothing
    assert sum("_getpages" in r for r in store.requests) == 2


def test_queries_run_concurrently_within_the_budget(fhir: tuple[str, FhirStore]) -> None:
    base, store = fhir
    store.delay = 0.3
    started = time.monotonic()
    results = client(base, budget=2.0, read_timeout=1.0).fetch_all(
        base, TOKEN, {f"k{n}": "Patient/p1" for n in range(4)}
    )
    elapsed = time.monotonic() - started
    assert all(isinstance(r, Fetched) for r in results.values())
    assert elapsed < 1.0  # four 0.3 s requests in parallel, not 1.2 s in sequence


def test_a_slow_server_is_cut_off_at_the_budget(fhir: tuple[str, FhirStore]) -> None:
    base, store = fhir
    store.delay = 1.0
    started = time.monotonic()
    results = client(base, budget=0.3, read_timeout=5.0).fetch_all(base, TOKEN, {"p": "Patient/p1"})
    assert time.monotonic() - started < 0.9
    assert isinstance(results["p"], FhirAccessError) and "timed out" in results["p"].reason


def test_read_timeout(fhir: tuple[str, FhirStore]) -> None:
    base, store = fhir
    store.delay = 0.6
    results = client(base, budget=5.0, read_timeout=0.2).fetch_all(base, TOKEN, {"p": "Patient/p1"})
    assert isinstance(results["p"], FhirAccessError) and results["p"].reason == "the FHIR server timed out"


def test_a_wrong_token_is_refused(fhir: tuple[str, FhirStore]) -> None:
    base, _ = fhir
    (result,) = client(base).fetch_all(base, "other", {"p": "Patient/p1"}).values()
    assert isinstance(result, FhirAccessError) and "HTTP 401" in result.reason


def test_nothing_listening_is_reported(fhir: tuple[str, FhirStore]) -> None:
    dead = "http://127.0.0.1:9/fhir"
    (result,) = client(dead).fetch_all(dead, TOKEN, {"p": "Patient/p1"}).values()
    assert isinstance(result, FhirAccessError) and "could not reach" in result.reason
