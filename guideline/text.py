"""Card text as translatable messages: the guideline core says *what* to say, the service layer says it in a language.

A ``Message`` is an English template (the gettext msgid, with ``{name}`` placeholders) and its parameters. The core
never formats numbers or picks a language; ``cds_service.i18n`` renders a message in English or Danish from the
message catalogs under ``cds_service/locales``. Every template passed to ``msg`` must be a string literal, so that
``pybabel extract -k msg`` finds it (``make catalog``).

Parameter values: ``str`` (shown as is), ``int``, ``float`` (decimal comma in Danish), ``datetime.date`` (ISO
8601), a nested ``Message``, or a tuple of those (joined with ", ").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

Param = str | int | float | date | None
"""A scalar parameter; ``Message`` and tuples are also accepted (see module docstring)."""


class Message(BaseModel):
    """One translatable text: ``msgid`` (English template) and its named parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    msgid: str
    params: tuple[tuple[str, Any], ...] = ()

    def english(self) -> str:
        """Return the English text (msgid filled in, numbers as ``{:g}``, dates ISO); for logs and tests."""
        return self.msgid.format(**{name: english(value) for name, value in self.params})


def msg(msgid: str, /, **params: Any) -> Message:
    """Return a ``Message``; ``msgid`` must be a literal English template using ``{name}`` placeholders."""
    # Built without validation: the fields are typed by construction (a literal str, keyword names), and a card
    # makes about a hundred of these, which validation made the largest single cost of building one.
    return Message.model_construct(msgid=msgid, params=tuple(params.items()))


def join(parts: Sequence[Any], separator: str = ", ") -> Message:
    """Return the parts joined by ``separator`` as one message (the separator is the same in every language)."""
    msgid = separator.join(f"{{p{i}}}" for i in range(len(parts)))
    return Message.model_construct(msgid=msgid, params=tuple((f"p{i}", part) for i, part in enumerate(parts)))


def english(value: Any) -> str:
    """Render one parameter value (or a ``Message``) in English."""
    if isinstance(value, Message):
        return value.english()
    if isinstance(value, tuple):
        return ", ".join(english(v) for v in value)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
