"""Slow clients cannot stop the service behind its buffering proxy (issue "hold under attack", item 2).

The real server process (``cds-service serve``: gunicorn, 2 workers of 4 threads, authentication required) behind
nginx running ``deploy/nginx/cds.conf.template``, the production proxy configuration. 50 clients without a token
open connections and send their headers (half of them) or their declared body (the other half) one byte every
200 ms. Meanwhile liveness and discovery (with a valid token) are asked every 250 ms.

Measured first against gunicorn directly (the contrast that shows the attack bites: gthread workers read headers
and bodies on their request threads), then through the proxy, where every probe must answer 200 within 1 s.
The worst latencies of both runs are written to the test report (``make test`` prints them).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import REPORT
from tests.jwt_keys import ISSUER, SigningKey, client_jwt, es384_key, jwks
from tests.live_server import LiveService, free_port, running_service
from tests.nginx_proxy import nginx_binary, render_deploy_template, running_nginx

pytestmark = pytest.mark.e2e
SLOW_CLIENTS = 50
ATTACK_SECONDS = 8.0
PROBE_TIMEOUT = 5.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveService, str, SigningKey]]:
    """The service on a loopback port and nginx in front of it: ``(service, proxy base URL, client key)``."""
    nginx_binary()  # skip (or fail in CI) before starting anything
    directory = tmp_path_factory.mktemp("proxy")
    client = es384_key("client-1")
    jwks_file = directory / "client.jwks.json"
    jwks_file.write_text(json.dumps(jwks(client)), encoding="utf-8")
    issuers_file = directory / "issuers.json"
    issuers_file.write_text(json.dumps({ISSUER: {"jwks_file": str(jwks_file)}}), encoding="utf-8")
    proxy_port = free_port()
    proxy = f"http://127.0.0.1:{proxy_port}"
    env = {
        "CDS_AUTH": "required",
        "CDS_TRUSTED_ISSUERS_FILE": str(issuers_file),
        "DATABASE_URL": f"sqlite:///{directory / 'audit.sqlite3'}",
    }
    with running_service(env, directory / "service.log") as service:
        site = render_deploy_template(
            {
                "CDS_UPSTREAM": service.base.removeprefix("http://"),
                "CDS_PROXY_PORT": f"127.0.0.1:{proxy_port}",
                "CDS_METRICS_PORT": f"127.0.0.1:{free_port()}",
            }
        )
        with running_nginx(directory, site, f"{proxy}/health/live"):
            yield service, proxy, client


def _slow_client(base: str, kind: str, stop: threading.Event) -> None:
    """Open a connection and send a request one byte every 200 ms until ``stop``; never finish it."""
    host, port = base.removeprefix("http://").split(":")
    headers = f"POST /cds-services/sid-igrt-order-sign HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    if kind == "body":
        head, drip = f"{headers}Content-Length: 100000\r\n\r\n".encode(), b"{" * 100000
    else:
        head, drip = b"", (headers + "X-Padding: " + "a" * 10000).encode()
    try:
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            sock.sendall(head)
            for byte in drip:
                if stop.is_set():
                    return
                sock.sendall(bytes([byte]))
                time.sleep(0.2)
    except OSError:
        return  # the server (or proxy) closed the connection: the attacker is done


def _probe(url: str, headers: dict[str, str]) -> float:
    """Seconds to a 200 answer; ``PROBE_TIMEOUT`` when there was none in time (or not a 200)."""
    started = time.monotonic()
    try:
        ok = requests.get(url, headers=headers, timeout=PROBE_TIMEOUT).status_code == 200
    except requests.RequestException:
        ok = False
    return time.monotonic() - started if ok else PROBE_TIMEOUT


def _under_attack(base: str, key: SigningKey, audience_base: str) -> dict[str, float]:
    """Worst liveness and discovery latency (s) at ``base`` while 50 slow clients attack it."""
    stop = threading.Event()
    kinds = ["headers", "body"] * (SLOW_CLIENTS // 2)
    attackers = [threading.Thread(target=_slow_client, args=(base, kind, stop), daemon=True) for kind in kinds]
    for attacker in attackers:
        attacker.start()
    time.sleep(1.0)  # every slow client is connected and sending
    worst = {"liveness": 0.0, "discovery": 0.0}
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        while time.monotonic() - started < ATTACK_SECONDS:
            live = pool.submit(_probe, f"{base}/health/live", {})
            token = client_jwt(key, f"{audience_base}/cds-services")
            discovery = pool.submit(_probe, f"{base}/cds-services", {"Authorization": f"Bearer {token}"})
            worst["liveness"] = max(worst["liveness"], live.result())
            worst["discovery"] = max(worst["discovery"], discovery.result())
            time.sleep(0.25)
    stop.set()
    for attacker in attackers:
        attacker.join(5)
    return worst


def test_fifty_slow_clients_through_the_proxy_leave_liveness_and_discovery_answering(
    stack: tuple[LiveService, str, SigningKey],
) -> None:
    service, proxy, key = stack
    # The service's public base URL is its own loopback URL here (tests/live_server.py); aud follows it.
    direct = _under_attack(service.base, key, service.base)
    time.sleep(6)  # gunicorn's threads are freed when the direct attackers' connections close
    through_proxy = _under_attack(proxy, key, service.base)
    REPORT.append(
        f"50 slow clients: worst liveness / discovery latency {direct['liveness']:.2f} s / "
        f"{direct['discovery']:.2f} s against gunicorn directly (timeout {PROBE_TIMEOUT:g} s), "
        f"{through_proxy['liveness']:.2f} s / {through_proxy['discovery']:.2f} s through the nginx proxy"
    )
    assert through_proxy["liveness"] < 1.0 and through_proxy["discovery"] < 1.0, through_proxy
    # The contrast: the same attack stalls gunicorn when it is reached directly (why it is never exposed).
    assert max(direct.values()) >= 1.0, direct
