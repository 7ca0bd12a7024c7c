"""Write the generated parts of the documentation: every region between its marker comments, from the code and data.

* ``docs/configuration.md``: the settings reference (``cds_service/settings/``) and the interpretation-settings
  table (``guideline/parameters.py``);
* ``docs/integrating.md``: which fixture patients show which card on patient-view (``fixtures/golden``), as
  ``make demo`` replays them;
* ``docs/benchmark.md``: the latest figures of ``make bench`` (``bench/results/latest.json``);
* ``docs/cohort.md``: the worklist's speed and memory (``bench/results/cohort.json``, ``python -m bench.cohort``).

Run after changing a setting, a golden fixture or a benchmark result (``.venv/bin/python scripts/update_docs.py``,
or with the pages to write: ``scripts/update_docs.py docs/cohort.md``);
``tests/test_docs.py`` and ``tests/test_docs_facts.py`` fail until the pages match. ``README_REGIONS`` is the
README's "One call" card (``one_call()``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import sys
import textwrap
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cds_service.settings.reference import settings_reference  # noqa: E402
from guideline.concepts import Recommendation  # noqa: E402
from guideline.parameters import interpretation_table  # noqa: E402

DOCS = ROOT / "docs"
GOLDEN = ROOT / "fixtures" / "golden"
RESULTS = ROOT / "bench" / "results"
Region = tuple[str, str, Callable[[], str]]
"""A generated region: the marker before it, the marker after it, and what writes it."""


def demo_patients() -> str:
    """Return the patient-view table of ``docs/integrating.md``: each golden card and the fixture patients showing it.

    Read from the golden patient-view answers (``fixtures/golden/sid-igrt-patient-view/*/expected.json``), which
    ``make demo`` promises; a card of the standard course depends on the season (``scripts/demo.py``,
    ``SEASONAL_RULES``) and is marked so.
    """
    seasonal = _demo().SEASONAL_RULES
    order = list(Recommendation)
    shown: dict[tuple[str, str], set[str]] = defaultdict(set)
    quiet: set[str] = set()
    for case in sorted((GOLDEN / "sid-igrt-patient-view").iterdir()):
        patient = json.loads((case / "request.json").read_text(encoding="utf-8"))["context"]["patientId"]
        expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
        cards = (expected["body"].get("cards") or []) if expected["status"] == 200 else []
        if not cards:
            quiet.add(patient)
            continue
        decision = cards[0]["extension"]["sid-igrt"]
        shown[(decision["recommendation"], decision["rule"])].add(patient)
    rows = []
    for recommendation, rule in sorted(shown, key=lambda key: (order.index(Recommendation(key[0])), key[1])):
        season = ", by season" if rule.startswith(seasonal) else ""
        patients = ", ".join(f"`{patient}`" for patient in sorted(shown[(recommendation, rule)]))
        rows.append(f"| {recommendation} (`{rule}`){season} | {patients} |")
    return (
        "| card (recommendation, rule) | patients |\n|---|---|\n"
        + "\n".join(rows)
        + "\n\nQuiet on patient-view by design: "
        + ", ".join(f"`{patient}`" for patient in sorted(quiet))
        + ".\n"
    )


def benchmark_figures() -> str:
    """Return the latest ``make bench`` figures of ``docs/benchmark.md``: run, table, memory, cost and targets."""
    report = json.loads((RESULTS / "latest.json").read_text(encoding="utf-8"))
    day, _, clock = report["date"].partition("T")
    machine, settings = report["machine"], report["settings"]
    cpu = re.sub(r"\((?:R|TM)\)| Processor$| CPU .*$", "", machine["cpu"]).strip()
    generator = settings["load_generator"].split(" Copyright")[0]
    lines = [
        _paragraph(
            f"Latest figures: **{day}** ({clock[:5]} UTC), {cpu}, {machine['cores']} cores, {generator}, "
            f"{settings['duration_s']} s per run, gunicorn {settings['workers']} workers x {settings['threads']} "
            "threads (`bench/results/latest.json`; `make bench`):"
        ),
        "",
        "| payload | resources | baseline p50 / p95 / p99 (ms) | service p50 / p95 / p99 (ms) | ratio p50 / p95 / p99 "
        f"| req/s at {settings['connections']} conn. baseline / service (ratio) | worker CPU per request, 1 / "
        f"{settings['connections']} conn. (ms) baseline; service |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["payloads"]:
        base, service, ratio = row["baseline"], row["service"], row["ratio"]
        lines.append(
            f"| {row['payload']} | {row['resources']:,} | {_latencies(base['single'])} | "
            f"{_latencies(service['single'])} | {ratio['p50']}x / {ratio['p95']}x / {ratio['p99']}x | "
            f"{base['concurrent']['rps']:.0f} / {service['concurrent']['rps']:.0f} ({ratio['throughput']}x) | "
            f"{base['single']['cpu_ms_per_request']} / {base['concurrent']['cpu_ms_per_request']}; "
            f"{service['single']['cpu_ms_per_request']} / {service['concurrent']['cpu_ms_per_request']} |"
        )
    lines += [
        "",
        f"| payload | p50 at {settings['connections']} conn. baseline / service (ms, ratio) | as an EHR calls (a new "
        "connection each, one at a time): p50 baseline / service (ms, ratio) | p95 (ms, ratio) |",
        "|---|---|---|---|",
    ]
    for row in report["payloads"]:
        base, service, ratio, ehr = row["baseline"], row["service"], row["ratio"], row.get("ehr")
        calls = (
            f"{_ms(ehr['baseline']['p50_ms'])} / {_ms(ehr['service']['p50_ms'])} ({ehr['ratio']['p50']}x) | "
            f"{_ms(ehr['baseline']['p95_ms'])} / {_ms(ehr['service']['p95_ms'])} ({ehr['ratio']['p95']}x)"
            if ehr
            else "not measured | not measured"
        )
        concurrent = ratio.get("concurrent_p50")
        lines.append(
            f"| {row['payload']} | {_ms(base['concurrent']['p50_ms'])} / {_ms(service['concurrent']['p50_ms'])} "
            f"({concurrent}x) | {calls} |"
        )
    rss = report["peak_rss_mb"]
    recycled = (
        " (gunicorn recycled baseline workers after `max_requests`)"
        if len(rss["baseline"]) > settings["workers"]
        else ""
    )
    per_resource = ", ".join(
        f"{report['per_resource_us'][row['payload']]} µs at {row['resources']:,}" + (" resources" if index == 0 else "")
        for index, row in enumerate(report["payloads"])
    )
    lines += [
        "",
        _paragraph(
            f"Peak RSS per worker: service {' and '.join(str(mb) for mb in rss['service'])} MB; baseline "
            f"{min(rss['baseline'])} to {max(rss['baseline'])} MB{recycled}. Service time above the baseline per "
            f"resource (p50): {per_resource}."
        ),
        "",
        "Targets (ratios in the same run):",
        "",
    ]
    lines += [
        f"- {'met' if target['met'] else '**missed**'}: {target['target']} (measured {target['value']})"
        for target in report["targets"]
    ]
    path = report.get("request_path")
    if path:
        canned, baseline, ratio, ehr = path["canned"], path["baseline"], path["ratio"], path["ehr"]
        lines += [
            "",
            _paragraph(
                f"The request path alone, in the same run (the {path['payload']} patient; the service with its "
                "evaluation answered from a memo, `bench/canned.py`: body, JSON checks, validation, audit commit, "
                "metrics, log line and answer, without prefetch reading, mapping, guideline or cards): worker CPU "
                f"{canned['cpu_ms_per_request']} ms per request at {path['connections']} connections (baseline "
                f"{baseline['cpu_ms_per_request']} ms); p50 at {path['connections']} connections "
                f"{_ms(baseline['p50_ms'])} / {_ms(canned['p50_ms'])} ms ({ratio['concurrent_p50']}x), throughput "
                f"{ratio['throughput']}x; as an EHR calls p50 {_ms(ehr['baseline']['p50_ms'])} / "
                f"{_ms(ehr['service']['p50_ms'])} ms ({ehr['ratio']['p50']}x)."
            ),
        ]
    return "\n".join(lines) + "\n"


def _paragraph(text: str) -> str:
    """Wrapped as the pages are (lines of at most 117 characters)."""
    return textwrap.fill(text, width=117, break_long_words=False, break_on_hyphens=False)


def _latencies(run: dict[str, Any]) -> str:
    return " / ".join(_ms(run[key]) for key in ("p50_ms", "p95_ms", "p99_ms"))


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def cohort_speed() -> str:
    """Return the worklist's speed table of ``docs/cohort.md`` (``bench/results/cohort.json``, ``bench.cohort``).

    One line per run: the cohort (patients, profile, export size on disk), the worker processes, the time and
    throughput of the whole run, the floor measured in the same run and the run's time over it, the peak memory of
    the process tree (RSS summed over the processes; PSS, shared pages counted once), and, when the run was measured
    with ``--baseline``, the earlier commit's time and ratio on the same export right after it.
    """
    report = json.loads((RESULTS / "cohort.json").read_text(encoding="utf-8"))
    lines = [
        "| patients | profile | export on disk | workers | seconds | patients/s | floor | run / floor "
        "| peak RSS (sum) | peak PSS (sum) | before (same run) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in sorted(report["runs"], key=lambda r: (r["patients"], r.get("profile", ""), r["workers"])):
        size = run.get("export_bytes")
        floor, ratio, pss = run.get("floor_seconds"), run.get("floor_ratio"), run.get("peak_pss_mb")
        cells = [
            f"{run['patients']:,}",
            run.get("profile", "basic") + (", gzip" if run.get("gzip") else ""),
            f"{size / 1e9:.2f} GB" if size else "",
            str(run["workers"]),
            f"{_ms(run['seconds'])} s",
            f"{run['patients_per_second']:,.0f}/s",
            f"{_ms(floor)} s" if floor is not None else "",
            f"{ratio:.2f}x" if ratio is not None else "",
            f"{run['peak_rss_mb']:.0f} MB",
            f"{pss:.0f} MB" if pss is not None else "",
            _baseline_cell(run.get("baseline")),
        ]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def _baseline_cell(baseline: dict[str, Any] | None) -> str:
    """``bench.cohort --baseline``'s measurement of an earlier commit: ``20.1 s, 5.90x, 380 MB (84134d3)``."""
    if not baseline:
        return ""
    return (
        f"{_ms(baseline['seconds'])} s, {baseline['floor_ratio']:.2f}x, {baseline['peak_rss_mb']:.0f} MB "
        f"(`{baseline['commit']}`)"
    )


ONE_CALL_FIXTURE = GOLDEN / "sid-igrt-order-select" / "pop2-window-igg-below-4-start"
"""The golden case of the README's "One call"."""


def one_call() -> str:
    """Return the README's "One call" card: ``cds-service evaluate`` of its fixture, on its date, ``--format text``.

    Written between the markers of ``README_REGIONS``.
    """
    from commands.cli import main as cds_service
    from commands.upload import case_as_of

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cds_service(
            [
                "evaluate",
                str(ONE_CALL_FIXTURE / "request.json"),
                "--as-of",
                case_as_of(ONE_CALL_FIXTURE).isoformat(),
                "--format",
                "text",
                "--language",
                "en",
            ]
        )
    if status != 0:
        raise RuntimeError(f"cds-service evaluate {ONE_CALL_FIXTURE.name} exited {status}")
    return f"```text\n{out.getvalue().rstrip()}\n```\n"


def _demo() -> ModuleType:
    """``scripts/demo.py`` as a module (the scripts are not a package)."""
    name = "scripts_demo"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "demo.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


PAGE = DOCS / "configuration.md"
REGIONS: list[Region] = [
    (
        "<!-- settings: generated by scripts/update_docs.py from cds_service/settings -->",
        "<!-- end of generated settings -->",
        settings_reference,
    ),
    (
        "<!-- interpretation settings: generated by scripts/update_docs.py -->",
        "<!-- end of generated table -->",
        interpretation_table,
    ),
]
"""The generated regions of ``docs/configuration.md``."""
PAGES: list[tuple[Path, list[Region]]] = [
    (PAGE, REGIONS),
    (
        DOCS / "integrating.md",
        [
            (
                "<!-- patient-view patients: generated by scripts/update_docs.py from fixtures/golden -->",
                "<!-- end of generated patients -->",
                demo_patients,
            )
        ],
    ),
    (
        DOCS / "benchmark.md",
        [
            (
                "<!-- latest figures: generated by scripts/update_docs.py from bench/results/latest.json -->",
                "<!-- end of generated figures -->",
                benchmark_figures,
            )
        ],
    ),
    (
        DOCS / "cohort.md",
        [
            (
                "<!-- cohort speed: generated by scripts/update_docs.py from bench/results/cohort.json -->",
                "<!-- end of generated speed table -->",
                cohort_speed,
            )
        ],
    ),
]
"""Every page with generated regions, and its regions."""
README_REGIONS: list[Region] = [
    ("<!-- one call: generated by scripts/update_docs.py -->", "<!-- end of generated card -->", one_call)
]
"""The README's "One call" card (``one_call``)."""
PAGES.append((ROOT / "README.md", README_REGIONS))


def generated(text: str, regions: list[Region] = REGIONS, name: str = PAGE.name) -> str:
    """Return ``text`` with every region between its markers replaced by what the code writes now.

    Args:
        text: the page.
        regions: its regions (default: those of ``docs/configuration.md``).
        name: the page's name, for the error.

    Raises:
        ValueError: a marker is missing.
    """
    for begin, end, write in regions:
        if begin not in text or end not in text:
            raise ValueError(f"{name}: missing {begin} ... {end}")
        before, rest = text.split(begin, 1)
        _, after = rest.split(end, 1)
        text = f"{before}{begin}\n{write()}{end}{after}"
    return text


def main(argv: list[str] | None = None) -> int:
    """Rewrite the generated regions of every page, or of the pages named (``docs/cohort.md``); return 0 or 2."""
    names = argv if argv is not None else sys.argv[1:]
    chosen = [(page, regions) for page, regions in PAGES if not names or str(page.relative_to(ROOT)) in names]
    if len(chosen) != (len(names) or len(PAGES)):
        known = ", ".join(str(page.relative_to(ROOT)) for page, _ in PAGES)
        print(f"update_docs: pages with generated regions: {known}", file=sys.stderr)
        return 2
    for page, regions in chosen:
        text = page.read_text(encoding="utf-8")
        new = generated(text, regions, page.name)
        if new != text:
            page.write_text(new, encoding="utf-8")
            print(f"updated {page.relative_to(ROOT)}")
        else:
            print(f"current {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
