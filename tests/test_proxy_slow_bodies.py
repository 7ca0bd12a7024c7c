"""Slow bodies cannot fill the proxy (issue 29, item 2): nginx's memory and temp files stay within the pod's limits.

nginx bounds only the time between two reads of a body, so a client that sends all but a few bytes of its body and
then one byte every 2 s holds its connection, its buffer and its temp file for as long as it likes. Before, 64 such
clients with 1 MiB bodies took nginx past its 64 Mi container limit, and 30 with 10 MiB bodies left more temp files
than the pod's 256 Mi emptyDir holds. ``deploy/nginx/cds.conf.template`` now gives bodies slots (per client address,
in all, and for large bodies: ``limit_conn``); a body without a slot is refused at once (503 OperationOutcome),
before it is read.

Real nginx with the deployed template in front of the real service (as ``tests/test_proxy_slow_clients.py``); each
slow client comes from its own address (``X-Forwarded-For``, as behind the ingress). Measured while they hold: the
resident memory of nginx's processes, and the temp-file bytes its processes hold open (request-body temp files are
unlinked at once, so ``du`` would not see them). The limits compared against are read from
``deploy/k8s/deployment.yaml``. The numbers are written to the test report.
Reproduce: ``.venv/bin/python -m pytest -q tests/test_proxy_slow_bodies.py`` (about a minute).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests
import yaml

from tests.conftest import REPORT
from tests.live_server import LiveService, free_port, running_service
from tests.nginx_proxy import nginx_binary, render_deploy_template, running_nginx

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
MIB = 1024 * 1024
DEPLOYMENT = Path(__file__).resolve().parent.parent / "deploy" / "k8s" / "deployment.yaml"
HOOK = "/cds-services/sid-igrt-order-sign"


def _mib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * (1024 if unit == "Gi" else 1)


def _pod() -> dict[str, object]:
    spec: dict[str, object] = yaml.safe_load(DEPLOYMENT.read_text(encoding="utf-8"))["spec"]["template"]["spec"]
    return spec


PROXY_MEMORY_MIB = _mib(next(c for c in _pod()["containers"] if c["name"] == "proxy")["resources"]["limits"]["memory"])  # type: ignore[attr-defined,index]
TEMP_MIB = _mib(next(v for v in _pod()["volumes"] if v["name"] == "proxy-tmp")["emptyDir"]["sizeLimit"])  # type: ignore[attr-defined,index]


@dataclass(frozen=True)
class Proxy:
    """The running nginx: its base URL and its directory (configuration, pid file, ``body/`` temp files)."""

    base: str
    directory: Path

    def pids(self) -> list[int]:
        """nginx's master and worker processes."""
        master = psutil.Process(int((self.directory / "nginx.pid").read_text().strip()))
        return [master.pid, *(child.pid for child in master.children())]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveService, Proxy]]:
    """The service (2 workers, authentication off) behind nginx running the deployed template."""
    nginx_binary()
    directory = tmp_path_factory.mktemp("slow-bodies")
    port = free_port()
    env = {"DATABASE_URL": f"sqlite:///{directory / 'audit.sqlite3'}", "CDS_LOG_LEVEL": "WARNING"}
    with running_service(env, directory / "service.log") as service:
        site = render_deploy_template(
            {
                "CDS_UPSTREAM": service.base.removeprefix("http://"),
                "CDS_PROXY_PORT": f"127.0.0.1:{port}",
                "CDS_METRICS_PORT": f"127.0.0.1:{free_port()}",
            }
        )
        with running_nginx(directory, site, f"http://127.0.0.1:{port}/health/live"):
            yield service, Proxy(f"http://127.0.0.1:{port}", directory)


class SlowBody:
    """A client that sends its headers and all but ``held`` bytes of its body at once, then a byte every 2 s."""

    def __init__(self, base: str, size: int, address: str, held: int = 12) -> None:
        self.base, self.size, self.address, self.held = base, size, address, held
        self.status: int | None = None  # set when the proxy answered before the body was complete
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        host, port = self.base.removeprefix("http://").split(":")
        head = (
            f"POST {HOOK} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"X-Forwarded-For: {self.address}\r\nContent-Length: {self.size}\r\n\r\n"
        ).encode()
        try:
            with socket.create_connection((host, int(port)), timeout=30) as sock:
                sock.sendall(head)
                sock.settimeout(0.3)
                if self._answered(sock):  # refused right after the headers
                    return
                sock.settimeout(30)
                sock.sendall(b" " * (self.size - self.held))
                for _ in range(self.held):
                    sock.settimeout(0.01)
                    if self._answered(sock):
                        return
                    sock.sendall(b" ")
                    time.sleep(2)
        except OSError:
            return

    def _answered(self, sock: socket.socket) -> bool:
        try:
            first = sock.recv(64)
        except (TimeoutError, BlockingIOError):
            return False
        match = re.match(rb"HTTP/1\.1 (\d{3})", first)
        self.status = int(match.group(1)) if match else 0
        return True


