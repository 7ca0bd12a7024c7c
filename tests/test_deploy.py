"""The Dockerfile, the nginx proxy and the Kubernetes manifests in ``deploy/`` agree with the app and with each other.

They cannot be applied here; what can be checked is checked: the pod's only way in is the proxy, gunicorn binds the
loopback, the hardening settings are present, the ingress routes ``/cds-services`` and ``/evidence`` only (the
app the routes serve has both), ``/metrics`` is on the
internal port only, and the dependencies are installed from a lock file with hashes that matches ``pyproject.toml``.
The proxy configuration itself runs under nginx in ``tests/test_proxy_slow_clients.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from flask import Flask

from cds_service.settings import VARIABLES, Settings
from tests.nginx_proxy import DEPLOY_TEMPLATE, render_deploy_template

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PROXY_PORT, METRICS_PORT, WORKER_PORT = 8080, 9090, 8081
KNOWN = {name for variable in VARIABLES for name in variable.names}
"""Every variable the settings read (``CDS_DATABASE_URL`` and ``DATABASE_URL`` both)."""


def manifests() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        found[document["kind"]] = document
    return found


def pod() -> dict[str, Any]:
    spec: dict[str, Any] = manifests()["Deployment"]["spec"]["template"]["spec"]
    return spec


def container(name: str) -> dict[str, Any]:
    return next(c for c in pod()["containers"] if c["name"] == name)


def test_kustomize_applies_every_manifest_and_the_proxy_configuration() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = {Path(r).name for r in kustomization["resources"]}
    assert listed == {p.name for p in (DEPLOY / "k8s").glob("*.yaml")}
    (generator,) = kustomization["configMapGenerator"]
    volume = next(v for v in pod()["volumes"] if v["name"] == "proxy-template")
    assert generator["name"] == volume["configMap"]["name"]
    assert (DEPLOY / generator["files"][0].split("=")[1]).resolve() == DEPLOY_TEMPLATE


def test_the_manifests_fit_together() -> None:
    found = manifests()
    assert set(found) == {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Ingress",
    }
    deployment, service, hpa = found["Deployment"], found["Service"], found["HorizontalPodAutoscaler"]
    labels = deployment["spec"]["selector"]["matchLabels"]
    name = deployment["metadata"]["name"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu" and hpa["spec"]["minReplicas"] >= 2
    assert service["spec"]["selector"] == labels
    assert found["PodDisruptionBudget"]["spec"] == {"minAvailable": 1, "selector": {"matchLabels": labels}}
    assert found["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"] == labels
    proxy_ports = {p["name"]: p["containerPort"] for p in container("proxy")["ports"]}
    assert proxy_ports == {"http": PROXY_PORT, "metrics": METRICS_PORT}
    assert {p["targetPort"] for p in service["spec"]["ports"]} == set(proxy_ports)


def test_only_the_proxy_is_reachable_and_gunicorn_binds_the_loopback() -> None:
    assert "ports" not in container("cds")  # nothing of the worker container is published
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert f'CMD ["cds-service", "serve", "--host", "127.0.0.1", "--port", "{WORKER_PORT}"]' in dockerfile
    assert "EXPOSE" not in dockerfile and "USER 10001" in dockerfile
    proxy_env = {v["name"]: v["value"] for v in container("proxy")["env"]}
    assert proxy_env["CDS_UPSTREAM"] == f"127.0.0.1:{WORKER_PORT}"
    assert (proxy_env["CDS_PROXY_PORT"], proxy_env["CDS_METRICS_PORT"]) == (str(PROXY_PORT), str(METRICS_PORT))
    render_deploy_template(proxy_env)  # every variable the template uses is set on the container
    policy = manifests()["NetworkPolicy"]["spec"]
    admitted = {port["port"] for rule in policy["ingress"] for port in rule["ports"]}
    assert admitted == {PROXY_PORT, METRICS_PORT}
    monitoring = next(r for r in policy["ingress"] if r["ports"] == [{"protocol": "TCP", "port": METRICS_PORT}])
    assert monitoring["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
    egress_ports = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
    assert egress_ports == {53, 5432, 443}


def test_the_proxy_serves_the_api_on_one_port_and_metrics_on_the_other() -> None:
    servers = re.split(r"\nserver \{", DEPLOY_TEMPLATE.read_text(encoding="utf-8"))[1:]
    public, internal = servers
    assert "listen ${CDS_PROXY_PORT};" in public and "listen ${CDS_METRICS_PORT};" in internal
    assert "/metrics" not in public.split("location", 1)[1]  # only as the comment above the locations
    assert re.findall(r"location (?:= )?([^@\s]\S*) \{", public) == [
        "/cds-services",
        "/health/live",
        "/health/ready",
        "/openapi.json",
        "/evidence/",
        "/",
    ]
    evidence = public.split("location /evidence/ {", 1)[1].split("}", 2)
    assert "limit_except GET" in evidence[0] and "client_max_body_size 1k;" in evidence[1]
    assert re.findall(r"location (?:= )?(\S+) \{", internal) == ["/metrics", "/"]
    for directive in ("proxy_request_buffering on;", "client_header_timeout 5s;", "client_body_timeout 5s;"):
        assert directive in public
    max_body = int(re.search(r"client_max_body_size (\d+)m;", public).group(1))  # type: ignore[union-attr]
    assert max_body * 1024 * 1024 == Settings.model_fields["max_content_length"].default


def test_the_ingress_routes_cds_services_and_the_evidence_page_only(app: Flask) -> None:
    ingress = manifests()["Ingress"]["spec"]
    (rule,) = ingress["rules"]
    paths = rule["http"]["paths"]
    assert [(p["path"], p["pathType"]) for p in paths] == [("/cds-services", "Prefix"), ("/evidence", "Prefix")]
    assert all(p["backend"]["service"] == {"name": "sid-igrt-cds", "port": {"name": "http"}} for p in paths)
    assert ingress["tls"][0]["hosts"] == [rule["host"]]
    app_routes = {str(r.rule) for r in app.url_map.iter_rules()}
    assert {"/evidence/launch", "/evidence/callback"} <= app_routes


def test_the_pod_is_hardened() -> None:
    spec = pod()
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["securityContext"]["runAsNonRoot"] is True
    term = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == manifests()["Deployment"]["spec"]["selector"]["matchLabels"]
    for each in spec["containers"]:
        context = each["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert "memory" in each["resources"]["limits"]


def test_the_probes_go_through_the_proxy_to_the_health_endpoints_of_the_app(app: Flask) -> None:
    cds = container("cds")
    client = app.test_client()
    for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
        assert cds[probe]["httpGet"] == {"path": path, "port": PROXY_PORT}
        assert client.get(path).status_code == 200
    assert cds["startupProbe"]["httpGet"] == {"path": "/health/live", "port": PROXY_PORT}


def test_the_deployment_sets_only_settings_the_service_reads() -> None:
    names = {variable["name"] for variable in container("cds")["env"]}
    assert names <= KNOWN, names - KNOWN
    assert "CDS_PUBLIC_BASE_URL" in names  # required with CDS_AUTH=required (the default)
    secrets = {v["name"] for v in container("cds")["env"] if "valueFrom" in v}
    assert {"DATABASE_URL", "CDS_AUDIT_HMAC_KEY"} <= secrets  # never inline values


def test_the_image_installs_the_locked_dependencies_with_hashes() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY requirements.lock" in dockerfile
    assert "--require-hashes" in dockerfile and "-r requirements.lock" in dockerfile
    assert "--no-deps" in dockerfile  # our own package adds nothing unlocked


def test_compose_runs_the_service_behind_the_proxy_with_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"]
    cds, proxy, db = compose["cds"], compose["proxy"], compose["db"]
    assert cds["build"]["dockerfile"] == "deploy/Dockerfile"
    assert proxy["network_mode"] == "service:cds"  # gunicorn's loopback port is reachable by the proxy only
    proxy_env = {k: str(v) for k, v in proxy["environment"].items()}
    assert proxy_env["CDS_UPSTREAM"] == f"127.0.0.1:{WORKER_PORT}"
    render_deploy_template(proxy_env)
    template = next(v for v in proxy["volumes"] if "templates" in v)
    assert (ROOT / template.split(":")[0]).resolve() == DEPLOY_TEMPLATE
    assert f"8080:{PROXY_PORT}" in cds["ports"] and all(f":{WORKER_PORT}" not in p for p in cds["ports"])
    assert f"127.0.0.1:{METRICS_PORT}:{METRICS_PORT}" in cds["ports"]  # metrics not on a public interface
    env = cds["environment"]
    assert set(env) <= KNOWN, set(env) - KNOWN
    assert env["DATABASE_URL"].startswith("postgresql://") and "@db:5432/" in env["DATABASE_URL"]
    for secret in ("CDS_AUDIT_HMAC_KEY", "CDS_PUBLIC_BASE_URL"):
        assert env[secret].startswith("${") and ":?" in env[secret]  # required from the environment, never inline
    assert cds["depends_on"]["db"]["condition"] == "service_healthy" and "healthcheck" in db


def _mib(quantity: str) -> int:
    """A Kubernetes (``256Mi``) or compose (``256m``) size in MiB."""
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi|m|g)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * {"Mi": 1, "m": 1, "Gi": 1024, "g": 1024}[unit]


def test_what_slow_bodies_can_hold_fits_the_proxys_memory_and_temp_space() -> None:
    """The template's body slots times what each may hold stay inside the limits (measured: test_proxy_slow_bodies)."""
    public = re.split(r"\nserver \{", DEPLOY_TEMPLATE.read_text(encoding="utf-8"))[1]
    hooks = public.split("location /cds-services {", 1)[1].split("}", 1)[0]
    slots = {zone: int(n) for zone, n in re.findall(r"limit_conn (\w+) (\d+);", hooks)}
    assert set(slots) == {"cds_large_bodies", "cds_client_bodies", "cds_bodies"}
    buffer_kib = int(re.search(r"client_body_buffer_size (\d+)k;", public).group(1))  # type: ignore[union-attr]
    max_body_mib = int(re.search(r"client_max_body_size (\d+)m;", public).group(1))  # type: ignore[union-attr]
    temp = next(v for v in pod()["volumes"] if v["name"] == "proxy-tmp")["emptyDir"]
    assert "medium" not in temp  # on disk, not the proxy's memory
    assert slots["cds_large_bodies"] * max_body_mib < _mib(temp["sizeLimit"])
    proxy_memory = _mib(container("proxy")["resources"]["limits"]["memory"])
    assert slots["cds_bodies"] * buffer_kib / 1024 <= proxy_memory / 2  # the other half: nginx itself
    assert slots["cds_client_bodies"] < slots["cds_large_bodies"] < slots["cds_bodies"]
    assert "limit_req zone=cds_client_rate" in public and "limit_req_status 429;" in public
    for probe in ("location = /health/live {", "location = /health/ready {", "location = /openapi.json {"):
        block = public.split(probe, 1)[1].split("proxy_pass", 1)[0]
        assert "limit_except GET" in block and "client_max_body_size 1k;" in block  # no body, so no way around
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"]
    tmpfs = dict(entry.split(":size=") for entry in compose["proxy"]["tmpfs"])
    assert _mib(tmpfs["/tmp"]) == _mib(temp["sizeLimit"])
    assert _mib(compose["proxy"]["mem_limit"]) == proxy_memory + _mib(tmpfs["/tmp"])  # a tmpfs is memory
    assert _mib(compose["cds"]["mem_limit"]) == _mib(container("cds")["resources"]["limits"]["memory"])
