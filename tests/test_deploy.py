"""The Dockerfile and Kubernetes manifests in ``deploy/`` agree with the app (they cannot be run here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from flask import Flask

from cds_service.settings import DEFAULTS

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def manifests() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        found[document["kind"]] = document
    return found


def test_the_manifests_are_a_deployment_service_and_cpu_autoscaler() -> None:
    found = manifests()
    assert set(found) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    deployment, service, hpa = found["Deployment"], found["Service"], found["HorizontalPodAutoscaler"]
    name = deployment["metadata"]["name"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu" and hpa["spec"]["minReplicas"] >= 2
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]


def test_the_probes_point_at_the_health_endpoints_of_the_app(app: Flask) -> None:
    (container,) = manifests()["Deployment"]["spec"]["template"]["spec"]["containers"]
    client = app.test_client()
    for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
        assert container[probe]["httpGet"]["path"] == path
        assert client.get(path).status_code == 200
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"


def test_the_deployment_sets_only_settings_the_service_reads() -> None:
    (container,) = manifests()["Deployment"]["spec"]["template"]["spec"]["containers"]
    names = {variable["name"] for variable in container["env"]}
    known = {f"CDS_{key}" for key in DEFAULTS} | {"DATABASE_URL"}
    assert names <= known, names - known
    secrets = {v["name"] for v in container["env"] if "valueFrom" in v}
    assert {"DATABASE_URL", "CDS_AUDIT_HMAC_KEY"} <= secrets  # never inline values


def test_the_image_runs_serve_as_a_non_root_user_on_the_probed_port() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    (container,) = manifests()["Deployment"]["spec"]["template"]["spec"]["containers"]
    port = container["ports"][0]["containerPort"]
    assert f'CMD ["cds-service", "serve", "--host", "0.0.0.0", "--port", "{port}"]' in dockerfile
    assert "USER 10001" in dockerfile and f"EXPOSE {port}" in dockerfile
