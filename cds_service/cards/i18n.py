"""Card language: English (the message ids) or Danish, from the gettext catalog ``locales/da/LC_MESSAGES/messages.po``.

The deployment setting ``CDS_LANGUAGE`` (``en`` default, or ``da``) picks the language; a request can choose with
the ``language`` card option or ``Accept-Language`` (``cds_service.cards.options``). The catalog is read with
Babel once per process (no compiled ``.mo`` file to build). Numbers use the language's decimal mark (``3,1 g/L`` in
Danish; a ``Decimals`` value keeps its decimals, ``3,0 g/L``); dates stay ISO 8601 in both. A plural message
(``guideline.text.plural``) takes the form its count needs: English singular for 1, Danish by the catalog's
``Plural-Forms`` (``nplurals=2; plural=(n != 1)``) through ``ngettext``.
"""

from __future__ import annotations

import io
import re
from functools import cache
from importlib import resources
from typing import Any

from babel.core import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, format_decimal, parse_pattern
from babel.support import NullTranslations, Translations

from guideline.text import Decimals, Message, english

LANGUAGES = ("en", "da")
"""Supported card languages; the first is the default."""
REQUEST_EXTENSION = "sid-igrt"
_CACHE_LIMIT = 4096
"""Most entries a translator's caches hold (message ids come from the code, a few hundred; this only bounds them)."""


class Translator:
    """Renders ``Message``s in one language.

    ``markdown()`` returns the same translator for Markdown: every string parameter, at any depth, is escaped
    (``escape_markdown``), because parameters carry text from the EHR (drug names, diagnosis displays) while the
    templates are ours. Card lines never start with a parameter, so line-start markers need no escaping there.
    Numbers and dates are never escaped; the plain translator is for summaries and JSON.
    """

    def __init__(self, language: str, translations: NullTranslations, *, markdown: bool = False) -> None:
        self.language = language
        self._translations = translations
        self._markdown = markdown
        self._english = language == "en"
        # Per-translator caches, as a card renders some hundred values (issue 32): the template of each singular
        # message id in this language, and the text of each message without parameters (the same in every card).
        self._templates: dict[str, str] = {}
        self._constants: dict[str, str] = {}

    def __call__(self, value: Any) -> str:
        """Return ``value`` (a ``Message``, a parameter value or a tuple of them) as text in this language."""
        # The two kinds nearly every call renders (a card renders some hundred values), tested by exact type first.
        kind = type(value)
        if kind is str:
            return _escape_parameter(value) if self._markdown else value
        if kind is Message or isinstance(value, Message):
            return self._render(value)
        if isinstance(value, tuple):
            return ", ".join([self(v) for v in value])
        if isinstance(value, str):
            return escape_markdown(value, line_start=False) if self._markdown else value
        if isinstance(value, float) and self.language != "en":
            return format_decimal(value, format=_pattern(_DECIMAL_FORMAT), locale=_locale(self.language))
        if isinstance(value, Decimals) and self.language != "en":
            return format_decimals(value, self.language)
        return english(value)

    def _render(self, message: Message) -> str:
        """The message's template in this language filled with its parameters, each rendered by ``__call__``.

        A message without parameters renders the same in every card: its text is kept (``_constants``).
        """
        if message.msgid_plural is None and not message.params:
            text = self._constants.get(message.msgid)
            if text is None:
                text = self._template(message).format()
                if len(self._constants) < _CACHE_LIMIT:
                    self._constants[message.msgid] = text
            return text
        # Strings and messages, most parameters, without ``__call__``'s dispatch; the rest as ``__call__`` renders it.
        args: dict[str, str] = {}
        for name, param in message.params:
            kind = type(param)
            if kind is str:
                args[name] = _escape_parameter(param) if self._markdown else param
            elif kind is Message:
                args[name] = self._render(param)
            else:
                args[name] = self(param)
        return self._template(message).format_map(args)

    def _template(self, message: Message) -> str:
        """The message's template in this language (for a plural message, the form its count needs)."""
        if message.msgid_plural is None:
            template = self._templates.get(message.msgid)
            if template is None:
                template = message.template() if self._english else self._translations.gettext(message.msgid)
                if len(self._templates) < _CACHE_LIMIT:
                    self._templates[message.msgid] = template
            return template
        if self._english:
            return message.template()
        return self._translations.ngettext(message.msgid, message.msgid_plural, message.count_value())

    def markdown(self) -> Translator:
        """Return this translator with string parameters escaped for Markdown."""
        return _markdown_translator(self.language)


def format_decimals(value: Decimals, language: str) -> str:
    """Return ``value`` with exactly ``value.places`` decimals and ``language``'s decimal mark.

    ``Decimals(3.0, 1)`` is ``"3,0"`` in Danish: the same digits as in English (rounded half up), and the same
    grouping as a plain ``float`` (``"1.234,5"``).
    """
    pattern = "#,##0" + ("." + "0" * value.places if value.places else "")
    return format_decimal(value.digits(), format=_pattern(pattern), locale=_locale(language))


_DECIMAL_FORMAT = "#,##0.###"
"""A ``float`` parameter: grouped, at most three decimals, no trailing zeros."""


@cache
def _pattern(pattern: str) -> NumberPattern:
    """``pattern`` parsed once (``format_decimal`` parses a pattern given as text on every call)."""
    return parse_pattern(pattern)


@cache
def _locale(language: str) -> Locale:
    """``language``'s Babel locale, parsed once (``format_decimal`` parses a locale given as text on every call)."""
    return Locale.parse(language)


_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]~|])")
_ESCAPED = re.compile(r"[&<\\`*_\[\]~|\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
"""What ``escape_markdown(..., line_start=False)`` changes: its specials, ``&``, ``<`` and ``str.splitlines`` breaks."""
_LINE_START = re.compile(r"^(\s*)(?:([#+-])(?=\s|$)|(>)|(\d+)([.)])(?=\s|$))")


def escape_markdown(text: str, *, line_start: bool = True) -> str:
    r"""Return ``text`` safe inside Markdown: no link, image, emphasis, code, heading, list, quote, table or HTML.

    Emphasis, code, link and table punctuation (``\ ` * _ [ ] ~ |``) is backslash-escaped everywhere (an image or a
    link needs ``[``, so ``!`` and ``(`` are harmless once it is escaped); a heading, list, quote or numbered item
    marker is escaped where the text starts; ``<`` and ``&`` become entities (no raw HTML, no entity tricks); line
    breaks become spaces, so no new block can start. ``line_start=False`` skips the line-start markers, for text
    placed after other text on a line (card parameters always are), where they are plain characters.
    """
    text = " ".join(text.replace("&", "&amp;").replace("<", "&lt;").splitlines())
    text = _INLINE_SPECIALS.sub(r"\\\1", text)
    return _LINE_START.sub(_escape_marker, text) if line_start else text


def _escape_parameter(text: str) -> str:
    """``escape_markdown(text, line_start=False)``; text with nothing to escape (most parameters) as it is."""
    return escape_markdown(text, line_start=False) if _ESCAPED.search(text) else text


def _escape_marker(match: re.Match[str]) -> str:
    indent, bullet, quote, number, delimiter = match.groups()
    if number is not None:
        return f"{indent}{number}\\{delimiter}"
    return f"{indent}\\{bullet or quote}"


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


@cache
def _markdown_translator(language: str) -> Translator:
    plain = translator(language)
    return Translator(language, plain._translations, markdown=True)


def _catalog(language: str) -> Translations:
    path = resources.files("cds_service.cards") / "locales" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)
