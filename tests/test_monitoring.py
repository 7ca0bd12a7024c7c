"""The Grafana dashboard and the Prometheus alert rules in ``deploy/monitoring`` use only metrics the service exports.

A renamed metric would leave a panel empty and an alert silent without anyone noticing: every ``cds_*`` series
named in an expression must be one the service's registry can produce (counters as ``_total``, histograms as
``_bucket`` / ``_count`` / ``_sum``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import cds_service.http.app  # noqa: F401 (registers every metric)

MONITORING = Path(__file__).resolve().parent.parent / "deploy" / "monitoring"
SERIES = re.compile(r"\bcds_[a-z_]+\b")


def exported() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
    return names


def expressions() -> list[str]:
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text(encoding="utf-8"))
    found = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    found += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    return found


def test_every_metric_in_the_dashboard_and_alerts_is_exported() -> None:
    used = {name for expr in expressions() for name in SERIES.findall(expr)}
    assert used, "no cds_* metric found"
    assert used <= exported(), sorted(used - exported())


def test_the_alerts_cover_what_on_call_watches() -> None:
    text = " ".join(expressions())
    for metric in (
        "cds_latency_budget_overruns_total",
        'status="412"',
        'status="503"',
        "cds_fhir_fetch_failures_total",
        "cds_audit_queue_length",
        "cds_decisions_total",
        "cds_feedback_outcomes_total",
    ):
        assert metric in text, metric
