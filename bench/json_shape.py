"""What counting a JSON text before parsing it costs (``cds_service.wire.json_shape``; issue 29, item 1).

``.venv/bin/python -m bench.json_shape``

Times ``measure`` (the best of 5 runs) on the extreme benchmark patient's request (admitted; its ``orjson.loads``
timed beside it), on the shapes it refuses (10 MiB of ``{}`` entries, of short strings and of strings of commas; a
500,000-deep nesting and an interleaved one) and on the two admitted shapes that cost it most: strings of commas at
the value limit (each left to the regular expression) and 5,000 arrays 40 deep side by side (every round of the depth
count). Prints one line each, in milliseconds. Single thread; nothing is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import orjson

from bench.payloads import payload
from cds_service.wire.json_shape import JsonLimits, measure

LIMITS = JsonLimits(max_values=400_000, max_depth=64)
"""The defaults (``CDS_MAX_JSON_VALUES``, ``CDS_MAX_JSON_DEPTH``)."""
MIB = 1024 * 1024
HEAD = b'{"prefetch":{"observations":{"resourceType":"Bundle","entry":['


def best_ms(call: Callable[[], object], runs: int = 5) -> float:
    """The fastest of ``runs`` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def main() -> None:
    """Print the cost of ``measure`` on each shape."""
    extreme = orjson.dumps(payload("extreme", 6000).request)
    shapes = {
        "extreme patient (6,021 resources)": extreme,
        "10 MiB of {} entries": HEAD + b",".join([b"{}"] * (10 * MIB // 3)) + b"]}}}",
        "10 MiB of short strings": HEAD + b",".join([b'"ab"'] * (10 * MIB // 5)) + b"]}}}",
        "10 MiB of strings of commas": HEAD + b",".join([b'","'] * (10 * MIB // 4)) + b"]}}}",
        "strings of commas at the value limit": b"[" + b",".join([b'{",":","}'] * 199_000) + b"]",
        "5,000 arrays 40 deep side by side": b"[" + b",".join([b"[" * 40 + b"]" * 40] * 5_000) + b"]",
        "500,000-deep nesting": b"[" * 500_000 + b"]" * 500_000,
        "interleaved deep nesting ([{}, x 250,000)": b"[{}," * 250_000 + b"{}" + b"]" * 250_000,
    }
    for name, raw in shapes.items():
        limits = LIMITS if "nesting" not in name else JsonLimits(10**7, LIMITS.max_depth)  # so the depth is counted
        shape = measure(raw, limits)
        verdict = shape.refusal(limits, what="it") or "admitted"
        took = best_ms(partial(measure, raw, limits))
        print(f"{name}: {len(raw) / 1e6:.2f} MB, {shape.values:,} values, depth {shape.depth}: {took:.1f} ms", end="")
        print(f" ({verdict})")
    print(f"orjson.loads of the extreme patient: {best_ms(lambda: orjson.loads(extreme)):.1f} ms")


if __name__ == "__main__":
    main()
