"""Run nginx (Debian ``nginx-light``; ``.ci/run`` installs it) on loopback with a test-local main configuration."""

from __future__ import annotations

import os
import shutil
import signal
import string
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

DEPLOY_TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "cds.conf.template"

MAIN_CONF = """
{user}
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/conf.d/*.conf;
}}
"""


def nginx_binary() -> str:
    """The nginx executable; skips the test without it, or fails it when ``CDS_TEST_REQUIRE_NGINX=1`` (CI)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        if os.environ.get("CDS_TEST_REQUIRE_NGINX") == "1":
            pytest.fail("CDS_TEST_REQUIRE_NGINX=1 but nginx is not installed")
        pytest.skip("no nginx: apt-get install nginx-light (.ci/run does)")
    return found


def render_deploy_template(variables: Mapping[str, str]) -> str:
    """``deploy/nginx/cds.conf.template`` with ``${NAME}`` replaced, as the nginx image's envsubst step does.

    nginx's own variables (``$host``, ``$request_id``) are not braced and stay as they are.

    Raises:
        KeyError: a variable the template uses is not given.
    """
    text = DEPLOY_TEMPLATE.read_text(encoding="utf-8")
    used = {m.group("braced") for m in string.Template.pattern.finditer(text) if m.group("braced")}
    if missing := used - set(variables):
        raise KeyError(f"template variables not given: {sorted(missing)}")
    return string.Template(text).safe_substitute(variables)


@contextmanager
def running_nginx(directory: Path, site_conf: str, ready_url: str) -> Iterator[None]:
    """Start nginx with ``site_conf`` (http-context text) under ``directory``; wait until ``ready_url`` answers."""
    nginx = nginx_binary()
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "conf.d"):
        (directory / temp).mkdir(exist_ok=True)
    (directory / "conf.d" / "site.conf").write_text(site_conf, encoding="utf-8")
    conf = directory / "nginx.conf"
    # As root (CI containers), nginx would run its worker as nobody, who cannot write request-body temp files under
    # pytest's private temporary directory: the worker then keeps the master's user.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(MAIN_CONF.format(dir=directory, user=user), encoding="utf-8")
    with (directory / "nginx.out").open("wb") as log:
        process = subprocess.Popen(
            [nginx, "-c", str(conf), "-p", str(directory)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(ready_url, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"nginx did not start: {(directory / 'nginx-error.log').read_text(errors='replace')}")
        if process.poll() is not None:
            pytest.fail(f"nginx exited: {(directory / 'nginx.out').read_text(errors='replace')}")
        yield
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
