"""``worklist.parquet``: the worklist as a typed table a warehouse loads as it is (issue 30 §7).

The rows and order of ``worklist.csv`` (patients on the worklist, ``cohort.evaluation.due_order``), with types rather
than text: dates as ``date32``, flags as ``bool``, the population as ``int8``, the missing data as ``list<string>``,
``as_of`` on every row (appending weekly runs to one table keeps them apart). Values exactly as decided: no
spreadsheet quoting (``cohort.spreadsheet`` is for the CSV only). ``SCHEMA`` is the contract.

pyarrow is an optional extra (``make parquet``, ``requirements-parquet.lock``; ``pip install .[parquet]``), as PySpark
is: without it ``write_parquet`` writes nothing and returns ``MISSING_NOTE``, which the run reports on stderr and in
``summary.html``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from cohort.actions import action_column
from cohort.evaluation import WorklistRow

MISSING_NOTE = "worklist.parquet not written: pyarrow is not installed (make parquet, or pip install '.[parquet]')"
"""What a run says when pyarrow is not importable."""
STRING_COLUMNS = ("patient_id", "display", "action", "recommendation", "rule")
DATE_COLUMNS = ("t0", "window_end", "stop_due", "next_follow_up")
BOOL_COLUMNS = ("on_igrt", "patient_view_card", "order_lab_tests")


def available() -> bool:
    """Whether pyarrow can be imported (without importing it)."""
    return importlib.util.find_spec("pyarrow") is not None


def schema() -> Any:
    """Return the ``pyarrow.Schema`` of ``worklist.parquet`` (raises ``ImportError`` without pyarrow).

    ``as_of`` date32 (not null); ``patient_id``, ``display``, ``action`` (``cohort.actions.action_column``: ``""``
    when not acted on), ``recommendation``, ``rule`` string (not null); ``population`` int8; ``t0``, ``window_end``,
    ``stop_due``, ``next_follow_up`` date32; ``on_igrt``, ``patient_view_card``, ``order_lab_tests`` bool (not null);
    ``missing_data`` list<string> (not null, may be empty); ``interpretations`` list<string> (the interpretation
    settings the decision used).
    """
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("as_of", pa.date32(), nullable=False),
            *(pa.field(name, pa.string(), nullable=False) for name in STRING_COLUMNS),
            pa.field("population", pa.int8()),
            *(pa.field(name, pa.date32()) for name in DATE_COLUMNS),
            *(pa.field(name, pa.bool_(), nullable=False) for name in BOOL_COLUMNS),
            pa.field("missing_data", pa.list_(pa.string()), nullable=False),
            pa.field("interpretations", pa.list_(pa.string()), nullable=False),
        ]
    )


def write_parquet(rows: Iterable[WorklistRow], path: Path, *, as_of: date) -> str | None:
    """Write the rows ``on_worklist``, in the order given, to ``path``; ``MISSING_NOTE`` without pyarrow.

    Returns:
        ``None`` when written, else the note saying why not.
    """
    if not available():
        return MISSING_NOTE
    import pyarrow as pa
    import pyarrow.parquet as pq

    listed = [row for row in rows if row.on_worklist]
    columns: dict[str, list[Any]] = {
        "as_of": [as_of] * len(listed),
        "patient_id": [row.patient_id for row in listed],
        "display": [row.display for row in listed],
        "action": [action_column(row) for row in listed],
        "recommendation": [row.recommendation for row in listed],
        "rule": [row.rule for row in listed],
        "population": [row.population for row in listed],
        **{name: [getattr(row, name) for row in listed] for name in (*DATE_COLUMNS, *BOOL_COLUMNS)},
        "missing_data": [list(row.missing) for row in listed],
        "interpretations": [list(row.interpretations) for row in listed],
    }
    pq.write_table(pa.table(columns, schema=schema()), path)
    return None
