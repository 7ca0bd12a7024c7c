"""Refresh the Danish message catalog (``make catalog``).

Extracts every ``msg("...")`` template, every ``plural("...", "...", n)`` pair and every guideline setting
description, keeps existing translations, and counts the messages that still need one. A plural message is written
as a gettext plural entry (``msgid``, ``msgid_plural``, ``msgstr[0]`` for 1 and ``msgstr[1]`` for the rest, as the
catalog's ``Plural-Forms: nplurals=2; plural=(n != 1);`` says). When a text becomes plural, the old singular
translation is kept as ``msgstr[0]`` if its msgid is the new singular, and as ``msgstr[1]`` if it is the new plural;
the other form is left empty (counted as missing). A translation whose msgid the code no longer has is kept as an
obsolete entry (``#~``, as ``msgmerge`` does), and taken up again if the msgid comes back (a text edited back, or
extracted from a file that was half-edited); ``--drop-obsolete`` removes them.

Usage: ``.venv/bin/python scripts/update_catalog.py [--drop-obsolete]``. The test ``tests/cds_service/test_i18n.py``
fails while any message lacks a Danish translation or a translation's ``{placeholders}`` differ from its msgid's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.catalog import CATALOG_PATH, MessageId, catalog_ids  # noqa: E402


def translation(old: Catalog, message_id: MessageId) -> str | tuple[str, str]:
    """Return the existing translation of ``message_id`` in ``old`` ("" or empty forms where there is none).

    Looks in ``old``'s entries, then in its obsolete ones.
    """
    if isinstance(message_id, str):
        return _singular_string(old, message_id)
    singular, plural = message_id
    entry = _entry(old, singular)
    if entry is not None and tuple(entry.id) == message_id and isinstance(entry.string, tuple | list):
        forms = [*entry.string, "", ""]
        return forms[0], forms[1]
    return _singular_string(old, singular), _singular_string(old, plural)


def _entry(old: Catalog, msgid: str) -> Message | None:
    entry = old.get(msgid)
    return entry if entry is not None else old.obsolete.get(msgid)


def _singular_string(old: Catalog, msgid: str) -> str:
    entry = _entry(old, msgid)
    return entry.string if entry is not None and isinstance(entry.id, str) and isinstance(entry.string, str) else ""


def update(old: Catalog, message_ids: list[MessageId], *, drop_obsolete: bool = False) -> tuple[Catalog, int]:
    """Return the new catalog for ``message_ids`` (translations from ``old``) and how many lack a translation."""
    catalog = Catalog(locale="da", project="sid-igrt-cds", charset="utf-8")
    missing = 0
    for message_id in message_ids:
        string = translation(old, message_id)
        catalog.add(message_id, string)
        missing += not all(string) if isinstance(string, tuple) else not string
    if not drop_obsolete:
        for entry in [*old, *old.obsolete.values()]:
            if entry.id and entry.string and any(entry.string) and entry.id not in catalog:
                catalog.obsolete[entry.id if isinstance(entry.id, str) else entry.id[0]] = entry
    return catalog, missing


def main(argv: list[str]) -> int:
    """Rewrite the catalog; return 1 when some messages have no (complete) translation yet."""
    old = Catalog(locale="da")
    if CATALOG_PATH.exists():
        with CATALOG_PATH.open("rb") as po:
            old = read_po(po, locale="da")
    catalog, missing = update(old, catalog_ids(), drop_obsolete="--drop-obsolete" in argv)
    with CATALOG_PATH.open("wb") as out:
        write_po(out, catalog, width=0, omit_header=False, sort_output=False)
    print(
        f"{len(catalog)} messages, {missing} without a Danish translation, {len(catalog.obsolete)} obsolete kept: "
        f"{CATALOG_PATH.relative_to(ROOT)}"
    )
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
