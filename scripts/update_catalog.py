"""Refresh the Danish message catalog (``make catalog``).

Extracts every ``msg("...")`` template and every guideline setting description, keeps existing translations, and
counts the msgids that still need one.

Usage: ``.venv/bin/python scripts/update_catalog.py``. The test ``tests/cds_service/test_i18n.py`` fails while any
msgid lacks a Danish translation or a translation's ``{placeholders}`` differ from its msgid's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.catalog import CATALOG_PATH, message_ids  # noqa: E402


def main() -> int:
    """Rewrite the catalog; return 1 when some msgids have no translation yet."""
    old = Catalog(locale="da")
    if CATALOG_PATH.exists():
        with CATALOG_PATH.open("rb") as po:
            old = read_po(po, locale="da")
    catalog = Catalog(locale="da", project="sid-igrt-cds", charset="utf-8")
    missing = 0
    for msgid in message_ids():
        existing = old.get(msgid)
        catalog.add(msgid, existing.string if existing is not None else "")
        missing += existing is None or not existing.string
    with CATALOG_PATH.open("wb") as out:
        write_po(out, catalog, width=0, omit_header=False, sort_output=False)
    print(f"{len(catalog)} messages, {missing} without a Danish translation: {CATALOG_PATH.relative_to(ROOT)}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
