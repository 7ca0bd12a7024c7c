"""Wall time per stage of an in-process hook call (no profiler): where a call's time goes, without tracing overhead.

``python -m bench.stages [payload]`` wraps the stage functions at their call sites (the HTTP call, ``invoke``, the
draft-order mapping, ``gather``, ``summarize``, ``decide_mapped`` and the card) and prints the mean microseconds
per call of each, best of several rounds, with the garbage collector set up as in a gunicorn worker.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench.in_process import SERVICE_PATH, quiet_client
from bench.payloads import all_payloads


def _wrap(module: Any, name: str, totals: dict[str, float]) -> None:
    original: Callable[..., Any] = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - start

    setattr(module, name, timed)


def main() -> None:
    """Print the mean microseconds per call of each stage (best of 5 rounds)."""
    import importlib

    import cds_service.http.hooks as hooks
    import cds_service.invocation as invocation

    decide_module = importlib.import_module("decision.decide")
    name = sys.argv[1] if len(sys.argv) > 1 else "typical"
    payload = next(p for p in all_payloads() if p.name == name)
    with quiet_client("stages") as client:
        totals: dict[str, float] = defaultdict(float)
        _wrap(hooks, "invoke", totals)
        for stage in ("immunoglobulin_orders", "gather", "render_card"):
            _wrap(invocation, stage, totals)
        for stage in ("summarize", "decide_mapped"):
            _wrap(decide_module, stage, totals)
        body = json.dumps(payload.request)
        calls = 200 if name == "typical" else 20
        best: dict[str, float] = {}
        for _ in range(5):
            totals.clear()
            start = time.perf_counter()
            for _ in range(calls):
                client.post(SERVICE_PATH, data=body, content_type="application/json")
            totals["(whole call)"] = time.perf_counter() - start
            for stage, seconds in totals.items():
                best[stage] = min(best.get(stage, float("inf")), seconds / calls * 1e6)
        for stage, micros in best.items():
            print(f"{stage:24s} {micros:8.0f} us")


if __name__ == "__main__":
    main()
