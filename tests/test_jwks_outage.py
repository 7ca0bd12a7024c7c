"""A trusted issuer's JWKS URL that hangs cannot take the service down (issue "hold under attack", item 1).

Against the real server process: forged tokens that name the trusted issuer, a random ``kid`` and the attacker's
own key make the service look the key up at the issuer's JWKS URL, which accepts connections and never answers.
While 16 such calls are in flight, liveness and discovery (with a valid token) must answer within 1 s; before the
fix every worker thread queued behind one lock around the fetch and liveness timed out.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.jwt_keys import ISSUER, SigningKey, client_jwt, es384_key, jwks
from tests.live_server import LiveService, running_service

pytestmark = pytest.mark.e2e
HANGING_ISSUER = "https://idp.hospital.example/cds-client"
FORGED_CALLS = 16


@pytest.fixture
def hanging_jwks() -> Iterator[str]:
    """A JWKS 'server' on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                held.append(connection)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/jwks.json"
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        server.close()


@pytest.fixture
def service(tmp_path: Path, hanging_jwks: str) -> Iterator[tuple[LiveService, SigningKey]]:
    client = es384_key("client-1")
    jwks_file = tmp_path / "client.jwks.json"
    jwks_file.write_text(json.dumps(jwks(client)), encoding="utf-8")
    issuers = {ISSUER: {"jwks_file": str(jwks_file)}, HANGING_ISSUER: {"jwks_url": hanging_jwks}}
    issuers_file = tmp_path / "issuers.json"
    issuers_file.write_text(json.dumps(issuers), encoding="utf-8")
    env = {"CDS_AUTH": "required", "CDS_TRUSTED_ISSUERS_FILE": str(issuers_file)}
    with running_service(env, tmp_path / "service.log") as live:
        yield live, client


def _timed_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, float]:
    started = time.monotonic()
    try:
        status = requests.get(url, headers=headers or {}, timeout=10).status_code
    except requests.RequestException:
        status = 0
    return status, time.monotonic() - started


def test_a_hanging_jwks_url_leaves_liveness_and_discovery_answering(service: tuple[LiveService, SigningKey]) -> None:
    live, client = service
    discovery = f"{live.base}/cds-services"
    attacker = es384_key("attacker")

    def forged() -> tuple[int, float]:
        key = SigningKey(f"kid-{uuid.uuid4().hex}", "ES384", attacker.private)
        return _timed_get(discovery, {"Authorization": f"Bearer {client_jwt(key, discovery, issuer=HANGING_ISSUER)}"})

    with ThreadPoolExecutor(FORGED_CALLS + 4) as pool:
        attacks = [pool.submit(forged) for _ in range(FORGED_CALLS)]
        time.sleep(0.5)  # the forged calls are in flight, one of them inside the hanging fetch
        liveness = [_timed_get(f"{live.base}/health/live") for _ in range(3)]
        valid = [_timed_get(discovery, {"Authorization": f"Bearer {client_jwt(client, discovery)}"}) for _ in range(3)]
        forged_results = [a.result(timeout=30) for a in attacks]
    worst_liveness = max(seconds for _, seconds in liveness)
    worst_discovery = max(seconds for _, seconds in valid)
    print(
        f"jwks outage: liveness worst {worst_liveness * 1000:.0f} ms, discovery worst {worst_discovery * 1000:.0f} ms, "
        f"forged calls {sorted(round(s, 2) for _, s in forged_results)} s"
    )
    assert all(status == 200 for status, _ in liveness) and worst_liveness < 1.0
    assert all(status == 200 for status, _ in valid) and worst_discovery < 1.0
    assert all(status == 401 for status, _ in forged_results)
