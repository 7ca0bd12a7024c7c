"""Every number and command the documentation quotes is one the code produces (issue 28 §3).

``tests/test_docs.py`` does this for the settings reference; this file for the rest of README and ``docs/``:

* **Generated regions** (``scripts/update_docs.py``): the demo's patient-view table (``docs/integrating.md``), the
  latest benchmark figures (``docs/benchmark.md``) and the worklist's speed table (``docs/cohort.md``) are what the
  script writes now from ``fixtures/golden`` and ``bench/results``.
* **Commands**: every shell command in a fenced ``sh`` block or an inline code span of README and ``docs/`` that runs
  ``cds-service`` is parsed by the real ``cds-service`` argument parser (subcommand, options, choices, dates);
  ``make`` names existing targets; a repo script or ``python -m`` module exists and knows the options given; every
  repo path in backticks exists. ``cds-service --help`` and each subcommand's help are plain text; ``evaluate
  --format text`` prints no Markdown on any golden request.
* **Numbers in prose**: each quoted default, limit, count and date below is checked against the value in the code,
  the deployment files or the test that measures it; a failure names the page, the line and the code's value.
* **Worked examples**: the ``cds-service validate`` output in ``docs/integrating.md`` and the ``cds-service cohort``
  line in ``docs/cohort.md`` are produced again by running those commands as described.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import importlib.util
import inspect
import io
import json
import os
import re
import runpy
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
import yaml

from cds_service.audit.queue import DecisionWriter
from cds_service.auth.client_jwt import KeySetCache
from cds_service.http.hooks import FEEDBACK_BODY_SECONDS
from cds_service.settings import VARIABLES, AuditSettings, Settings
from cds_service.wire.definitions import SERVICES, USAGE_REQUIREMENTS, find
from cds_service.wire.feedback import FeedbackRequest
from commands import cli
from commands.upload import DEFAULT_FIXTURES, case_as_of, fixture_transaction
from guideline.calendar import SUMMER_END_MONTH_DAY, SUMMER_START_MONTH_DAY
from guideline.parameters import DEFAULT_PARAMETERS
from tests.cases import AS_OF, CASES, case_dir

FIXTURE_DAY = date.fromisoformat(AS_OF)

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MiB = 2**20
SETTINGS = Settings.from_config({"AUTH": "off"})
"""The defaults (authentication off only so that they validate without issuers)."""


def text_of(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


def line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def quoted(page: str, pattern: str) -> list[tuple[int, re.Match[str]]]:
    """Every place ``pattern`` matches ``page`` (whitespace in the pattern also matches a line break)."""
    text = text_of(page)
    found = [(line_of(text, m.start()), m) for m in re.finditer(pattern.replace(" ", r"\s+"), text)]
    assert found, f"{page}: no text matches {pattern!r}; reworded? then update this test with the new wording"
    return found


def value(text: str) -> Any:
    """A quoted number as a number ("10,000" -> 10000.0), anything else as it is."""
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return text


def source_default(path: str, pattern: str) -> str:
    """A literal from a file the documentation describes (a test's constant, a template's directive)."""
    match = re.search(pattern, text_of(path), flags=re.MULTILINE)
    assert match, f"{path}: {pattern!r} not found (renamed? update this test)"
    return match.group(1)


def load(path: str, name: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def update_docs() -> ModuleType:
    return load("scripts/update_docs.py", "update_docs_for_facts")


@cache
def gunicorn(cores: int = 2) -> dict[str, Any]:
    """The gunicorn configuration as it reads an environment without overrides, on a machine with ``cores`` CPUs."""
    overrides = ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_WORKER_CONNECTIONS")
    clean = {k: v for k, v in os.environ.items() if k not in overrides}
    clean.setdefault("PROMETHEUS_MULTIPROC_DIR", str(ROOT / "var"))  # the module would create a directory
    with mock.patch.dict(os.environ, clean, clear=True), mock.patch("os.cpu_count", return_value=cores):
        return runpy.run_path(str(ROOT / "cds_service" / "http" / "gunicorn_conf.py"))


@cache
def makefile_variables() -> dict[str, str]:
    return dict(re.findall(r"^(\w+) \?= (.*)$", text_of("Makefile"), flags=re.MULTILINE))


@cache
def make_targets() -> frozenset[str]:
    return frozenset(re.findall(r"^([\w.-]+):(?!=)", text_of("Makefile"), flags=re.MULTILINE))


def deployment_container(name: str) -> dict[str, Any]:
    deployment = yaml.safe_load(text_of("deploy/k8s/deployment.yaml"))
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return dict(next(c for c in containers if c["name"] == name))


def dockerfile_env(name: str) -> str:
    return source_default("deploy/Dockerfile", rf"\b{name}=(\S+)")


def lock_packages(path: str) -> int:
    return len(re.findall(r"^[A-Za-z0-9][\w.-]*==", text_of(path), flags=re.MULTILINE))


def day_month(day: date) -> str:
    return f"{day.day} {day:%B}"


def golden_answers() -> Iterator[tuple[Path, dict[str, Any]]]:
    for expected in sorted(DEFAULT_FIXTURES.glob("*/*/expected.json")):
        yield expected.parent, json.loads(expected.read_text(encoding="utf-8"))


# --- Generated regions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [page for page, _ in update_docs().PAGES if page.name != "configuration.md"],  # that one: tests/test_docs.py
    ids=lambda page: page.name,
)
def test_the_generated_regions_are_what_the_script_writes_now(page: Path) -> None:
    module = update_docs()
    regions = dict(module.PAGES)[page]
    text = page.read_text(encoding="utf-8")
    assert module.generated(text, regions, page.name) == text, (
        f"{page.relative_to(ROOT)} is stale: run .venv/bin/python scripts/update_docs.py {page.relative_to(ROOT)}"
    )


def test_the_demo_table_names_every_patient_view_patient_once() -> None:
    table = update_docs().demo_patients()
    patients = {
        json.loads((case / "request.json").read_text(encoding="utf-8"))["context"]["patientId"]
        for case in (DEFAULT_FIXTURES / "sid-igrt-patient-view").iterdir()
    }
    named = re.findall(r"`(sid-[\w-]+)`", table)
    assert sorted(named) == sorted(patients)


def test_the_one_call_generator_prints_the_readme_fixture_as_text() -> None:
    """Not wired to the README yet (the card text is being reworked); the generator itself must work."""
    block = update_docs().one_call()
    assert block.startswith("```text\n") and block.endswith("```\n")
    assert len(block.splitlines()) > 5 and "*" not in block


# --- Commands -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A shell command quoted in the documentation."""

    page: str
    line: int
    text: str
    inline: bool
    """An inline code span: it may name a command without its required arguments (`cds-service cohort`)."""

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.text}"


