"""Card language: English (the message ids) or Danish, from the gettext catalog ``locales/da/LC_MESSAGES/messages.po``.

The deployment setting ``CDS_LANGUAGE`` (``en`` default, or ``da``) picks the language; a request can override it
with the documented request extension ``{"extension": {"sid-igrt": {"language": "da"}}}``. The catalog is read with
Babel once per process (no compiled ``.mo`` file to build). Numbers use the language's decimal mark (``3,1 g/L`` in
Danish); dates stay ISO 8601 in both.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from guideline.text import Message, english

LANGUAGES = ("en", "da")
"""Supported card languages; the first is the default."""
REQUEST_EXTENSION = "sid-igrt"


class Translator:
    """Renders ``Message``s in one language."""

    def __init__(self, language: str, translations: NullTranslations) -> None:
        self.language = language
        self._translations = translations

    def __call__(self, value: Any) -> str:
        """Return ``value`` (a ``Message``, a parameter value or a tuple of them) as text in this language."""
        if self.language == "en":
            return english(value)
        if isinstance(value, Message):
            template = self._translations.gettext(value.msgid)
            return template.format(**{name: self(param) for name, param in value.params})
        if isinstance(value, tuple):
            return ", ".join(self(v) for v in value)
        if isinstance(value, float) and not isinstance(value, bool):
            return format_decimal(value, format="#,##0.###", locale=self.language)
        return english(value)


@cache
def translator(language: str) -> Translator:
    """Return the translator for ``language`` (``en`` or ``da``).

    Raises:
        ValueError: an unsupported language.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unsupported card language {language!r}; use one of {', '.join(LANGUAGES)}")
    if language == "en":
        return Translator("en", NullTranslations())
    return Translator(language, _catalog(language))


def _catalog(language: str) -> Translations:
    path = resources.files("cds_service") / "locales" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def request_language(extension: Any) -> str | None:
    """Return the language asked for by the request extension ``extension["sid-igrt"]["language"]``, if any.

    Raises:
        ValueError: the extension names an unsupported language.
    """
    if not isinstance(extension, dict):
        return None
    ours = extension.get(REQUEST_EXTENSION)
    if not isinstance(ours, dict) or "language" not in ours:
        return None
    language = ours["language"]
    if language not in LANGUAGES:
        raise ValueError(f"extension.{REQUEST_EXTENSION}.language must be one of {', '.join(LANGUAGES)}")
    return str(language)
