"""Where card texts come from: every ``msg("...")`` and ``plural("...", "...", n)`` literal in the code and every
guideline setting description."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from guideline.parameters import Parameters

ROOT = Path(__file__).resolve().parent.parent
CATALOG_PATH = ROOT / "cds_service" / "cards" / "locales" / "da" / "LC_MESSAGES" / "messages.po"
SOURCE_DIRS = ("guideline", "fhir_mappers", "cds_service")
KEYWORDS = {"msg": None, "plural": (1, 2)}
"""``guideline.text``'s message functions for Babel's extractor: ``msg(msgid)``, ``plural(msgid, msgid_plural)``."""

MessageId = str | tuple[str, str]
"""A catalog entry's id: the msgid, or (msgid, msgid_plural) for a plural message (as Babel's ``Message.id``)."""


def catalog_ids() -> list[MessageId]:
    """Return every message id, in source order, without duplicates; plural messages as (singular, plural)."""
    ids: list[MessageId] = []
    for directory in SOURCE_DIRS:
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT / directory), method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            # msg gives a str, plural a (singular, plural) pair; Babel drops a call whose argument is not a literal.
            ids.append(message if isinstance(message, str) else (message[0], message[1]))
    ids += [field.description or "" for field in Parameters.model_fields.values()]
    return list(dict.fromkeys(i for i in ids if i))


def message_ids() -> list[str]:
    """Return every msgid (a plural message's singular msgid), in source order, without duplicates."""
    return list(dict.fromkeys(i if isinstance(i, str) else i[0] for i in catalog_ids()))