PROGRAMS = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S+ )*(?:make|\S*cds-service|\S*python3?|pytest|scripts/\S+)(?: |$)")
"""An inline code span that is a command: (variables, then) make, cds-service, python, pytest or a repo script."""


def documented_commands() -> list[Command]:
    commands = []
    for path in PAGES:
        page, text = str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
        prose = text
        for block in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
            prose = prose.replace(block.group(0), "\n" * block.group(0).count("\n"))
            if block.group(1) not in {"sh", "bash", "shell"}:
                continue
            first = line_of(text, block.start(2))
            logical, start = "", first
            for offset, raw in enumerate(block.group(2).splitlines()):
                if not logical:
                    start = first + offset
                logical += raw.rstrip().removesuffix("\\") + " "
                if not raw.rstrip().endswith("\\"):
                    command, _, comment = logical.strip().partition("# or: ")  # make bench  # or: python -m bench
                    for part in (command, comment):
                        if part.strip() and not part.startswith("#"):
                            commands.append(Command(page, start, part.strip(), inline=False))
                    logical = ""
        for span in re.finditer(r"`([^`\n]+(?:\n[^`\n]+)?)`", prose):
            words = " ".join(span.group(1).split())
            if PROGRAMS.match(words):
                commands.append(Command(page, line_of(prose, span.start()), words, inline=True))
    return commands


PLACEHOLDERS = [
    (re.compile(r"\$\(date \+%F\)"), date.today().isoformat()),
    (re.compile(r"\$\((?:[^()]|\([^()]*\))*\)"), "X"),  # $(date +%F), $(python3 -c '...')
    (re.compile(r"<[^>]+>"), "http://127.0.0.1:8081/fhir"),  # <FHIR base>
    (re.compile(r"\[(--[^\]]*)\]"), r"\1"),  # [--workers N]: an optional part, checked as given
    (re.compile(r"(?<!\S)(?:…|\.\.\.)(?!\S)"), "request.json"),  # cds-service evaluate … --format text
    (re.compile(r"(?<!\S)N(?!\S)"), "2"),
    (re.compile(r"(?<!\S)URL(?!\S)"), "sqlite:///var/x.sqlite3"),
]


def shell_words(text: str) -> list[list[str]]:
    """The simple commands of a line: placeholders filled in, comments dropped, split at ``&&``, ``;`` and ``|``."""
    for pattern, replacement in PLACEHOLDERS:
        text = pattern.sub(replacement, text)
    words = shlex.split(text, comments=True)
    commands: list[list[str]] = [[]]
    for word in words:
        if word in {"&&", "||", ";", "|"}:
            commands.append([])
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


class _Parsed(Exception):
    def __init__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace) -> None:
        super().__init__("parsed")
        self.parser, self.namespace = parser, namespace


def cds_service_parse(argv: list[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Parse ``argv`` with the parser ``cds-service`` builds, without running the command.

    Raises:
        SystemExit: the parser refused ``argv`` (its message is on stderr).
    """
    parse_args = argparse.ArgumentParser.parse_args

    def parse_only(self: argparse.ArgumentParser, args: Any = None, namespace: Any = None) -> Any:
        raise _Parsed(self, parse_args(self, args, namespace))

    with mock.patch.object(argparse.ArgumentParser, "parse_args", parse_only):
        try:
            cli.main(argv)
        except _Parsed as parsed:
            return parsed.parser, parsed.namespace
    raise AssertionError("cds-service did not parse its arguments with argparse")


def cds_service_problems(argv: list[str]) -> list[str]:
    refusal = io.StringIO()
    try:
        with contextlib.redirect_stderr(refusal), contextlib.redirect_stdout(io.StringIO()):
            cds_service_parse(argv)
    except SystemExit:
        return [f"cds-service refuses {shlex.join(argv)!r}: {refusal.getvalue().strip().splitlines()[-1]}"]
    return []


@cache
def options_known_by(path: Path) -> frozenset[str]:
    """The long options a script or module knows: every ``"--name"`` string in its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"--[a-z][\w-]*", node.value)
    )


