"""The kinds of value a setting can take, each with what it must be: the words of its error line and of its docs row.

A kind reads a value as it comes from the environment (text) or from a Flask config (text, or what Flask decoded as
JSON: ``CDS_FHIR_MAX_PAGES=10`` arrives as the number 10), and refuses anything else with ``must be <what>, not
<value>`` (secrets are never repeated). ``SettingsError`` turns the refusals into one line per bad setting, naming
the variable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError
from pydantic_settings import NoDecode

SETTING = "setting"
"""Error type of a value a kind refuses: the message says what it must be; the line adds the variable."""
NAMED = "named"
"""Error type of a refusal that names its variables itself (a combination of settings, a guideline setting)."""


class SettingsError(ValueError):
    """A setting has an invalid value, or settings combine unsafely: the service refuses to start.

    The message has one line per problem, each naming the variable and what it must be.
    """


@dataclass(frozen=True)
class Kind:
    """What a setting's value must be (``Annotated`` metadata): its error says so, and docs/configuration.md."""

    must_be: str


def refuse(kind: str, value: Any, *, echo: bool = True) -> PydanticCustomError:
    """Return the error for ``value``: ``must be <kind>, not <value>`` (``echo=False``: without the value)."""
    shown = f", not {value!r}" if echo else ""
    return PydanticCustomError(SETTING, "must be {kind}{shown}", {"kind": kind, "shown": shown})


def named(lines: Iterable[str]) -> PydanticCustomError:
    """Return the error for refusals that name their variables themselves, one line each."""
    return PydanticCustomError(NAMED, "{lines}", {"lines": "\n".join(lines)})


def error_lines(error: ValidationError, variable_at: Callable[[tuple[str | int, ...]], str]) -> Iterator[str]:
    """Yield one line per problem in ``error``; ``variable_at`` names the variable of an error location."""
    for problem in error.errors(include_url=False):
        if problem["type"] == NAMED:
            yield from problem["msg"].splitlines()
        elif problem["type"] == SETTING:
            yield f"{variable_at(problem['loc'])}: {problem['msg']}"
        else:  # pydantic's own words (a kind lets nothing else through; kept readable all the same)
            yield f"{variable_at(problem['loc'])}: {problem['msg']}, not {problem.get('input')!r}"


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- true or false --------------------------------------------------------------------------------------------------

