"""The Bulk Data client against the loopback stand-in (``tests.bulk_data_server``): each behaviour of a real server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from cds_service.ehr.backend_auth import BackendAuth, BackendClient, load_signing_key
from cds_service.ehr.bulk import (
    RULE_TYPES,
    BulkClientSettings,
    BulkExportClient,
    BulkExportError,
    ExportRequest,
    fhir_instant,
    observation_filter,
    retry_after,
)
from cds_service.ehr.bulk.events import Deleted, Downloaded, ParameterDropped, Polling, Retrying
from cds_service.ehr.bulk.transport import check_base
from cds_service.settings import Settings, SettingsError
from fhir_mappers.codes import code_table
from fhir_mappers.context import MappingContext
from fhir_mappers.errors import MappingError
from fhir_mappers.observation import map_observation
from tests.bulk_data_server import BulkServer, running_bulk_server
from tests.jwt_keys import SigningKey, es384_key, jwks, rs384_key

CLIENT_ID = "igrt-worklist"
IGG = {"system": "http://loinc.org", "code": "2465-3"}
PULSE = {"system": "http://loinc.org", "code": "8867-4"}
FAST = BulkClientSettings(backoff=0.05, max_backoff=2.0, retries=3, max_wait=30.0)


def _resources() -> list[dict[str, Any]]:
    """Three patients; each an IgG and a pulse Observation and a Condition; one Medication; p3 updated late."""
    found: list[dict[str, Any]] = [{"resourceType": "Medication", "id": "m1"}]
    for n in (1, 2, 3):
        updated = {"meta": {"lastUpdated": "2026-12-01T00:00:00Z"}} if n == 3 else {}
        subject = {"reference": f"Patient/p{n}"}
        found += [
            {"resourceType": "Patient", "id": f"p{n}", **updated},
            {"resourceType": "Observation", "id": f"igg{n}", "code": {"coding": [IGG]}, "subject": subject, **updated},
            {"resourceType": "Observation", "id": f"hr{n}", "code": {"coding": [PULSE]}, "subject": subject},
            {"resourceType": "Condition", "id": f"c{n}", "subject": subject},
            {"resourceType": "DocumentReference", "id": f"d{n}", "subject": subject},
        ]
    return found


def _pem(key: SigningKey, path: Path) -> Path:
    path.write_bytes(key.private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path


@pytest.fixture
def key() -> SigningKey:
    return es384_key("bulk-key")


@pytest.fixture
def server(key: SigningKey) -> Iterator[BulkServer]:
    stand_in = BulkServer(resources=_resources(), client_id=CLIENT_ID, jwks=jwks(key), groups={"g1": {"p1", "p3"}})
    with running_bulk_server(stand_in):
        yield stand_in


def _auth(server: BulkServer, key: SigningKey, tmp_path: Path) -> BackendAuth:
    client = BackendClient(CLIENT_ID, _pem(key, tmp_path / "key.pem"), key.kid, "system/Patient.rs")
    return BackendAuth(client, base=server.fhir_base)


def _export(
    server: BulkServer,
    tmp_path: Path,
    key: SigningKey | None,
    *,
    settings: BulkClientSettings = FAST,
    request: ExportRequest | None = None,
    events: list[Any] | None = None,
) -> Any:
    auth = _auth(server, key, tmp_path) if key is not None else None
    seen = events if events is not None else []
    client = BulkExportClient(server.fhir_base, settings, auth, on_event=seen.append)
    filters = observation_filter()
    asked = request or ExportRequest(type_filters=(filters,) if filters else ())
    try:
        return client.export(tmp_path / "export", asked)
    finally:
        client.close()


def _ids(directory: Path, pattern: str = "*.ndjson") -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in directory.glob(pattern):
        for line in path.read_text(encoding="utf-8").splitlines():
            resource = json.loads(line)
            found.setdefault(resource["resourceType"], set()).add(resource["id"])
    return found


@pytest.mark.parametrize("make_key", [es384_key, rs384_key], ids=["ES384", "RS384"])
def test_the_whole_flow_with_a_backend_services_token(make_key: Any, tmp_path: Path) -> None:
    key = make_key("bulk-key")
    stand_in = BulkServer(resources=_resources(), client_id=CLIENT_ID, jwks=jwks(key))
    events: list[Any] = []
    with running_bulk_server(stand_in):
        result = _export(stand_in, tmp_path, key, events=events)
    directory = tmp_path / "export"
    # only the types the rules read, and of the Observations only the codes they read (_typeFilter)
    assert _ids(directory) == {
        "Patient": {"p1", "p2", "p3"},
        "Observation": {"igg1", "igg2", "igg3"},
        "Condition": {"c1", "c2", "c3"},
        "Medication": {"m1"},
    }
    kickoff = stand_in.kickoffs[0]
    assert kickoff["_type"] == [",".join(RULE_TYPES)]
    assert kickoff["_outputFormat"] == ["application/fhir+ndjson"]
    assert "_typeFilter" in kickoff and "_since" not in kickoff
    # the local manifest: each url the file's path, the server's request kept (the worklist reads its base)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["request"] == f"{stand_in.fhir_base}/Patient/$export"
    assert sorted(item["url"] for item in manifest["output"]) == [
        "Condition_1.ndjson",
        "Medication_1.ndjson",
        "Observation_1.ndjson",
        "Patient_1.ndjson",
    ]
    assert manifest["error"][0]["url"] == "errors/OperationOutcome_1.ndjson"
    assert manifest["transactionTime"] == result.manifest.transaction_time
    # the error file kept apart, not among the data files
    assert (directory / "errors" / "OperationOutcome_1.ndjson").is_file()
    assert [local.relative for local in result.section("error")] == ["errors/OperationOutcome_1.ndjson"]
    # gzip accepted, every request authorized, the export deleted once at the end
    assert stand_in.gzipped == 5
    assert all(authorized for method, path, authorized in stand_in.seen if not path.startswith(("/auth", "/fhir/.")))
    assert stand_in.deletes == ["job1"]
    assert isinstance(events[-1], Deleted) and events[-1].status == 202
    assert sum(isinstance(event, Polling) for event in events) == 2
    assert [str(event) for event in events if isinstance(event, Downloaded)][-1].startswith("downloaded 5/5 files")
    # the assertion as SMART Backend Services wants it
    (claims,) = stand_in.assertions
    assert (claims["iss"], claims["sub"], claims["alg"], claims["kid"]) == (CLIENT_ID, CLIENT_ID, key.alg, "bulk-key")
    assert 0 < claims["exp"] - claims["iat"] <= 300


def test_files_are_numbered_per_type_when_the_server_splits_them(
    server: BulkServer, key: SigningKey, tmp_path: Path
) -> None:
    server.file_lines = 2
    _export(server, tmp_path, key)
    names = sorted(path.name for path in (tmp_path / "export").glob("*.ndjson"))
    assert names == [
        "Condition_1.ndjson",
        "Condition_2.ndjson",
        "Medication_1.ndjson",
        "Observation_1.ndjson",
        "Observation_2.ndjson",
        "Patient_1.ndjson",
        "Patient_2.ndjson",
    ]


def test_no_settings_no_authorization_header(tmp_path: Path) -> None:
    stand_in = BulkServer(resources=_resources())
    with running_bulk_server(stand_in):
        _export(stand_in, tmp_path, None)
    assert stand_in.seen and not any(authorized for _, _, authorized in stand_in.seen)
    assert not any(path.startswith("/auth") for _, path, _ in stand_in.seen)


def test_without_a_token_a_protected_server_is_an_auth_error(server: BulkServer, tmp_path: Path) -> None:
    with pytest.raises(BulkExportError) as refused:
        _export(server, tmp_path, None)
    assert refused.value.kind == "auth" and "CDS_BULK_CLIENT_ID" in refused.value.reason


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), ("0", 0.0), ("1.5", 1.5), ("-1", None), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_in_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after(value) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
    assert retry_after("Mon, 07 Dec 2026 10:02:00 GMT", now=now) == 120.0
    assert retry_after("Mon, 07 Dec 2026 09:00:00 GMT", now=now) == 0.0  # in the past: at once


@pytest.mark.parametrize("kind", ["seconds", "http-date"])
def test_polling_waits_as_retry_after_says(server: BulkServer, key: SigningKey, tmp_path: Path, kind: str) -> None:
    server.polls_before_ready = 1
    if kind == "seconds":
        server.retry_after = "1"
    else:  # an HTTP-date two seconds after the answer (whole seconds: between 1 and 2 s of waiting), made when the
        # server answers: made at the test's start, a slow kick-off ate into it (one run waited 0.78 s)
        server.retry_after_date_in = 2
    events: list[Any] = []
    started = time.monotonic()
    _export(server, tmp_path, key, events=events)
    assert time.monotonic() - started >= 1.0
    (polling,) = [event for event in events if isinstance(event, Polling)]
    assert polling.progress == "50% complete" and 1.0 <= polling.wait <= 2.0
    assert "export in progress (50% complete)" in str(polling)


def test_a_429_and_a_503_are_retried(server: BulkServer, key: SigningKey, tmp_path: Path) -> None:
    server.throttle_once = server.unavailable_once = True
    events: list[Any] = []
    result = _export(server, tmp_path, key, events=events)
    assert len(result.files) == 5
    retried = sorted(str(event) for event in events if isinstance(event, Retrying))
    assert len(retried) == 2
    assert any("HTTP 429" in line for line in retried) and any("HTTP 503" in line for line in retried)


def test_an_expired_token_is_refreshed_once(server: BulkServer, key: SigningKey, tmp_path: Path) -> None:
    server.expire_token_after = 3  # kick-off, two polls; the manifest poll gets a 401
    result = _export(server, tmp_path, key)
    assert len(result.files) == 5
    assert len(server.assertions) >= 2
    assert len({claims["jti"] for claims in server.assertions}) == len(server.assertions)


def test_a_token_refused_after_the_refresh_is_an_auth_error(
    server: BulkServer, key: SigningKey, tmp_path: Path
) -> None:
    server.expire_token_after = 0  # every token is refused at once
    with pytest.raises(BulkExportError) as refused:
        _export(server, tmp_path, key)
    assert refused.value.kind == "auth" and "HTTP 401" in refused.value.reason
    assert len(server.assertions) == 2  # the first token and exactly one refresh
    assert not server.jobs  # never kicked off


def test_a_manifest_on_another_host_is_refused(server: BulkServer, key: SigningKey, tmp_path: Path) -> None:
    server.file_origin = server.base.replace("127.0.0.1", "localhost")  # the same server, another origin
    with pytest.raises(BulkExportError) as refused:
        _export(server, tmp_path, key)
    assert refused.value.kind == "not-allowed"
    assert not any(path.startswith("/files") for _, path, _ in server.seen)
    assert server.deletes == ["job1"]  # ended on the server all the same


@pytest.mark.parametrize("requires_token", [True, False])
def test_a_listed_file_server_is_used_and_gets_the_token_only_when_required(
    server: BulkServer, key: SigningKey, tmp_path: Path, requires_token: bool
) -> None:
    server.file_origin = server.base.replace("127.0.0.1", "localhost")
    server.requires_access_token = requires_token
    settings = replace(FAST, file_servers=(server.file_origin,))
    result = _export(server, tmp_path, key, settings=settings)
    assert len(result.files) == 5
    sent = {authorized for _, path, authorized in server.seen if path.startswith("/files")}
    assert sent == {requires_token}


def test_the_poll_bound_cancels_the_export(server: BulkServer, key: SigningKey, tmp_path: Path) -> None:
    server.never_ready = True
    server.retry_after = "0.2"
    started = time.monotonic()
    with pytest.raises(BulkExportError) as late:
        _export(server, tmp_path, key, settings=replace(FAST, max_wait=1.0))
    assert late.value.kind == "timeout" and "CDS_BULK_MAX_WAIT_SECONDS" in late.value.reason
    assert 0.8 <= time.monotonic() - started < 3.0
    assert server.deletes == ["job1"]


@pytest.mark.parametrize("during", [Polling, Downloaded])
def test_cancelling_deletes_the_export(server: BulkServer, key: SigningKey, tmp_path: Path, during: type) -> None:
    server.file_lines = 1  # many files: cancelled after the first

    def cancel(event: Any) -> None:
        if isinstance(event, during):
            raise KeyboardInterrupt

    auth = _auth(server, key, tmp_path)
    client = BulkExportClient(server.fhir_base, FAST, auth, on_event=cancel)
    with pytest.raises(KeyboardInterrupt):
        client.export(tmp_path / "export", ExportRequest())
    assert server.deletes == ["job1"]
    assert not list((tmp_path / "export").rglob("*.part"))
    assert not (tmp_path / "export" / "manifest.json").exists()


def test_a_refused_type_filter_is_dropped(server: BulkServer, key: SigningKey, tmp_path: Path) -> None:
    server.type_filter_supported = False
    events: list[Any] = []
    result = _export(server, tmp_path, key, events=events)
    assert result.dropped == ("_typeFilter",)
    assert ["_typeFilter" in kickoff for kickoff in server.kickoffs] == [True, False]
    assert any(isinstance(event, ParameterDropped) for event in events)
    assert _ids(tmp_path / "export")["Observation"] == {"igg1", "igg2", "igg3", "hr1", "hr2", "hr3"}


def test_since_and_group_are_asked_for(server: BulkServer, key: SigningKey, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _export(server, tmp_path / "a", key, request=ExportRequest(since=fhir_instant("2026-06-01T00:00:00Z")))
    assert _ids(tmp_path / "a" / "export") == {"Patient": {"p3"}, "Observation": {"igg3"}}
    assert server.kickoffs[0]["_since"] == ["2026-06-01T00:00:00Z"]
    _export(server, tmp_path / "b", key, request=ExportRequest(group="g1"))
    assert _ids(tmp_path / "b" / "export")["Patient"] == {"p1", "p3"}
    assert any(path == "/fhir/Group/g1/$export" for _, path, _ in server.seen)


@pytest.mark.parametrize(
    ("limits", "cap"),
    [({"max_file_bytes": 200}, "CDS_BULK_MAX_FILE_BYTES"), ({"max_total_bytes": 600}, "CDS_BULK_MAX_TOTAL_BYTES")],
)
def test_byte_caps(server: BulkServer, key: SigningKey, tmp_path: Path, limits: dict[str, int], cap: str) -> None:
    with pytest.raises(BulkExportError) as large:
        _export(server, tmp_path, key, settings=replace(FAST, downloads=1, **limits))
    assert large.value.kind == "too-large" and cap in large.value.reason
    assert server.deletes == ["job1"]
    assert not list((tmp_path / "export").rglob("*.part"))


def test_the_download_directory_must_be_new_or_empty(server: BulkServer, key: SigningKey, tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "Patient.ndjson").write_text("{}\n", encoding="utf-8")
    with pytest.raises(BulkExportError, match="not an empty directory"):
        _export(server, tmp_path, key)
    assert not server.kickoffs


@pytest.mark.parametrize(
    ("base", "settings", "allowed"),
    [
        ("https://ehr.example/fhir", FAST, True),
        ("http://ehr.example/fhir", FAST, False),
        ("http://ehr.example/fhir", replace(FAST, allow_http=True), True),
        ("http://127.0.0.1:8080/fhir", FAST, True),
        ("https://ehr.example/fhir/../admin", FAST, False),
        ("https://ehr.example/fhir?x=1", FAST, False),
        ("ftp://ehr.example/fhir", FAST, False),
        ("https://ehr.example/fhir", replace(FAST, allowlist=("https://ehr.example/fhir",)), True),
        ("https://other.example/fhir", replace(FAST, allowlist=("https://ehr.example/fhir",)), False),
    ],
)
def test_which_servers_may_be_asked(base: str, settings: BulkClientSettings, allowed: bool) -> None:
    if allowed:
        assert check_base(base, settings) == base
    else:
        with pytest.raises(BulkExportError) as refused:
            check_base(base, settings)
        assert refused.value.kind == "not-allowed"


def test_the_observation_filter_holds_every_code_the_mapper_reads() -> None:
    """Every exact code in the table whose Observation the mapper uses (or refuses) is asked for by the filter."""
    query = observation_filter()
    assert query is not None and query.startswith("Observation?code=")
    asked = set(query.removeprefix("Observation?code=").split(","))
    ctx = MappingContext(tz=ZoneInfo("Europe/Copenhagen"), codes=code_table())
    read = []
    for row in code_table().rows:
        if row.match != "exact":
            continue
        observation = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": row.system, "code": row.code}]},
            "valueQuantity": {"value": 5, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"},
            "effectiveDateTime": "2026-11-01",
            "subject": {"reference": "Patient/p"},
        }
        try:
            mapped = map_observation(observation, ctx, "Observation/o")
        except MappingError:
            mapped = True  # refused, so read: its code must be asked for
        if mapped is not None:
            read.append(f"{row.system}|{row.code}")
    assert read and set(read) <= asked


def test_keys_are_rs384_or_es384_only(tmp_path: Path) -> None:
    assert load_signing_key(_pem(rs384_key(), tmp_path / "rsa.pem")).alg == "RS384"
    assert load_signing_key(_pem(es384_key(), tmp_path / "ec.pem")).alg == "ES384"
    weak = SigningKey("k", "RS384", rsa.generate_private_key(public_exponent=65537, key_size=1024))
    p256 = SigningKey("k", "ES256", ec.generate_private_key(ec.SECP256R1()))
    for bad in (weak, p256):
        with pytest.raises(BulkExportError, match="RSA key of at least 2048 bits"):
            load_signing_key(_pem(bad, tmp_path / "bad.pem"))
    (tmp_path / "junk.pem").write_text("not a key", encoding="utf-8")
    with pytest.raises(BulkExportError, match="not an unencrypted PEM private key"):
        load_signing_key(tmp_path / "junk.pem")


def test_errors_and_events_never_carry_the_token(server: BulkServer, key: SigningKey, tmp_path: Path) -> None:
    server.expire_token_after = 0
    events: list[Any] = []
    with pytest.raises(BulkExportError) as refused:
        _export(server, tmp_path, key, events=events)
    said = str(refused.value) + "".join(str(event) for event in events)
    assert server.assertions and "bulk-" not in said  # every token the stand-in issues starts so


def test_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CDS_AUTH", "off")
    monkeypatch.setenv("CDS_BULK_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CDS_BULK_PRIVATE_KEY_FILE", str(tmp_path / "key.pem"))
    monkeypatch.setenv("CDS_BULK_KEY_ID", "k1")
    monkeypatch.setenv("CDS_BULK_MAX_WAIT_SECONDS", "60")
    monkeypatch.setenv("CDS_BULK_FILE_SERVERS", "https://files.example/exports")
    monkeypatch.setenv("CDS_FHIR_SERVER_ALLOWLIST", "https://ehr.example/fhir")
    settings = Settings.from_environment()
    assert settings.bulk.authenticated and settings.bulk.scopes.split()[0] == "system/Patient.rs"
    limits = settings.bulk_client
    assert limits.max_wait == 60.0 and limits.file_servers == ("https://files.example/exports",)
    assert limits.allowlist == ("https://ehr.example/fhir",) and limits.read_timeout == settings.ehr.read_timeout
    monkeypatch.delenv("CDS_BULK_KEY_ID")
    with pytest.raises(SettingsError, match="CDS_BULK_KEY_ID: needed"):
        Settings.from_environment()