@cache
def pytest_options() -> frozenset[str]:
    shown = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    ).stdout
    return frozenset(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", shown))


def option_problems(args: list[str], known: frozenset[str], where: str) -> list[str]:
    return [
        f"{where} has no option {arg.split('=')[0]}"
        for arg in args
        if arg.startswith("--") and arg.split("=")[0] not in known
    ]


def path_problems(args: list[str]) -> list[str]:
    return [f"{arg} does not exist" for arg in args if "/" in arg and not (ROOT / arg.split("::")[0]).exists()]


def command_problems(words: list[str]) -> list[str]:
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        words = words[1:]
    if not words:
        return []
    program, args = words[0], words[1:]
    if program.endswith("cds-service"):
        return cds_service_problems(args)
    if program == "make":
        return [
            f"the Makefile has no target {arg}"
            for arg in args
            if arg[0] != "-" and "=" not in arg and arg not in make_targets()
        ]
    if program == "pytest" or (program.endswith(("python", "python3")) and args[:2] == ["-m", "pytest"]):
        rest = args[2:] if program != "pytest" else args
        return option_problems(rest, pytest_options(), "pytest") + path_problems([a for a in rest if a[0] != "-"])
    if program.endswith(("python", "python3")):
        if args[:1] == ["-c"]:
            return []
        if args[:1] == ["-m"]:
            module = ROOT / args[1].replace(".", "/")
            path = module / "__main__.py" if module.is_dir() else module.with_suffix(".py")
            if not path.exists():
                in_python = importlib.util.find_spec(args[1]) is not None and args[1].split(".")[0] in STANDARD
                return [] if in_python else [f"python -m {args[1]}: no such module"]
            return option_problems(args[2:], options_known_by(path), f"python -m {args[1]}")
        program, args = args[0], args[1:]
    if program == "spark-submit":
        script = next((i for i, arg in enumerate(args) if arg.endswith("commands/cli.py")), None)
        assert script is not None, "spark-submit of something other than commands/cli.py"
        return path_problems([args[script]]) + cds_service_problems(args[script + 1 :])
    if program.startswith("scripts/") or program.endswith(".py"):
        path = ROOT / program
        if not path.exists():
            return [f"{program} does not exist"]
        if path.suffix == ".sh":
            return command_problems(args)  # a wrapper: scripts/with-test-postgres.sh make test
        return option_problems(args, options_known_by(path), program)
    # Other tools (curl, zip, kubectl, sqlite3): only the repository files they are given.
    return path_problems([arg.removeprefix("@") for arg in args if arg.startswith(("@fixtures/", "fixtures/"))])


COMMANDS = documented_commands()
STANDARD = sys.stdlib_module_names


def test_the_documentation_quotes_the_commands_a_newcomer_runs() -> None:
    """The extraction itself: the README's three make targets and the cohort commands are among those checked."""
    texts = {command.text for command in COMMANDS}
    assert {"make serve", "make test", "make demo"} <= {t.split("#")[0].strip() for t in texts}
    assert any(t.startswith(".venv/bin/cds-service cohort var/cohort") for t in texts)
    assert len(COMMANDS) >= 40, len(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_every_documented_command_names_what_exists(command: Command) -> None:
    problems = [problem for words in shell_words(command.text) for problem in command_problems(words)]
    if command.inline:  # a name in prose, such as `cds-service cohort`
        problems = [problem for problem in problems if "the following arguments are required" not in problem]
    assert not problems, f"{command}: " + "; ".join(problems)


def test_a_wrong_subcommand_option_or_date_is_caught() -> None:
    """The check can fail: the parser refuses what the documentation must not say."""
    assert cds_service_problems(["cohort", "in", "--out", "x", "--as-of", "20-11-2026"])
    assert cds_service_problems(["evaluate", "request.json", "--format", "html"])
    assert cds_service_problems(["synth-cohort", "10000"])
    assert cds_service_problems(["report"])
    assert command_problems(["make", "sever"]) and command_problems(["scripts/nothing.py"])
    assert command_problems([".venv/bin/python", "-m", "bench", "--durations", "8"])


WRITTEN_BY_THE_READER = {"deploy/issuers.json": "the site's trusted issuers, mounted by compose.yaml"}
HOOKS = ("order-select", "order-sign", "patient-view")
SUFFIXES = re.compile(r"\.(?:py|md|ya?ml|json|sh|csv|lock|in|toml|template|po|txt|png|lua)$")


def repository_path(target: str) -> bool:
    """Whether a backticked ``a/b`` means a file or directory of this repository (not `Europe/Copenhagen`)."""
    first = target.split("/")[0]
    where = {entry.name for entry in (*ROOT.iterdir(), *(ROOT / "deploy").iterdir())}
    return first in where or first in HOOKS or bool(SUFFIXES.search(target))


def test_every_repository_path_in_backticks_exists() -> None:
    missing = []
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        for span in re.finditer(r"`((?:[\w.-]+/)+[\w.-]*)`", text):
            target = span.group(1)
            if target.startswith(("var/", "../", "/")) or target in WRITTEN_BY_THE_READER:
                continue  # written at run time or by the reader, or outside the repository
            if not repository_path(target):
                continue
            bases = (ROOT, path.parent, ROOT / "deploy")
            if (
                not any((base / target).exists() for base in bases)
                and not (DEFAULT_FIXTURES / f"sid-igrt-{target}").is_dir()
            ):
                missing.append(f"{path.relative_to(ROOT)}:{line_of(text, span.start())}: {target}")
    assert not missing, "\n".join(missing)


def test_the_service_ids_in_urls_exist() -> None:
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"/cds-services/([\w-]+)", text):
            assert find(match.group(1)), f"{path.name}:{line_of(text, match.start())}: no service {match.group(1)}"


def subcommand_helps() -> dict[str, str]:
    parser, _ = cds_service_parse(["db", "upgrade"])
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"cds-service": parser.format_help()} | {
        f"cds-service {name}": sub.format_help() for name, sub in subparsers.choices.items()
    }


