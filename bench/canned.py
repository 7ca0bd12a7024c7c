"""The service with its evaluation answered from a memo: what the request path costs without the guideline (issue 32).

``create_app()`` is the service's own app (``cds_service.http.app.create_app``) in which a hook call's evaluation,
``cds_service.http.hooks.invoke`` (prefetch reading, mapping, guideline, cards), runs once per service and
``hookInstance`` and its ``Answer`` is returned for every later call with that ``hookInstance``. The rest of the
request path runs as served: the body read within the deadline, measured and parsed, the request validated, the
pseudonyms, the decision's audit row committed before the answer, the metrics, the access-log line and the JSON
answer. ``make bench`` serves it beside the service under the same gunicorn configuration and sends it the typical
patient: its worker CPU and latency are what no work on the evaluation can go below.

For measurement only: the memo answers a repeated ``hookInstance`` without looking at its data, so this app is never
served to an EHR.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask

from cds_service.http import hooks
from cds_service.http.app import create_app as create_service_app
from cds_service.invocation import Answer


def memoized(evaluate: Callable[..., Answer]) -> Callable[..., Answer]:
    """Return ``evaluate`` (``invoke``'s signature) answering each service and ``hookInstance`` from a memo after once.

    The first call with a given ``(service.id, request.hookInstance)`` is evaluated; later ones get the same
    ``Answer`` (the same cards and audit fields). Exceptions are not kept: a call that raised is evaluated again.
    """
    answers: dict[tuple[str, str], Answer] = {}
    lock = threading.Lock()

    def answer(service: Any, request: Any, *args: Any, **kwargs: Any) -> Answer:
        key = (service.id, request.hookInstance)
        with lock:
            known = answers.get(key)
        if known is not None:
            return known
        computed = evaluate(service, request, *args, **kwargs)
        with lock:
            answers.setdefault(key, computed)
        return computed

    return answer


def create_app() -> Flask:
    """Return the service's app with its evaluation memoized (``memoized``), configured from the environment.

    Replaces ``cds_service.http.hooks.invoke`` in this process: gunicorn serves this app in a process of its own.
    """
    hooks.invoke = memoized(hooks.invoke)
    return create_service_app()
