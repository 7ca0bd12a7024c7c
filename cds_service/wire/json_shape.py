"""What a JSON text would become once parsed, counted on its bytes first: JSON values and nesting depth.

Bytes alone do not bound a worker's memory (issue 29, item 1): 10 MiB of ``{}`` entries parse into 3.5 million
dicts, about 240 MiB, where 10 MiB of real FHIR is some 460,000 values. So a request body, and each answer of the
EHR's FHIR server, is measured before it is parsed, and refused when it holds more values or nests deeper than the
call may (``CDS_MAX_JSON_VALUES``, ``CDS_MAX_JSON_DEPTH``); nothing of it is parsed then.

How it counts, in linear passes of C code over the bytes (``bytes.replace``/``translate``/``count``, one regular
expression), never a parse: escaped backslashes and quotes are dropped, then every byte but ``"{}[],``; adjacent
quotes go next (an empty string, or two strings with nothing but letters between them), then the strings still left
(those holding brackets or commas). What remains is the structure: ``values = objects + arrays + commas + 1``, exact
except that an empty ``{}`` or ``[]`` counts twice (once as the value, once as the element it lacks); the depth is the
number of rounds that strip the innermost bracket pairs, at most ``max_depth + 1`` rounds. Text that is not JSON is
measured all the same (the parser refuses it afterwards).

Cost, measured with ``.venv/bin/python -m bench.json_shape`` (2-core Xeon): the extreme benchmark patient (6,021
resources, 2.29 MB) in about 3 ms (its ``orjson.loads``: about 9 ms); every refused shape tried (10 MiB of ``{}``
entries, of short strings, of strings of commas; nestings 500,000 deep) in at most about 31 ms; the costliest admitted
shapes (strings of commas at the value limit; 5,000 arrays 40 deep side by side) in about 31 ms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KEPT = b'"{}[],'
_DROP_ALL_BUT_STRUCTURE = bytes(b for b in range(256) if b not in _KEPT)
_STRING = re.compile(rb'"[^"]*"')
_AS_PARENTHESES = bytes.maketrans(b"{[}]", b"(())")
_ESCAPED = frozenset(b'\\"')
"""The bytes whose escapes ``measure`` drops: a backslash and a quote."""


@dataclass(frozen=True)
class JsonLimits:
    """What one JSON text may hold (``CDS_MAX_JSON_VALUES``, ``CDS_MAX_JSON_DEPTH``); defaults and why: the settings.

    Attributes:
        max_values: JSON values (objects, arrays, strings, numbers, ``true``/``false``/``null``).
        max_depth: nesting of objects and arrays (``{}`` is depth 1, ``{"a": []}`` depth 2).
    """

    max_values: int = 400_000
    max_depth: int = 64


@dataclass(frozen=True)
class JsonShape:
    """A JSON text as counted by ``measure``.

    Attributes:
        values: JSON values, an empty object or array counted twice (an upper bound, exact without empty ones); when
            over the limit, possibly a lower bound that is over it too (counting stopped early).
        depth: the nesting depth; ``max_depth + 1`` means deeper than asked, and 0 when the values were already
            over their limit (the depth is then not counted).
    """

    values: int
    depth: int

    def refusal(self, limits: JsonLimits, *, what: str) -> str | None:
        """Return the sentence that refuses ``what`` (e.g. ``"The request body"``) over ``limits``, or ``None``."""
        if self.values > limits.max_values:
            return f"{what} holds more than {limits.max_values:,} JSON values (objects, arrays, strings, numbers)."
        if self.depth > limits.max_depth:
            return f"{what} nests deeper than {limits.max_depth} levels of objects and arrays."
        return None


def measure(raw: bytes | bytearray, limits: JsonLimits) -> JsonShape:
    """Count the JSON values and the nesting depth of ``raw`` without parsing it (see the module docstring).

    Args:
        raw: a JSON text, UTF-8 (anything else is counted too, meaninglessly; the parser then refuses it).
        limits: the depth is counted up to ``max_depth + 1``, and not at all when the values are over ``max_values``.

    Returns:
        The shape. Never raises.
    """
    text = raw
    if _escapes_quote_or_backslash(text):
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")  # left to right, as JSON pairs its escapes
    text = text.translate(None, _DROP_ALL_BUT_STRUCTURE)
    if b'"' in text:
        text = text.replace(b'""', b"")
        strings = text.count(b'"') // 2
        if strings > 2 * limits.max_values:  # each string is a value or a key, and there are no more keys than values
            return JsonShape(strings // 2, 0)
        text = _STRING.sub(b"", text)
    values = text.count(b"{") + text.count(b"[") + text.count(b",") + 1
    if values > limits.max_values:
        return JsonShape(values, 0)
    return JsonShape(values, _depth(text.translate(_AS_PARENTHESES, b',"'), limits.max_depth + 1))


def _escapes_quote_or_backslash(text: bytes | bytearray) -> bool:
    r"""Whether a backslash in ``text`` is followed by a backslash or a quote (``measure`` then drops those pairs).

    Real FHIR holds few backslashes, nearly all ``\uXXXX`` escapes: the backslashes are found with ``find`` (a
    ``memchr``) and their next byte looked at, which costs a tenth of the two ``replace`` passes over the whole text
    it spares (measured by ``bench.json_shape``). Past one backslash in 128 bytes this answers ``True`` unchecked:
    the ``replace`` passes are then the cheaper way, and they leave a text without such pairs unchanged.
    """
    at = text.find(b"\\")
    end = len(text) - 1
    most = len(text) >> 7
    looked = 0
    while at != -1:
        if at < end and text[at + 1] in _ESCAPED:
            return True
        looked += 1
        if looked > most:
            return True
        at = text.find(b"\\", at + 2)  # the byte after a backslash is escaped: never a backslash of its own
    return False


def _depth(brackets: bytes | bytearray, most: int) -> int:
    """Rounds that strip the innermost ``()`` pairs until nothing is left (or nothing changes), at most ``most``."""
    depth = 0
    while brackets and depth < most:
        if b"(" * most in brackets:  # so many opened at once: deeper than asked, whatever follows
            return most
        inner = brackets.replace(b"()", b"")
        if len(inner) == len(brackets):
            break  # unbalanced: not JSON, which the parser will say
        brackets = inner
        depth += 1
    return depth
