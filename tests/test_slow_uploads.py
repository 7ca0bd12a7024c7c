"""Slow uploads cannot block large hook calls (issue "hold under attack", item 6), against the real server process.

Four authenticated clients send a chunked hook call one small chunk at a time. Before the fix each took the
process's large-request slot before its body was read, and the read had no deadline, so every call over
``CDS_LARGE_REQUEST_BYTES`` answered 503 while they lasted. Now the body is read first, within the latency budget:
the slow uploads are answered 408 at their deadline and the large calls sent meanwhile get their cards.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.cds_service.test_serving import golden_request
from tests.jwt_keys import ISSUER, SigningKey, client_jwt, es384_key, jwks
from tests.live_server import LiveService, running_service

pytestmark = pytest.mark.e2e
SLOW_UPLOADS = 4
ATTACK_SECONDS = 6.0
BUDGET_MS = 1000


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[LiveService, SigningKey]]:
    client = es384_key("client-1")
    jwks_file = tmp_path / "client.jwks.json"
    jwks_file.write_text(json.dumps(jwks(client)), encoding="utf-8")
    issuers_file = tmp_path / "issuers.json"
    issuers_file.write_text(json.dumps({ISSUER: {"jwks_file": str(jwks_file)}}), encoding="utf-8")
    env = {
        "CDS_AUTH": "required",
        "CDS_TRUSTED_ISSUERS_FILE": str(issuers_file),
        "CDS_LATENCY_BUDGET_MS": str(BUDGET_MS),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}",
    }
    with running_service(env, tmp_path / "service.log", workers=1) as live:
        yield live, client


def _slow_chunked_upload(base: str, path: str, token: str, stop: threading.Event, outcome: list[str]) -> None:
    """Send headers, then one 4-byte chunk every 100 ms until ``stop`` or the server answers; record the status."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=ATTACK_SECONDS + 5) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        sock.setblocking(False)
        answer = b""
        while not stop.is_set():
            try:
                answer += sock.recv(4096)
            except BlockingIOError:
                pass
            except OSError:
                break
            if answer:
                break
            try:
                sock.sendall(b"4\r\n    \r\n")
            except OSError:
                break
            time.sleep(0.1)
        outcome.append(answer.split(b"\r\n", 1)[0].decode(errors="replace") or "no answer")


def test_slow_chunked_uploads_do_not_stop_large_calls(service: tuple[LiveService, SigningKey]) -> None:
    live, key = service
    path, request = golden_request("pop2-window-igg-below-4-start")
    url = f"{live.base}{path}"
    large_body = json.dumps(request).encode() + b" " * (1024 * 1024 + 1)  # over CDS_LARGE_REQUEST_BYTES (1 MiB)
    stop, outcomes = threading.Event(), []  # type: ignore[var-annotated]
    attackers = [
        threading.Thread(target=_slow_chunked_upload, args=(live.base, path, client_jwt(key, url), stop, outcomes))
        for _ in range(SLOW_UPLOADS)
    ]
    for attacker in attackers:
        attacker.start()
    time.sleep(0.3)  # the uploads have started and are being read
    statuses = []
    started = time.monotonic()
    while time.monotonic() - started < ATTACK_SECONDS - 1:
        headers = {"Authorization": f"Bearer {client_jwt(key, url)}", "Content-Type": "application/json"}
        response = requests.post(url, data=large_body, headers=headers, timeout=10)
        statuses.append(response.status_code)
        if response.status_code == 200:
            assert response.json()["cards"], "a large call answered without cards"
        time.sleep(0.3)
    stop.set()
    for attacker in attackers:
        attacker.join(10)
    assert statuses and set(statuses) == {200}, statuses
    assert [line.split(" ")[1] for line in outcomes] == ["408"] * SLOW_UPLOADS, outcomes