FLAG = "true or false"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _flag(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise refuse(FLAG, value)


Flag = Annotated[bool, BeforeValidator(_flag), Kind(FLAG)]
"""``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``); empty is false."""


# --- numbers --------------------------------------------------------------------------------------------------------

WHOLE = "a positive whole number"
NUMBER = "a positive number"


def _positive_whole(value: Any) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    if number is None or number <= 0:
        raise refuse(WHOLE, value)
    return number


def _positive_number(value: Any) -> float:
    number = math.nan
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise refuse(NUMBER, value)
    return number


PositiveWhole = Annotated[int, BeforeValidator(_positive_whole), Kind(WHOLE)]
PositiveNumber = Annotated[float, BeforeValidator(_positive_number), Kind(NUMBER)]


# --- lists ----------------------------------------------------------------------------------------------------------

WORDS = "a comma-separated list"


def words(value: Any) -> tuple[str, ...]:
    """Read a list: ``a,b`` or a JSON array (``["a", "b"]``), or a list already; empty is none.

    Raises:
        PydanticCustomError: anything else.
    """
    if value is None:
        return ()
    found = value
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("["):
            return tuple(part.strip() for part in text.split(",") if part.strip())
        try:
            found = json.loads(text)
        except ValueError:
            raise refuse(WORDS, value) from None
    if isinstance(found, list | tuple | set | frozenset) and all(isinstance(v, str) for v in found):
        return tuple(v.strip() for v in found if v.strip())
    raise refuse(WORDS, value)


Words = Annotated[tuple[str, ...], NoDecode, BeforeValidator(words), Kind(WORDS)]


# --- URLs -----------------------------------------------------------------------------------------------------------

LINK = "an http(s) URL"
BASE_URL = "an http(s) base URL without query or fragment, e.g. https://cds.example.dk/igrt"
BASE_URLS = "http(s) base URLs without query or fragment, comma-separated"


def _http_url(value: Any, *, base: bool) -> str | None:
    """Return ``value`` as an http(s) URL (a base URL: no query or fragment, no trailing slash), or ``None``."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if base and (parts.query or parts.fragment):
        return None
    return value.strip().rstrip("/") if base else value.strip()


def _link(value: Any) -> str:
    url = _http_url(value, base=False)
    if url is None:
        raise refuse(LINK, value)
    return url


def _base_url(value: Any) -> str | None:
    if _is_empty(value):
        return None
    url = _http_url(value, base=True)
    if url is None:
        raise refuse(BASE_URL, value)
    return url


def _base_urls(value: Any) -> tuple[str, ...]:
    urls = []
    for entry in words(value):
        url = _http_url(entry, base=True)
        if url is None:
            raise refuse(BASE_URLS, entry)
        urls.append(url)
    return tuple(urls)


Link = Annotated[str, BeforeValidator(_link), Kind(LINK)]
BaseUrl = Annotated[str | None, BeforeValidator(_base_url), Kind(BASE_URL)]
BaseUrls = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_base_urls), Kind(BASE_URLS)]


# --- time zone and date ---------------------------------------------------------------------------------------------

ZONE = "an IANA time zone, e.g. Europe/Copenhagen"
DAY = "a date, YYYY-MM-DD"


def _zone(value: Any) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise refuse(ZONE, value)


def _day(value: Any) -> date | None:
    if _is_empty(value):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str | int) and not isinstance(value, bool):  # Flask reads CDS_FIXED_DATE=20261120 as 20261120
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            pass
    raise refuse(DAY, value)


Zone = Annotated[ZoneInfo, BeforeValidator(_zone), Kind(ZONE)]
Day = Annotated[date | None, BeforeValidator(_day), Kind(DAY)]


# --- choices, secrets, JSON, files ----------------------------------------------------------------------------------


def one_of(
    options: Iterable[str], *, fold: Callable[[str], str] = str.lower, unset: bool = False, empty: str | None = None
) -> Any:
    """Return a validator accepting one of ``options`` (compared after ``fold``), or with ``unset`` empty: ``empty``."""
    allowed = tuple(options)

    def check(value: Any) -> str | None:
        if unset and _is_empty(value):
            return empty
        if isinstance(value, str) and fold(value.strip()) in allowed:
            return fold(value.strip())
        raise refuse(choices(allowed), value)

    return BeforeValidator(check)


def choices(options: Iterable[str]) -> str:
    """``a, b or c``."""
    *first, last = options
    return f"{', '.join(first)} or {last}" if first else last


def secret(min_length: int) -> Any:
    """Return a validator for a secret of at least ``min_length`` characters (never repeated in an error)."""

    def check(value: Any) -> str | None:
        if _is_empty(value):
            return None
        text = str(value)  # Flask reads an all-digit secret as a number
        if len(text) < min_length:
            raise refuse(f"at least {min_length} characters", value, echo=False)
        return text

    return BeforeValidator(check)


JSON_OBJECT = "a JSON object"


def _json_object(value: Any) -> dict[str, Any]:
    if _is_empty(value):
        return {}
    found = value
    if isinstance(value, str):
        try:
            found = json.loads(value)
        except ValueError:
            raise refuse(JSON_OBJECT, value, echo=False) from None  # not repeated: long, and the variable says which
    if not isinstance(found, Mapping):
        raise refuse(JSON_OBJECT, value)
    return {str(key): entry for key, entry in found.items()}


def _file(value: Any) -> Path | None:
    if _is_empty(value):
        return None
    if isinstance(value, str | Path):
        return Path(str(value).strip())
    raise refuse("a file path", value)


JsonObject = Annotated[dict[str, Any], NoDecode, BeforeValidator(_json_object), Kind(JSON_OBJECT)]
File = Annotated[Path | None, BeforeValidator(_file), Kind("a file path")]