@dataclass(frozen=True)
class Held:
    """What the proxy held at its peak while the slow clients held on."""

    rss_mib: float
    temp_mib: float
    refused: int
    admitted: int


def _temp_bytes(pids: list[int], directory: Path) -> int:
    """Bytes of the temp files the nginx processes hold open under ``directory`` (unlinked ones too)."""
    held = 0
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
                if target.startswith(str(directory)):
                    held += os.stat(fd).st_blocks * 512
            except OSError:
                continue
    return held


def hold(proxy: Proxy, clients: int, size: int, seconds: float = 8.0) -> Held:
    """Start ``clients`` slow bodies of ``size`` bytes from as many addresses; return the proxy's peaks."""
    slow = [SlowBody(proxy.base, size, f"198.51.{i // 250}.{i % 250 + 1}") for i in range(clients)]
    for client in slow:
        client.thread.start()
    rss = temp = 0.0
    ended = time.monotonic() + seconds
    while time.monotonic() < ended:
        pids = proxy.pids()
        total = 0
        for pid in pids:
            try:
                total += psutil.Process(pid).memory_info().rss
            except psutil.Error:
                continue
        rss = max(rss, total / MIB)
        temp = max(temp, _temp_bytes(pids, proxy.directory / "body") / MIB)
        time.sleep(0.1)
    refused = sum(1 for c in slow if c.status == 503)
    return Held(rss, temp, refused, clients - refused)


def report(name: str, held: Held) -> None:
    REPORT.append(
        f"{name} through the nginx proxy: nginx peak RSS {held.rss_mib:.1f} MiB (limit {PROXY_MEMORY_MIB:.0f} MiB), "
        f"temp files held {held.temp_mib:.0f} MiB (volume {TEMP_MIB:.0f} MiB); {held.admitted} held a slot, "
        f"{held.refused} refused with 503"
    )


def test_sixty_four_slow_one_mib_bodies_stay_within_the_proxys_memory(proxy: tuple[LiveService, Proxy]) -> None:
    service, front = proxy
    held = hold(front, 64, MIB)
    report("64 slow 1 MiB bodies", held)
    assert held.rss_mib < PROXY_MEMORY_MIB
    assert held.temp_mib < TEMP_MIB
    assert held.admitted <= 20 and held.refused >= 44  # 20 slots for large bodies


def test_thirty_slow_ten_mib_bodies_stay_within_the_temp_volume(proxy: tuple[LiveService, Proxy]) -> None:
    service, front = proxy
    time.sleep(25)  # the previous test's clients have ended
    held = hold(front, 30, 10 * MIB - 1000)
    report("30 slow 10 MiB bodies", held)
    assert held.temp_mib < TEMP_MIB
    assert held.rss_mib < PROXY_MEMORY_MIB
    assert held.admitted <= 20


def test_while_slow_bodies_hold_their_slots_discovery_and_small_calls_are_answered(
    proxy: tuple[LiveService, Proxy],
) -> None:
    service, front = proxy
    time.sleep(25)
    slow = [SlowBody(front.base, MIB, f"203.0.113.{i + 1}") for i in range(30)]
    for client in slow:
        client.thread.start()
    time.sleep(2)
    assert requests.get(f"{front.base}/health/live", timeout=5).status_code == 200
    assert requests.get(f"{front.base}/cds-services", timeout=5).status_code == 200  # a GET takes no slot
    small = requests.post(f"{front.base}{HOOK}", data=b"{}", headers={"Content-Type": "application/json"}, timeout=5)
    assert small.status_code == 400  # read and answered by the service (an empty object is not a hook call)
    large = requests.post(f"{front.base}{HOOK}", data=b" " * 200_000 + b"{}", timeout=5)
    assert large.status_code == 503 and large.headers["Retry-After"] == "1"  # every large-body slot is held
    assert large.headers["Content-Type"] == "application/fhir+json"


def test_one_address_holds_at_most_sixteen_body_slots(proxy: tuple[LiveService, Proxy]) -> None:
    service, front = proxy
    time.sleep(25)
    slow = [SlowBody(front.base, 50_000, "192.0.2.7") for _ in range(24)]
    for client in slow:
        client.thread.start()
    time.sleep(3)
    refused = sum(1 for c in slow if c.status == 503)
    assert refused == 24 - 16
    other = requests.post(f"{front.base}{HOOK}", data=b"{}", headers={"X-Forwarded-For": "192.0.2.8"}, timeout=5)
    assert other.status_code == 400  # another address still gets its slot
