"""Start the real service (``cds-service serve``: gunicorn, as ``make serve`` does) on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import AS_OF, TEST_HMAC_KEY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LiveService:
    """A running ``cds-service serve`` process group and its combined stdout/stderr log."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def start(env: Mapping[str, str], log: Path, *, port: int | None = None, workers: int = 2) -> LiveService:
    """Start the service with ``env`` on top of the test defaults (fixed date, SQLite unless set, auth off)."""
    port = port or free_port()
    full_env = {
        **os.environ,
        "CDS_FIXED_DATE": AS_OF,
        "CDS_AUTH": "off",
        "CDS_AUDIT_HMAC_KEY": TEST_HMAC_KEY,
        **env,
    }
    full_env.pop("CDS_DATABASE_URL", None)
    if full_env["CDS_AUTH"] == "required":
        full_env.setdefault("CDS_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")  # required with auth on
    command = [sys.executable, "-m", "commands.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LiveService(f"http://127.0.0.1:{port}", process, log)


def wait_ready(service: LiveService, path: str = "/health/ready", timeout: float = 60) -> None:
    """Wait until ``path`` answers 200; fail the test with the log's tail if the process dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{service.base}{path}", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if service.process.poll() is not None:
            break
        time.sleep(0.2)
    stop(service)
    pytest.fail(f"{service.base} did not become ready: {service.log_text()[-2000:]}")


def stop(service: LiveService) -> None:
    """SIGTERM the process group (gunicorn stops its workers gracefully) and wait for it."""
    if service.process.poll() is None:
        os.killpg(service.process.pid, signal.SIGTERM)
        service.process.wait(timeout=30)


@contextmanager
def running_service(env: Mapping[str, str], log: Path, *, workers: int = 2) -> Iterator[LiveService]:
    """Start, wait until ready, yield, stop."""
    service = start(env, log, workers=workers)
    try:
        wait_ready(service)
        yield service
    finally:
        stop(service)