def test_help_has_no_rest_literals() -> None:
    for command, shown in subcommand_helps().items():
        assert "``" not in shown, f"{command} --help shows reST literals: {shown}"


def test_help_has_no_markdown_backticks() -> None:
    for command, shown in subcommand_helps().items():
        assert "`" not in shown, f"{command} --help shows backticks"


def test_text_cards_have_no_markdown_on_any_golden_request() -> None:
    """``evaluate --format text``, English and Danish, of every golden request the service answers."""
    checked = 0
    for case, expected in golden_answers():
        if expected["status"] != 200:
            continue
        for language in ("en", "da"):
            shown = io.StringIO()
            with contextlib.redirect_stdout(shown):
                argv = ["evaluate", str(case / "request.json"), "--as-of", case_as_of(case).isoformat()]
                assert cli.main([*argv, "--format", "text", "--language", language]) == 0
            marks = [line for line in shown.getvalue().splitlines() if re.search(r"\*|`|\\\S|&lt;|&amp;", line)]
            assert not marks, f"{case.name} ({language}): {marks}"
            checked += 1
    assert checked >= 100


# --- Numbers in prose -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """Wording on a page whose groups must equal what the code says."""

    page: str
    pattern: str
    code: Callable[[], tuple[Any, ...]]

    def __str__(self) -> str:
        return f"{self.page}: {self.pattern[:60]}"


def summer(month_day: tuple[int, int]) -> str:
    return day_month(date(2026, *month_day))


def conf(name: str) -> Any:
    return gunicorn()[name]


def nginx(directive: str) -> str:
    return source_default("deploy/nginx/cds.conf.template", rf"^\s*{directive} (\w+);")


def summer_pause_date() -> date:
    return case_as_of(DEFAULT_FIXTURES / "sid-igrt-patient-view" / "standard-on-igrt-summer-pause")


def demo_port(variable: str) -> int:
    return int(source_default("scripts/demo.py", rf'os\.environ\.get\("{variable}", "(\d+)"\)'))


def sandbox_cases() -> int:
    """The cases ``tests/test_sandbox.py`` opens: golden answers with cards, on the service's one date."""
    count = 0
    for case in CASES:
        expected = json.loads((case_dir(case) / "expected.json").read_text(encoding="utf-8"))
        count += bool(expected["status"] == 200 and expected["body"].get("cards") and case.as_of == AS_OF)
    return count


def fixture_counts() -> tuple[int, int]:
    bundle, patients = fixture_transaction(DEFAULT_FIXTURES)
    return len(patients), len(bundle["entry"])


def demo_summer_day() -> str:
    """The second day ``tests/test_demo.py`` runs the demo on (the first is today)."""
    day = date.fromisoformat(
        source_default("tests/test_demo.py", r'date\.today\(\)\.isoformat\(\), "(\d{4}-\d\d-\d\d)"')
    )
    return f"{day.day} {day:%B %Y}"


