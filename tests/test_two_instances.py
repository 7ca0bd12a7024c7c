"""Horizontal scale: two service instances behind nginx on loopback, one shared PostgreSQL, nothing lost.

Both instances start at the same moment on an empty database (the migrations serialize on an advisory lock), with
client authentication on and ``CDS_PUBLIC_BASE_URL`` set to the proxy, as in production. Hook calls and feedback go
through nginx concurrently; then every answered call must have exactly one audit row and every feedback item one
feedback row, both instances must have served calls (their own ``/metrics``), and a client JWT used on one
instance must be refused as a replay by the other (the replay guard lives in the shared database).

Needs nginx (Debian package ``nginx-light``; ``.ci/run`` installs it) and PostgreSQL (``CDS_TEST_DATABASE_URL``):
skipped without them locally, failed without them in CI (``CDS_TEST_REQUIRE_NGINX=1``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from storage import AuditStore, Database
from tests import live_server
from tests.cases import CASES, case_dir
from tests.conftest import fresh_postgres_url
from tests.jwt_keys import ISSUER, client_jwt, es384_key, jwks
from tests.live_server import free_port
from tests.nginx_proxy import nginx_binary, running_nginx

pytestmark = pytest.mark.e2e

CALLS = 120
FEEDBACK_ITEMS = 40
CLIENT_KEY = es384_key("scale-es384")


SITE_CONF = """
client_max_body_size 10m;
upstream cds {{
    server 127.0.0.1:{a};
    server 127.0.0.1:{b};
    keepalive 16;
}}
server {{
    listen 127.0.0.1:{proxy};
    location / {{
        proxy_pass http://cds;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Request-ID $request_id;
    }}
}}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str], str]]:
    """nginx on a proxy port in front of two ``cds-service serve`` instances sharing one PostgreSQL database."""
    nginx_binary()  # skip (or fail in CI) before starting anything
    database_url = fresh_postgres_url()
    directory = tmp_path_factory.mktemp("scale")
    jwks_file = directory / "client.jwks.json"
    jwks_file.write_text(json.dumps(jwks(CLIENT_KEY)), encoding="utf-8")
    issuers = directory / "issuers.json"
    issuers.write_text(json.dumps({ISSUER: {"jwks_file": str(jwks_file)}}), encoding="utf-8")
    ports, proxy_port = [free_port(), free_port()], free_port()
    proxy = f"http://127.0.0.1:{proxy_port}"
    instances: list[live_server.LiveService] = []
    try:
        for index, port in enumerate(ports):
            env = {
                "CDS_AUTH": "required",
                "CDS_TRUSTED_ISSUERS_FILE": str(issuers),
                "CDS_PUBLIC_BASE_URL": proxy,
                "CDS_LATENCY_BUDGET_MS": "10000",
                "DATABASE_URL": database_url,
                "PROMETHEUS_MULTIPROC_DIR": str(directory / f"metrics-{index}"),
            }
            # Both start at the same moment on the empty database; only then wait for them.
            instances.append(live_server.start(env, directory / f"instance-{index}.log", port=port, workers=2))
        for instance in instances:
            live_server.wait_ready(instance)
        site = SITE_CONF.format(a=ports[0], b=ports[1], proxy=proxy_port)
        with running_nginx(directory, site, f"{proxy}/health/live"):
            yield proxy, [instance.base for instance in instances], database_url
    finally:
        for instance in instances:
            live_server.stop(instance)


def signed(url: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client_jwt(CLIENT_KEY, url)}", "Content-Type": "application/json"}


def served_calls(instance: str) -> float:
    text = requests.get(f"{instance}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("cds_http_request_duration_seconds_count{") and 'hook="order-select"' in line
    )


def test_two_instances_behind_nginx_lose_no_audit_or_feedback_rows(cluster: tuple[str, list[str], str]) -> None:
    proxy, instances, database_url = cluster
    case = next(c for c in CASES if c.name == "pop2-window-igg-below-4-start")
    template = json.loads((case_dir(case) / "request.json").read_text(encoding="utf-8"))
    hook_url = f"{proxy}/cds-services/{case.service}"
    feedback_url = f"{hook_url}/feedback"
    instances_ids = [str(uuid.uuid4()) for _ in range(CALLS)]

    def call(hook_instance: str) -> tuple[int, str | None]:
        body: dict[str, Any] = {**template, "hookInstance": hook_instance}
        response = requests.post(hook_url, json=body, headers=signed(hook_url), timeout=30)
        cards = response.json().get("cards") if response.status_code == 200 else None
        return response.status_code, cards[0]["uuid"] if cards else None

    def give_feedback(card: str) -> int:
        body = {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:00:00Z"}]}
        return requests.post(feedback_url, json=body, headers=signed(feedback_url), timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(call, instances_ids))
        cards = [card for status, card in answers if status == 200 and card]
        feedback_statuses = list(pool.map(give_feedback, cards[:FEEDBACK_ITEMS]))
    assert [status for status, _ in answers] == [200] * CALLS
    assert len(cards) == CALLS and feedback_statuses == [200] * FEEDBACK_ITEMS

    database = Database(database_url)
    try:
        store = AuditStore(database)
        decisions = [d for d in store.decisions(limit=10 * CALLS) if d.hook_instance in set(instances_ids)]
        assert sorted(d.hook_instance for d in decisions) == sorted(instances_ids)  # one row per call, none lost
        assert {d.card_uuid for d in decisions} == set(cards)
        stored_feedback = [f for f in store.feedback() if f.card_uuid in set(cards[:FEEDBACK_ITEMS])]
        assert len(stored_feedback) == FEEDBACK_ITEMS
    finally:
        database.dispose()
    served = [served_calls(instance) for instance in instances]
    assert all(count > 0 for count in served), f"nginx did not spread the calls: {served}"
    assert sum(served) == CALLS


def test_a_client_token_used_on_one_instance_is_a_replay_on_the_other(cluster: tuple[str, list[str], str]) -> None:
    proxy, instances, _ = cluster
    url = f"{proxy}/cds-services"
    headers = signed(url)  # aud is the proxy's URL: both instances accept it once, through CDS_PUBLIC_BASE_URL
    first = requests.get(f"{instances[0]}/cds-services", headers=headers, timeout=5)
    assert first.status_code == 200
    replay = requests.get(f"{instances[1]}/cds-services", headers=headers, timeout=5)
    assert replay.status_code == 401
