"""``cds-service cohort --from-fhir``: the export fetched from the loopback stand-in and evaluated, through the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from cohort.synth import templates_by_patient, write_synthetic_cohort
from commands.cli import main
from commands.upload import DEFAULT_FIXTURES, fixture_transaction
from tests.bulk_data_server import BulkServer, running_bulk_server
from tests.jwt_keys import SigningKey, jwks, rs384_key

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 20)
CLIENT_ID = "igrt-worklist"


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 synthetic patients as Bulk NDJSON (``synth-cohort``'s basic profile)."""
    directory = tmp_path_factory.mktemp("synth")
    bundle, _ = fixture_transaction(DEFAULT_FIXTURES, today=AS_OF)
    templates, shared = templates_by_patient([entry["resource"] for entry in bundle["entry"]])
    write_synthetic_cohort(120, directory, templates=templates, shared=shared, as_of=AS_OF, seed=7)
    return directory


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return rs384_key("worklist-key")


@pytest.fixture
def server(cohort_dir: Path, key: SigningKey) -> Iterator[BulkServer]:
    stand_in = BulkServer.from_directory(cohort_dir, client_id=CLIENT_ID, jwks=jwks(key), file_lines=100)
    with running_bulk_server(stand_in):
        yield stand_in


@pytest.fixture
def bulk_env(monkeypatch: pytest.MonkeyPatch, key: SigningKey, tmp_path: Path) -> dict[str, str]:
    pem = tmp_path / "client-key.pem"
    pem.write_bytes(key.private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    env = {
        "CDS_AUTH": "off",
        "CDS_BULK_CLIENT_ID": CLIENT_ID,
        "CDS_BULK_PRIVATE_KEY_FILE": str(pem),
        "CDS_BULK_KEY_ID": key.kid,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _lines(directory: Path) -> int:
    return sum(len(path.read_text(encoding="utf-8").splitlines()) for path in directory.glob("*.ndjson"))


def _rows(out: Path) -> list[str]:
    return (out / "worklist.csv").read_text(encoding="utf-8").splitlines()


def test_the_fetched_export_gives_the_worklist_of_the_same_files_read_directly(
    server: BulkServer,
    bulk_env: dict[str, str],
    cohort_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CDS_AUDIT_HMAC_KEY", "k" * 32)  # one pseudonym key for both runs
    fetched, direct = tmp_path / "fetched", tmp_path / "direct"
    common = ["--as-of", AS_OF.isoformat(), "--workers", "1"]
    assert main(["cohort", "--from-fhir", server.fhir_base, "--out", str(fetched), *common]) == 0
    err = capsys.readouterr().err
    assert main(["cohort", str(cohort_dir), "--out", str(direct), *common]) == 0
    # the same patients, decisions and dates, though the export held only what the rules read
    assert _rows(fetched) == _rows(direct) and len(_rows(direct)) > 10
    [downloaded] = (fetched / "export").iterdir()  # each fetch in its own folder, named by its UTC time
    assert re.fullmatch(r"\d{8}T\d{6}Z", downloaded.name), downloaded
    assert (downloaded / "manifest.json").is_file() and (downloaded / "errors" / "OperationOutcome_1.ndjson").is_file()
    assert _lines(downloaded) < _lines(cohort_dir)  # vitals stayed on the server
    # progress and the outcome on standard error; the token nowhere
    assert "bulk export: export started: Patient/$export" in err
    assert "export in progress (33% complete)" in err
    assert "export deleted on the server (downloaded)" in err
    assert "next time --since 2026-12-07T10:00:00Z" in err
    assert "error files (OperationOutcome, not read as data)" in err
    assert "bulk-" not in err and server.deletes == ["job1"]


def test_without_client_settings_it_says_no_token_is_sent(
    cohort_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CDS_AUTH", "off")
    stand_in = BulkServer.from_directory(cohort_dir)
    with running_bulk_server(stand_in):
        code = main(["cohort", "--from-fhir", stand_in.fhir_base, "--out", str(tmp_path / "out"), "--workers", "1"])
    assert code == 0
    assert "no CDS_BULK_CLIENT_ID set: requests carry no Authorization header" in capsys.readouterr().err
    assert not any(authorized for _, _, authorized in stand_in.seen)


def test_a_failed_export_exits_1_with_the_reason(
    server: BulkServer, bulk_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.file_origin = server.base.replace("127.0.0.1", "localhost")
    code = main(["cohort", "--from-fhir", server.fhir_base, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert re.search(r"cds-service cohort: --from-fhir: output file \w+_\d+\.ndjson: the URL is on another host", err)
    assert not (tmp_path / "out" / "worklist.csv").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["cohort", "--out", "x"],  # neither
        ["cohort", "in", "--from-fhir", "https://ehr.example/fhir", "--out", "x"],  # both
        ["cohort", "in", "--since", "2026-01-01T00:00:00Z", "--out", "x"],  # --since without --from-fhir
        ["cohort", "--from-fhir", "https://ehr.example/fhir", "--since", "2026-01-01", "--out", "x"],  # no time
        ["cohort", "--from-fhir", "https://ehr.example/fhir", "--group", "a/b", "--out", "x"],  # not an id
    ],
    ids=["neither", "both", "since-without-fhir", "since-not-instant", "group-not-id"],
)
def test_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_polling_deletes_the_export(
    server: BulkServer, bulk_env: dict[str, str], tmp_path: Path, signum: int
) -> None:
    server.never_ready = True
    server.retry_after = "0.2"
    env = {**os.environ, **bulk_env}
    process = subprocess.Popen(
        [sys.executable, "-m", "commands.cli", "cohort", "--from-fhir", server.fhir_base, "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(job.polls >= 2 for job in server.jobs.values()):
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "cancelled (the export was deleted on the server)" in err
    assert server.deletes == ["job1"]
    assert json.dumps(server.kickoffs)  # one kick-off, nothing downloaded
    assert not any(path.startswith("/files") for _, path, _ in server.seen)
