"""``cds-service agreement-report``: the go-live report of silent (and normal) mode, as HTML, CSV or JSON.

Reads the audit database (``DATABASE_URL``), judges every decision recorded from ``--since`` with
``cds_service.audit.agreement`` and writes, per rule and recommendation, how many decisions were made and how often
the clinician's next action agreed, disagreed or is unknown; the disagreements by card uuid and rule (for review in
the audit trail); and the weekly counts as a plot (HTML). No patient identifier, not even a pseudonym, is written.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

from jinja2 import Environment

from cds_service.audit.agreement import VERDICTS, AgreementReport, Windows, agreement

if TYPE_CHECKING:
    from storage import AuditStore  # the caller's store; importing it here would load SQLAlchemy with the CLI

FORMATS = ("html", "csv", "json")
_COLOURS = {"agreed": "#1e8449", "disagreed": "#c0392b", "unknown": "#aab7b8", "no-expectation": "#5dade2"}
_LOOK_BACK = timedelta(days=1)
"""Decisions recorded up to a day before ``--since`` are read too, as what an order or a stop may follow from."""


def agreement_report(
    store: AuditStore,
    *,
    since: date,
    until: date | None,
    output: str,
    windows: Windows,
    now: datetime | None = None,
) -> str:
    """Return the report of decisions recorded from ``since`` (00:00 UTC) to before ``until`` (default: now).

    Args:
        store: the audit store.
        since: the first day judged.
        until: the first day not judged (the decisions after it still count as what happened next).
        output: ``html`` | ``csv`` | ``json``.
        windows: how long to wait for the next action.
        now: the report time (default: the clock; tests pass it).

    Raises:
        ValueError: an unknown ``output``.
        storage.StorageError: the database is unavailable.
    """
    if output not in FORMATS:
        raise ValueError(f"unknown format {output!r}: use {', '.join(FORMATS)}")
    now = now or datetime.now(UTC)
    start = datetime.combine(since, time(), tzinfo=UTC)
    end = datetime.combine(until, time(), tzinfo=UTC) if until is not None else now
    rows = store.decisions_since(start - _LOOK_BACK)
    report = agreement(rows, store.feedback_since(start), now=now, windows=windows, since=start, until=end)
    if output == "json":
        return json.dumps(_as_json(report, since, end, windows), indent=2) + "\n"
    if output == "csv":
        return _as_csv(report)
    silent = sum(1 for j in report.judged if j.decision.outcome == "silent")
    mode = f"{silent} silent, {len(report.judged) - silent} shown"
    template = Environment(autoescape=True).from_string(
        (resources.files("commands") / "templates" / "agreement.html.j2").read_text(encoding="utf-8")
    )
    return template.render(
        report=report,
        since=since.isoformat(),
        until=(end.date() if until is not None else now.date()).isoformat(),
        now=now.strftime("%Y-%m-%d %H:%M UTC"),
        mode=mode,
        windows=windows,
        plot=_weekly_plot(report),
    )


def _as_json(report: AgreementReport, since: date, end: datetime, windows: Windows) -> dict[str, Any]:
    return {
        "since": since.isoformat(),
        "until": end.isoformat(),
        "windows": {"orderHours": windows.order_hours, "followDays": windows.follow_days},
        "totals": {verdict: report.total(verdict) for verdict in VERDICTS},
        "rules": [
            {"rule": r.rule, "recommendation": r.recommendation, "decisions": r.decisions, **dict(r.counts)}
            for r in report.rules
        ],
        "weeks": [{"week": monday.isoformat(), **dict(counts)} for monday, counts in report.weeks],
        "disagreements": [
            {
                "recordedAt": j.decision.recorded_at.isoformat(),
                "hook": j.decision.hook,
                "rule": j.decision.rule_id,
                "recommendation": j.decision.recommendation,
                "cardUuid": j.decision.card_uuid,
                "outcome": j.decision.outcome,
                "whatHappened": j.what_happened,
            }
            for j in report.disagreements
        ],
    }


def _as_csv(report: AgreementReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["rule", "recommendation", "decisions", *VERDICTS])
    for row in report.rules:
        writer.writerow([row.rule, row.recommendation, row.decisions, *(row.counts[v] for v in VERDICTS)])
    return out.getvalue()


def _weekly_plot(report: AgreementReport) -> str:
    """Stacked weekly bars of the verdicts, as inline SVG (matplotlib, text kept as text)."""
    # Imported here: `cds-service serve` imports this module's command line, and its workers need no matplotlib.
    from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(9.2, 2.6))
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    weeks = [monday for monday, _ in report.weeks]
    bottom = [0] * len(weeks)
    for verdict in VERDICTS:
        heights = [counts[verdict] for _, counts in report.weeks]
        axes.bar([w.isoformat() for w in weeks], heights, bottom=bottom, color=_COLOURS[verdict], label=verdict)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_ylabel("decisions")
    axes.set_xlabel("week (Monday)")
    axes.legend(loc="upper left", fontsize=8, ncols=4, frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]
