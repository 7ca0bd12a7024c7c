"""Errors in one tree (httpx style): every error the service can raise maps to exactly one HTTP status and one
OperationOutcome ``issue.code``, through the one mapping (``cds_service.http.operation_outcome.answer_for``), and
the tree in ``cds_service/wire/errors.py`` is drawn from the classes (``--update-golden`` redraws it)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException

import cds_service.audit.queue  # noqa: F401  (defines AuditQueueFullError, a StorageError)
import cds_service.wire.errors as wire_errors
from cds_service.ehr.fhir_client import FhirAccessError
from cds_service.http.operation_outcome import (
    FHIR_JSON,
    HTTP_ISSUE_CODE_OTHERWISE,
    HTTP_ISSUE_CODES,
    ErrorAnswer,
    answer_for,
)
from cds_service.settings import SettingsError
from cds_service.time_limits import BudgetExceededError
from cds_service.wire.errors import AuthenticationError, CdsServiceError
from fhir_mappers.errors import CodeTableError, MappingError
from guideline.text import msg
from storage import StorageError
from tests.conftest import make_app
from tests.fhir_validity import ISSUE_TYPES, assert_valid

ERRORS_FILE = Path(wire_errors.__file__)
TREE_HEADING = (
    "Error tree (drawn from the classes and ``answer_for`` by ``tests/test_errors.py``; ``--update-golden`` redraws "
    "it):"
)

NOT_ANSWERED: dict[type[BaseException], str] = {
    MappingError: 'a data issue on the card, "Data not used" (fhir_mappers.summarize)',
    FhirAccessError: "the prefetch key is unavailable: 412 if required, else a data issue",
    BudgetExceededError: 'answered 200 {"cards": []}, audited as budget-exceeded',
    SettingsError: "at start-up: the service does not start",
    CodeTableError: "at start-up: the service does not start",
}
"""Errors that never reach HTTP, and what happens instead (so that the tree names them too)."""


def subclasses(cls: type[BaseException]) -> Iterator[type[BaseException]]:
    """``cls`` and every subclass outside the tests, depth first, in definition order."""
    yield cls
    for sub in children(cls):
        yield from subclasses(sub)


def children(cls: type[BaseException]) -> list[type[BaseException]]:
    """The direct subclasses of ``cls`` that the service defines or imports (not those of tests or test tools)."""
    return [sub for sub in cls.__subclasses__() if sub.__module__.split(".")[0] in PRODUCTION]


PRODUCTION = frozenset({"cds_service", "storage", "fhir_mappers", "guideline", "decision", "cohort", "commands"})


def werkzeug_errors(cls: type[HTTPException]) -> Iterator[type[HTTPException]]:
    """werkzeug's HTTP errors (routing 404, 405, 413 ...): ``cls`` and its subclasses in werkzeug."""
    yield cls
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("werkzeug."):
            yield from werkzeug_errors(sub)


def example(cls: type[BaseException], text: str = "an example") -> BaseException:
    """An instance of ``cls`` (each error class's own constructor)."""
    if issubclass(cls, AuthenticationError):
        return cls(text)
    if issubclass(cls, MappingError):
        return cls(msg(text), path="Observation.valueQuantity")
    if issubclass(cls, HTTPException):
        return cls(description=text)
    if issubclass(cls, BudgetExceededError):
        return cls(0.4)
    return cls(text)


ANSWERED = [
    *subclasses(CdsServiceError),
    *subclasses(StorageError),
    *(c for c in werkzeug_errors(HTTPException) if isinstance(c.code, int) and c.code >= 400),
    *(c for root in NOT_ANSWERED for c in subclasses(root)),
    Exception,
]
"""Every error class: the service's, storage's (a subclass lives in ``cds_service.audit.queue``), werkzeug's HTTP
errors (routing 404, 405, 413 ...), those that never reach HTTP (answered 500 if one ever did), and anything else."""