NUMBER_WORDS = {2: "two", 3: "three", 4: "four"}
E = SETTINGS.ehr
CLAIMS = [
    # README
    Claim(
        "README.md",
        r"starts gunicorn on ([\d.]+):(\d+)",
        lambda: (makefile_variables()["HOST"], float(makefile_variables()["PORT"])),
    ),
    Claim("README.md", r"`make serve` \(`PORT`, (\d+)\)", lambda: (float(makefile_variables()["PORT"]),)),
    Claim("README.md", r"`FHIR_PORT` \((\d+)\)", lambda: (demo_port("FHIR_PORT"),)),
    Claim(
        "README.md",
        r"audit in `(var/[\w.-]+)`",
        lambda: (str(AuditSettings.model_fields["database_url"].default).removeprefix("sqlite:///"),),
    ),
    # docs/integrating.md
    Claim("docs/integrating.md", r"discovery: (\w+) services, one per hook", lambda: (NUMBER_WORDS[len(SERVICES)],)),
    Claim(
        "docs/integrating.md",
        r"1-(\d+) items about cards",
        lambda: (FeedbackRequest.model_json_schema()["properties"]["feedback"]["maxItems"],),
    ),
    Claim(
        "docs/integrating.md",
        r"latency budget \((\d+) ms for the service's own work",
        lambda: (SETTINGS.latency_budget_ms,),
    ),
    Claim(
        "docs/integrating.md",
        r"connect timeout (\d+) s, read timeout (\d+) s of silence",
        lambda: (E.connect_timeout, E.read_timeout),
    ),
    Claim("docs/integrating.md", r"run (\d+) at a time", lambda: (E.max_concurrency,)),
    Claim(
        "docs/integrating.md",
        r"at most ([\d.]+) \+ (\d+) s, and with full prefetch still ([\d.]+) s",
        lambda: (SETTINGS.latency_budget_ms / 1000, E.budget, SETTINGS.latency_budget_ms / 1000),
    ),
    Claim("docs/integrating.md", r"capped by the (\d+) s fetch budget", lambda: (E.budget,)),
    Claim(
        "docs/integrating.md",
        r"refetched for an unknown `kid` at most once a (minute)",
        lambda: ({60.0: "minute"}.get(inspect.signature(KeySetCache).parameters["min_refresh"].default),),
    ),
    Claim(
        "docs/integrating.md",
        r"waits at most ([\d.]+) s, so a JWKS URL",
        lambda: (inspect.signature(KeySetCache).parameters["max_wait"].default,),
    ),
    Claim("docs/integrating.md", r"\((\d+) patients, (\d+) resources\)", fixture_counts),
    Claim("docs/integrating.md", r"`http://127\.0\.0\.1:(\d+)/fhir`, `FHIR_PORT`", lambda: (demo_port("FHIR_PORT"),)),
    Claim("docs/integrating.md", r"`http://127\.0\.0\.1:(\d+)` \(`PORT`\)", lambda: (demo_port("PORT"),)),
    Claim(
        "docs/integrating.md",
        r"day \((\d+ \w+); the summer-pause case: (\d+ \w+)\)",
        lambda: (day_month(FIXTURE_DAY), day_month(summer_pause_date())),
    ),
    Claim("docs/integrating.md", r"today and on (\d+ \w+ \d{4}): every promised card", lambda: (demo_summer_day(),)),
    Claim(
        "docs/integrating.md",
        r"replays every golden case \(but the (\d+) case",
        lambda: tuple({float(a["status"]) for _, a in golden_answers() if a["status"] != 200}),
    ),
    Claim(
        "docs/integrating.md",
        r"keeps its fixture dates: then start the service with `CDS_FIXED_DATE=([\d-]+)`",
        lambda: (AS_OF,),
    ),
    # docs/operations.md
    Claim("docs/operations.md", r"\(feedback: (\d+) s\)", lambda: (FEEDBACK_BODY_SECONDS,)),
    Claim(
        "docs/operations.md",
        r"`gthread` workers, one per core \(`WEB_CONCURRENCY`, at least (\d+)\) with (\d+) threads",
        lambda: (gunicorn(cores=1)["workers"], conf("threads")),
    ),
    Claim("docs/operations.md", r"`timeout` (\d+) s", lambda: (conf("timeout"),)),
    Claim("docs/operations.md", r"`graceful_timeout` (\d+) s", lambda: (conf("graceful_timeout"),)),
    Claim("docs/operations.md", r"`keepalive` (\d+) s", lambda: (conf("keepalive"),)),
    Claim(
        "docs/operations.md",
        r"`max_requests` ([\d,]+) with ([\d,]+) jitter",
        lambda: (conf("max_requests"), conf("max_requests_jitter")),
    ),
    Claim(
        "docs/operations.md",
        r"`worker_connections` = threads \+ (\d+)",
        lambda: (conf("worker_connections") - conf("threads"),),
    ),
    Claim(
        "docs/operations.md", r"first-generation threshold from \d+ to ([\d,]+)", lambda: (conf("GC_THRESHOLDS")[0],)
    ),
    Claim(
        "docs/operations.md",
        r"headers within (\d+) s, each body read within (\d+) s of the last, bodies buffered up to (\d+) MiB",
        lambda: (
            float(nginx("client_header_timeout").removesuffix("s")),
            float(nginx("client_body_timeout").removesuffix("s")),
            float(nginx("client_max_body_size").removesuffix("m")),
        ),
    ),
    Claim(
        "docs/operations.md",
        r"binds the pod's loopback \(`([\d.]+:\d+)`\)",
        lambda: (":".join(re.findall(r'"--(?:host|port)", "([^"]+)"', text_of("deploy/Dockerfile"))),),
    ),
    Claim(
        "docs/operations.md",
        r"ports (\d+) for the API and probes, (\d+) for `/metrics` only",
        lambda: tuple(
            float(next(e["value"] for e in deployment_container("proxy")["env"] if e["name"] == name))
            for name in ("CDS_PROXY_PORT", "CDS_METRICS_PORT")
        ),
    ),
    Claim(
        "docs/operations.md",
        r"memory limit \((\d+) Mi\)",
        lambda: (float(deployment_container("cds")["resources"]["limits"]["memory"].removesuffix("Mi")),),
    ),
    Claim(
        "docs/operations.md",
        r"the image's (\d+) workers \(`WEB_CONCURRENCY=(\d+)`",
        lambda: (float(dockerfile_env("WEB_CONCURRENCY")),) * 2,
    ),
    Claim(
        "docs/operations.md",
        r"up to (\d+) x (\d+) MiB of bodies read per worker",
        lambda: (float(dockerfile_env("GUNICORN_THREADS")), SETTINGS.max_content_length / MiB),
    ),
    Claim(
        "docs/operations.md",
        r"scales on (\d+) % CPU, (\d+)-(\d+) replicas",
        lambda: (
            (hpa := yaml.safe_load(text_of("deploy/k8s/hpa.yaml"))["spec"])["metrics"][0]["resource"]["target"][
                "averageUtilization"
            ],
            hpa["minReplicas"],
            hpa["maxReplicas"],
        ),
    ),
    Claim("docs/operations.md", r"against the (\d+) ms budget", lambda: (SETTINGS.latency_budget_ms,)),
    Claim(
        "docs/operations.md",
        r"`/metrics` is published on ([\d.]+:\d+) only",
        lambda: (source_default("compose.yaml", r'"(127\.0\.0\.1:\d+):\d+"\s+# /metrics'),),
    ),
    Claim(
        "docs/operations.md", r"`make serve` binds ([\d.]+) for local trials", lambda: (makefile_variables()["HOST"],)
    ),
    # docs/reliability.md
    Claim(
        "docs/reliability.md",
        r"(\d+) examples per operation \(`CDS_FUZZ_EXAMPLES`\)",
        lambda: (float(source_default("tests/test_fuzz.py", r'"CDS_FUZZ_EXAMPLES", "(\d+)"')),),
    ),
    Claim(
        "docs/reliability.md",
        r"\(Hypothesis; (\d+) examples each, (\d+) in CI\)",
        lambda: tuple(
            float(source_default("tests/conftest.py", rf'register_profile\("{name}", max_examples=(\d+)'))
            for name in ("dev", "ci")
        ),
    ),
    Claim(
        "docs/reliability.md",
        r"\(`tests/test_load\.py`, (\d+) s in CI, `CDS_LOAD_SECONDS`\): wrk, (\d+) connections each pausing (\d+) ms",
        lambda: tuple(
            float(source_default("tests/test_load.py", pattern))
            for pattern in (r'"CDS_LOAD_SECONDS", "(\d+)"', r"^CONNECTIONS = (\d+)", r"^DELAY_MS = (\d+)")
        ),
    ),
    Claim(
        "docs/reliability.md",
        r"at most (\d+) MB RSS growth",
        lambda: (float(source_default("tests/test_load.py", r"^MAX_GROWTH_MB = ([\d.]+)")),),
    ),
    Claim(
        "docs/reliability.md",
        r"the (\d+)-minute load test",
        lambda: (float(source_default("tests/test_load.py", r'"CDS_LOAD_SECONDS", "(\d+)"')) / 60,),
    ),
    Claim(
        "docs/reliability.md",
        r"production budgets (\d+) ms / FHIR (\d+) ms",
        lambda: tuple(
            float(source_default("tests/test_faults.py", rf"^{name} = ([\d.]+)")) * 1000
            for name in ("LATENCY_BUDGET", "FHIR_BUDGET")
        ),
    ),
    Claim(
        "docs/reliability.md",
        r"the queue reaches ([\d,]+) rows",
        lambda: (inspect.signature(DecisionWriter).parameters["capacity"].default,),
    ),
    Claim(
        "docs/reliability.md",
        r"\(([\d.]+) s doubling to (\d+) s\)",
        lambda: tuple(
            inspect.signature(DecisionWriter).parameters[name].default for name in ("initial_backoff", "max_backoff")
        ),
    ),
    Claim(
        "docs/reliability.md",
        r"Every golden case with cards \((\d+), as of (\d{4}-\d\d-\d\d);",
        lambda: (sandbox_cases(), AS_OF),
    ),
    Claim(
        "docs/reliability.md",
        r"at most (\d+) pixels tall",
        lambda: (float(source_default("tests/test_sandbox.py", r"^MAX_CARD_HEIGHT = (\d+)")),),
    ),
    Claim(
        "docs/reliability.md",
        r"inside the (\d+)x(\d+) window",
        lambda: tuple(
            float(n) for n in re.findall(r"\d+", source_default("tests/test_sandbox.py", r"^VIEWPORT = (\{.*\})"))
        ),
    ),
    Claim(
        "docs/reliability.md",
        r"IgG exactly (\d\.\d) and (\d\.\d)",
        lambda: (DEFAULT_PARAMETERS.igg_start_below_g_per_l, DEFAULT_PARAMETERS.igg_consider_below_g_per_l),
    ),
    Claim(
        "docs/reliability.md",
        r"T0 \+ (\d+) calendar months from",
        lambda: (DEFAULT_PARAMETERS.window_calendar_months,),
    ),
    Claim(
        "docs/reliability.md",
        r"(\d+)-day recency; (\d+)-day confirmation; (\d+)-day IgRT gap",
        lambda: (
            DEFAULT_PARAMETERS.igg_recent_max_age_days,
            DEFAULT_PARAMETERS.igg_confirm_min_gap_days,
            DEFAULT_PARAMETERS.on_igrt_recent_days,
        ),
    ),
    Claim(
        "docs/reliability.md",
        r"summer (\d+ \w+)/(\d+ \w+)\)",
        lambda: (summer(SUMMER_START_MONTH_DAY), summer(SUMMER_END_MONTH_DAY)),
    ),
    # docs/benchmark.md
    Claim(
        "docs/benchmark.md",
        r"(\d+) workers, `--workers`, x (\d+) threads",
        lambda: (float(source_default("bench/__main__.py", r'"--workers", type=int, default=(\d+)')), conf("threads")),
    ),
    Claim(
        "docs/benchmark.md",
        r"a (\d+) s latency budget so that no call is cut short",
        lambda: (float(source_default("bench/__main__.py", r'"CDS_LATENCY_BUDGET_MS": "(\d+)"')) / 1000,),
    ),
    Claim(
        "docs/benchmark.md",
        r"The (\w+) synthetic patients \(`bench/payloads\.py`\)",
        lambda: (NUMBER_WORDS[len(json.loads(text_of("bench/results/latest.json"))["payloads"])],),
    ),
    Claim(
        "docs/benchmark.md",
        r"after a (\d+) s warm-up",
        lambda: (float(source_default("bench/__main__.py", r"seconds=(\d+)\)\s+# warm-up")),),
    ),
    # Makefile
    Claim(
        "Makefile", r"requirements\.lock \(hash-checked, (\d+) packages", lambda: (lock_packages("requirements.lock"),)
    ),
    Claim(
        "Makefile",
        r"requirements-test\.lock \(hash-checked, (\d+) packages",
        lambda: (lock_packages("requirements-test.lock"),),
    ),
]


