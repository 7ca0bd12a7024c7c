"""Where card texts come from: every ``msg("...")`` literal in the code and every guideline setting description."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from guideline.parameters import Parameters

ROOT = Path(__file__).resolve().parent.parent
CATALOG_PATH = ROOT / "cds_service" / "locales" / "da" / "LC_MESSAGES" / "messages.po"
SOURCE_DIRS = ("guideline", "fhir_mappers", "cds_service")


def message_ids() -> list[str]:
    """Return every msgid, in source order, without duplicates."""
    ids: list[str] = []
    for directory in SOURCE_DIRS:
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT / directory), method_map=[("**.py", "python")], keywords={"msg": None}
        ):
            ids.append(message if isinstance(message, str) else message[0])
    ids += [field.description or "" for field in Parameters.model_fields.values()]
    return list(dict.fromkeys(i for i in ids if i))