@pytest.mark.parametrize("cls", ANSWERED, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_error_maps_to_exactly_one_status_and_issue_code(cls: type[BaseException]) -> None:
    first, second = answer_for(example(cls, "one text")), answer_for(example(cls, "another text"))
    assert (first.status, first.issue_code, first.code) == (second.status, second.issue_code, second.code)
    assert 400 <= first.status <= 599
    assert first.issue_code in ISSUE_TYPES
    if issubclass(cls, CdsServiceError):
        assert (first.status, first.issue_code, first.code) == (cls.status, cls.issue_code, cls.code)
    if issubclass(cls, StorageError):
        assert (first.status, first.code) == (503, "storage-unavailable")


def test_each_service_error_has_its_own_code() -> None:
    codes = [cls.code for cls in subclasses(CdsServiceError)]
    assert len(codes) == len(set(codes)), codes


def test_every_error_module_class_is_in_the_tree() -> None:
    """A new error in ``cds_service/wire/errors.py`` must subclass ``CdsServiceError`` (so it is mapped)."""
    defined = {c for _, c in inspect.getmembers(wire_errors, inspect.isclass) if c.__module__ == wire_errors.__name__}
    assert defined == set(subclasses(CdsServiceError))


@pytest.fixture(scope="module")
def raising_app() -> tuple[Flask, list[BaseException]]:
    """The real app with one extra route that raises whatever the test puts in the list."""
    app = make_app()
    pending: list[BaseException] = []

    def _raise() -> str:
        raise pending.pop()

    app.add_url_rule("/test-errors/raise", "test_errors_raise", _raise)
    return app, pending


@pytest.mark.parametrize("cls", ANSWERED, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_raised_in_a_route_each_error_is_answered_as_mapped(
    raising_app: tuple[Flask, list[BaseException]], cls: type[BaseException]
) -> None:
    app, pending = raising_app
    error = example(cls)
    expected = answer_for(error)
    pending.append(error)
    response = app.test_client().get("/test-errors/raise")
    assert response.status_code == expected.status
    assert response.content_type == FHIR_JSON
    body = response.get_json()
    assert_valid(body, f"{cls.__name__} answer")
    issue = body["issue"][0]
    assert (issue["code"], issue["details"]["coding"][0]["code"]) == (expected.issue_code, expected.code)
    for name, value in expected.headers.items():
        assert response.headers[name] == value
    if not isinstance(error, CdsServiceError | HTTPException):  # the error's own text never leaves the service
        assert "an example" not in response.get_data(as_text=True)


def test_headers_401_and_503_busy() -> None:
    assert answer_for(AuthenticationError("no token")).headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    assert answer_for(wire_errors.ServiceBusyError("busy")).headers == {"Retry-After": "1"}


def draw_tree() -> str:
    """The error tree, drawn from the classes and ``answer_for``."""
    rows: list[tuple[str, str]] = []

    def name(cls: type[BaseException]) -> str:
        """The class by its shortest public path (``storage.StorageError``); bare in ``wire/errors.py``."""
        if cls.__module__ == wire_errors.__name__:
            return cls.__name__
        parts = cls.__module__.split(".")
        for end in range(1, len(parts) + 1):
            module = importlib.import_module(".".join(parts[:end]))
            if getattr(module, cls.__name__, None) is cls:
                return f"{module.__name__}.{cls.__name__}"
        return f"{cls.__module__}.{cls.__name__}"  # pragma: no cover

    def columns(answer: ErrorAnswer) -> str:
        headers = ", ".join(answer.headers)
        return f"{answer.status}  {answer.issue_code:<11} {answer.code:<22} {headers}".rstrip()

    def branch(cls: type[BaseException], depth: int, describe: bool = True) -> None:
        marker = ("* ", "  x ", "    + ", "      - ")[depth]
        rows.append((marker + name(cls), columns(answer_for(example(cls))) if describe else ""))
        for child in sorted(children(cls), key=lambda c: (answer_for(example(c)).status, name(c))):
            branch(child, depth + 1, describe)

    for root in (CdsServiceError, StorageError):
        branch(root, 0)
    rows.append(("* werkzeug.exceptions.HTTPException", "its  see below   http-<status>          its own (405: Allow)"))
    pairs = [f"{status} {code}," for status, code in sorted(HTTP_ISSUE_CODES.items())]
    pairs.append(f"otherwise {HTTP_ISSUE_CODE_OTHERWISE}")
    line = "   "
    for pair in pairs:  # the issue code of each status, wrapped between pairs
        if len(line) + len(pair) + 1 > 116:
            rows.append((line, ""))
            line = "   "
        line += " " + pair
    rows.append((line, ""))
    rows.append(("* any other Exception", columns(answer_for(Exception()))))
    rows.append(("", ""))
    rows.append(("Never answered (handled before a response is made):", ""))
    for root, what in NOT_ANSWERED.items():
        rows.append((f"* {name(root)}", what))
        for child in sorted(children(root), key=name):
            rows.append((f"  x {name(child)}", ""))
    width = max(len(left) for left, right in rows if right and not left.startswith("Never")) + 2
    lines = []
    for left, right in rows:
        if not right:
            lines.append(left)
            continue
        if len(left) + 2 > width:
            lines.append(left)
            left = ""
        text = f"{left:<{width}}{right}"
        while len(text) > 116:  # wrap long descriptions under their column
            cut = text.rfind(" ", 0, 116)
            lines.append(text[:cut].rstrip())
            text = " " * width + text[cut + 1 :]
        lines.append(text.rstrip())
    return "\n".join(lines) + "\n"


def test_the_docstring_tree_is_drawn_from_the_classes(update_golden: bool) -> None:
    text = ERRORS_FILE.read_text(encoding="utf-8")
    head, heading, rest = text.partition(TREE_HEADING + "\n\n")
    assert heading, f"{ERRORS_FILE}: the docstring lost its line {TREE_HEADING!r}"
    drawn, quotes, tail = rest.partition('"""')
    tree = draw_tree()
    if update_golden and drawn != tree:
        ERRORS_FILE.write_text(head + heading + tree + quotes + tail, encoding="utf-8")
        drawn = tree
    assert drawn == tree, (
        "the error tree in cds_service/wire/errors.py is stale: pytest tests/test_errors.py --update-golden"
    )