def comparable(thing: Any) -> Any:
    return float(thing) if isinstance(thing, int | float) and not isinstance(thing, bool) else thing


@pytest.mark.parametrize("claim", CLAIMS, ids=str)
def test_every_number_the_documentation_quotes_is_the_code_s(claim: Claim) -> None:
    code = tuple(comparable(part) for part in claim.code())
    for line, match in quoted(claim.page, claim.pattern):
        says = tuple(value(group) for group in match.groups())
        assert says == code, f"{claim.page}:{line}: says {' '.join(match.group(0).split())!r}; the code: {code}"


def test_a_quoted_setting_default_is_the_setting_s() -> None:
    """Any "`CDS_X` (default N unit" or "`CDS_X`, default N unit" on any page."""
    units = {"ms": 1, "s": 1, "MiB": MiB, "KiB": 1024, "bytes": 1}
    defaults = {variable.name: variable.field.default for variable in VARIABLES}
    checked = 0
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        pattern = r"`(CDS_[A-Z_]+)`(?:,| \()\s*(?:default\s+)?(\d[\d.,]*)\s*(ms|s|MiB|KiB|bytes)\b"
        for match in re.finditer(pattern, text):
            name, number, unit = match.groups()
            said = value(number) * units[unit]
            assert said == defaults[name], (
                f"{path.name}:{line_of(text, match.start())}: {match.group(0)!r}, code {defaults[name]}"
            )
            checked += 1
    assert checked >= 5


