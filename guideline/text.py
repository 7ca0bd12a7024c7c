"""Card text as translatable messages: the guideline core says *what* to say, the service layer says it in a language.

A ``Message`` is an English template (the gettext msgid, with ``{name}`` placeholders) and its parameters. The core
never formats numbers or picks a language; ``cds_service.cards.i18n`` renders a message in English or Danish from the
message catalogs under ``cds_service/cards/locales``. Every template passed to ``msg`` or ``plural`` must be a string
literal, so that the extractor finds it (``make catalog``; ``tests/catalog.py``).

A message whose wording depends on a number is made with ``plural``: a singular and a plural template and the count
that chooses between them (English: singular when the count is 1; Danish: the catalog's ``Plural-Forms``). Never
write "(s)" or "(er)" into a template.

Parameter values: ``str`` (shown as is), ``int``, ``float`` (decimal comma in Danish, at most three decimals, no
trailing zeros), ``Decimals`` (a number shown with exactly so many decimals, as the lab reported it: ``3.0``),
``datetime.date`` (ISO 8601), a nested ``Message``, or a tuple of those (joined with ", ").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from guideline.quick_init import quick_init, slot_setter

Param = str | int | float | date | None
"""A scalar parameter; ``Decimals``, ``Message`` and tuples are also accepted (see module docstring)."""


@quick_init
@dataclass(frozen=True, slots=True)
class Decimals:
    """A number shown with exactly ``places`` decimals: ``Decimals(3.0, 1)`` is "3.0" in English, "3,0" in Danish.

    For values whose precision means something, such as a lab result reported as ``3.0`` g/L: a plain ``float``
    parameter would show "3". Rounds half up when the value has more decimals than ``places``.

    Attributes:
        value: the number.
        places: decimals shown, 0 or more.
    """

    value: float
    places: int

    def __post_init__(self) -> None:
        """Refuse negative ``places`` (and a bool or non-integer count of places)."""
        if isinstance(self.places, bool) or not isinstance(self.places, int) or self.places < 0:
            raise ValueError(f"Decimals places must be an int >= 0, got {self.places!r}")

    def digits(self) -> Decimal:
        """Return the value rounded half up to ``places`` decimals, as a ``Decimal`` with exactly that exponent."""
        return Decimal(repr(float(self.value))).quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_UP)

    def __str__(self) -> str:
        """Return the English text, e.g. ``"3.0"``."""
        # Most values hold no more decimals than shown (a lab's "3.0" g/L with one place): padded with zeros they
        # are the rounded text already, without the Decimal arithmetic that ``digits`` needs to round.
        text = repr(float(self.value))
        whole, point, fraction = text.partition(".")
        plain = fraction.isdigit() and whole.lstrip("-").isdigit()  # not "1.5e+16": an exponent is no decimals
        if point and self.places and len(fraction) <= self.places and plain:
            return f"{whole}.{fraction:0<{self.places}}"
        return f"{self.digits():f}"


@quick_init
@dataclass(frozen=True, slots=True)
class Message:
    """One translatable text: ``msgid`` (English template) and its named parameters.

    A plural message (``plural``) also has ``msgid_plural`` and ``count``, the name of the parameter whose value
    picks the form. Plain data, not a pydantic model: a card makes about a hundred of these, the fields are typed by
    construction (``msg``, ``plural``, ``join``), and pydantic models that hold one keep the instance as given.
    """

    msgid: str
    params: tuple[tuple[str, Any], ...] = ()
    msgid_plural: str | None = None
    count: str | None = None

    def template(self) -> str:
        """Return the English template: ``msgid``, or for a plural message the form its count needs."""
        if self.msgid_plural is None:
            return self.msgid
        return self.msgid if self.count_value() == 1 else self.msgid_plural

    def count_value(self) -> int:
        """Return the value of the count parameter of a plural message (0 for a message that is not plural)."""
        for name, value in self.params:
            if name == self.count:
                return int(value)
        return 0

    def english(self) -> str:
        """Return the English text (msgid filled in, numbers as ``{:g}``, dates ISO); for logs and tests."""
        return self.template().format(**{name: english(value) for name, value in self.params})


# A card's decision and advice make about seventy messages (issue 32): ``msg`` fills the slots of a new ``Message``
# itself, as ``Message``'s ``__init__`` (``quick_init``) would, without the call of that ``__init__``.
_new_message = object.__new__
_set_msgid = slot_setter(Message, "msgid")
_set_params = slot_setter(Message, "params")
_set_msgid_plural = slot_setter(Message, "msgid_plural")
_set_count = slot_setter(Message, "count")


def msg(msgid: str, /, **params: Any) -> Message:
    """Return a ``Message``; ``msgid`` must be a literal English template using ``{name}`` placeholders."""
    message: Message = _new_message(Message)
    _set_msgid(message, msgid)
    _set_params(message, tuple(params.items()))
    _set_msgid_plural(message, None)
    _set_count(message, None)
    return message


def plural(singular: str, msgid_plural: str, count: int, /, **params: Any) -> Message:
    """Return a ``Message`` whose form depends on ``count``, which fills the ``{count}`` placeholder.

    Both templates must be literal English templates; ``count`` is an ``int`` (a bool or float is refused, as the
    plural rules are for whole numbers). Example::

        plural("{count} further administration", "{count} further administrations", 4)

    is "4 further administrations" / "4 yderligere administrationer", and with 1 "1 further administration" /
    "1 yderligere administration".

    Raises:
        TypeError: ``count`` is not an int, or ``count`` is also given as a keyword.
    """
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"plural count must be an int, got {count!r}")
    if "count" in params:
        raise TypeError("plural: the count is the third argument, not a keyword")
    return Message(singular, (("count", count), *params.items()), msgid_plural, "count")


def join(parts: Sequence[Any], separator: str = ", ") -> Message:
    """Return the parts joined by ``separator`` as one message (the separator is the same in every language)."""
    msgid = separator.join(f"{{p{i}}}" for i in range(len(parts)))
    return Message(msgid, tuple((f"p{i}", part) for i, part in enumerate(parts)))


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
