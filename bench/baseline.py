"""The benchmark's baseline: a minimal Flask app that parses the request JSON and answers ``{"cards": []}``.

It runs under the same gunicorn configuration as the service, so the ratio service/baseline is the cost of the
service's own work (validation, mapping, guideline, cards, audit) over the web stack's floor.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request


def create_app() -> Flask:
    """Return the baseline app: ``POST /cds-services/<id>`` parses the body and answers no cards."""
    app = Flask("baseline")

    @app.post("/cds-services/<service_id>")
    def call_service(service_id: str) -> dict[str, Any]:
        json.loads(request.get_data(cache=False))
        return {"cards": []}

    return app