def test_the_optional_prefetch_keys_in_the_docs_and_in_discovery_are_the_default() -> None:
    default = SETTINGS.optional_prefetch
    [(line, match)] = quoted("docs/integrating.md", r"optional \(by default ([^;]+); `CDS_OPTIONAL_PREFETCH`\)")
    assert set(re.findall(r"`(\w+)`", match.group(1))) == default, f"docs/integrating.md:{line}"
    discovery = re.search(r"all keys except ([\w, ]+) are required", USAGE_REQUIREMENTS)
    assert discovery and set(re.split(r", | and ", discovery.group(1))) == default, USAGE_REQUIREMENTS
    assert f"in the {SETTINGS.tz.key} time zone by default" in USAGE_REQUIREMENTS


def test_the_configuration_page_gives_the_workers_default_of_gunicorn() -> None:
    [(line, row)] = quoted("docs/configuration.md", r"\| `HOST`, `PORT`, `WEB_CONCURRENCY`[^\n]*")
    assert "WORKERS" not in row.group(0), f"docs/configuration.md:{line}: WORKERS is read by nothing since 04a5dbe"
    assert "per core" in row.group(0), f"docs/configuration.md:{line}: gunicorn starts one worker per core"


def test_one_worker_per_core_at_least_two_and_serve_leaves_it_to_gunicorn() -> None:
    assert gunicorn(cores=6)["workers"] == 6 and gunicorn(cores=1)["workers"] == 2
    _, serve = cds_service_parse(["serve"])
    assert serve.workers is None, "cds-service serve must not pass --workers unless asked"


def test_the_pod_memory_limit_is_above_the_measured_peaks() -> None:
    """docs/operations.md sizes the limit from tests/test_call_memory.py's peaks (which read the limit themselves)."""
    [(line, match)] = quoted(
        "docs/operations.md",
        r"memory limit \((\d+) Mi\)[\s\S]*?at most \*\*(\d+) MiB\*\*, of which (\d+) MiB is the\s+idle instance "
        r"\(master (\d+), workers (\d+) each[\s\S]*?peaked at (\d+) MiB; (\d+) Mi is above both",
    )
    limit, admitted, idle, master, worker, unfixed, again = (int(group) for group in match.groups())
    configured = float(deployment_container("cds")["resources"]["limits"]["memory"].removesuffix("Mi"))
    assert limit == again == configured, f"docs/operations.md:{line}"
    assert idle == master + 2 * worker, f"docs/operations.md:{line}: the idle instance does not add up"
    assert idle < admitted < unfixed < limit, f"docs/operations.md:{line}"


def test_the_readme_one_call_fixture_is_dated_as_it_says() -> None:
    [(_, fixture)] = quoted("README.md", r"-d @(fixtures/golden/\S+)/request\.json")
    [(line, dated)] = quoted("README.md", r"The fixture is dated (\d{4}-\d\d-\d\d)")
    assert case_as_of(ROOT / fixture.group(1)).isoformat() == dated.group(1), f"README.md:{line}"


def test_the_makefile_package_counts_and_lock_recipes() -> None:
    makefile = text_of("Makefile")
    assert not re.search(r"\\\\$", makefile, flags=re.MULTILINE), "a recipe line ends in a literal backslash"
    lock = makefile.split("\nlock:", 1)[1].split("\n\n", 1)[0]
    written = set(re.findall(r"-o (\S+)", lock))
    assert written == {
        "requirements.lock",
        "requirements-test.lock",
        "requirements-spark.lock",
        "requirements-parquet.lock",
    }, written


# --- Worked examples ------------------------------------------------------------------------------------------------


def test_the_validate_example_is_what_the_command_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/integrating.md: the golden order-sign request broken as the text says, through ``cds-service validate``."""
    [(line, intro)] = quoted("docs/integrating.md", r"For example, the golden request `([\w/-]+)` with an impossible")
    request = json.loads((DEFAULT_FIXTURES / intro.group(1) / "request.json").read_text(encoding="utf-8"))
    broken = copy.deepcopy(request)
    prefetch = broken["prefetch"]
    observations = prefetch["observations"]["entry"]
    observations[0]["resource"]["effectiveDateTime"] = "2026-02-30"  # an impossible date
    observations[1]["resource"]["valueQuantity"]["valueString"] = "x"  # an element R4 does not have
    condition_status = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    for entry in prefetch["conditions"]["entry"]:
        if entry["resource"]["id"] == "sepsis":  # an entered-in-error Condition
            entry["resource"]["verificationStatus"] = {
                "coding": [{"system": condition_status, "code": "entered-in-error"}]
            }
    prefetch["observations"].pop("type")  # a Bundle without type
    prefetch.pop("procedures")  # no procedures key
    for bundle in prefetch.values():
        if isinstance(bundle, dict) and bundle.get("entry") == []:
            bundle.pop("entry")  # empty Bundles without entry
    (tmp_path / "request.json").write_text(json.dumps(broken), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        assert cli.main(["validate", "request.json"]) == 0
    text = text_of("docs/integrating.md")
    example = text[intro.end() :].split("```text\n", 1)[1].split("```", 1)[0]
    assert example == shown.getvalue(), f"docs/integrating.md:{line}: the example is not what validate prints"

    del prefetch["conditions"]
    broken.pop("fhirServer", None)
    (tmp_path / "request.json").write_text(json.dumps(broken), encoding="utf-8")
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        assert cli.main(["validate", "request.json"]) == 1
    [(line, refusal)] = quoted(
        "docs/integrating.md", r"reads\s+`(prefetch\.conditions: not provided -> refused [^`]+)`"
    )
    assert " ".join(refusal.group(1).split()) in shown.getvalue().splitlines(), f"docs/integrating.md:{line}"


def test_the_cohort_example_line_is_what_the_commands_print(tmp_path: Path) -> None:
    """docs/cohort.md: its synth-cohort and cohort commands agree on the date, and the quoted line is their output."""
    [(line, synth)] = quoted(
        "docs/cohort.md",
        r"\.venv/bin/cds-service synth-cohort (\d+) var/cohort --as-of ([\d-]+)\s+# ([\d,]+) synthetic",
    )
    assert value(synth.group(1)) == value(synth.group(3)), f"docs/cohort.md:{line}: {synth.group(0)!r}"
    for line, evaluated in quoted("docs/cohort.md", r"cds-service cohort \S+ --as-of ([\d-]+)"):
        assert evaluated.group(1) == synth.group(2), f"docs/cohort.md:{line}: evaluated on another day than generated"
    [(line, example)] = quoted(
        "docs/cohort.md",
        r"`(\d+) patients as of ([\d-]+) in [\d.]+ s \(\d+/s, (\d+) processes\): ([^`]+)`",
    )
    count, day, workers, counts = example.groups()
    assert day == synth.group(2), f"docs/cohort.md:{line}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    run = [sys.executable, "-m", "commands.cli"]
    subprocess.run(
        [*run, "synth-cohort", count, str(tmp_path / "in"), "--as-of", day], cwd=ROOT, env=env, check=True, timeout=120
    )
    done = subprocess.run(
        [*run, "cohort", str(tmp_path / "in"), "--as-of", day, "--out", str(tmp_path / "out"), "--workers", workers],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout.splitlines()[0]
    assert printed.split("): ", 1)[1] == " ".join(counts.split()), (
        f"docs/cohort.md:{line}: the command prints {printed}"
    )
