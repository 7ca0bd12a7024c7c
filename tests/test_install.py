"""The install is lean and locked (issue 18): `make serve` gets the runtime dependencies only, `make test` the test
tools on top, both from lock files in which every pinned file carries its SHA-256, and both locks satisfy
``pyproject.toml`` and agree with each other. (The install itself runs on every fresh clone in CI.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", re.M)


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    found = {canonicalize_name(n): version for n, version, _ in PIN.findall(text)}
    assert len(found) == len(re.findall(r"^[A-Za-z0-9._-]+==", text, re.M)), f"a pin in {name} has no hash"
    return found


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("requirements.lock", PROJECT["dependencies"]),
        ("requirements-test.lock", PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]),
    ],
)
def test_each_lock_pins_every_requirement_with_hashes(lock: str, requirements: list[str]) -> None:
    pinned = pins(lock)
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), f"{name}=={pinned[name]} vs {line}"


def test_serving_installs_no_test_tool_and_the_locks_agree() -> None:
    serve, test = pins("requirements.lock"), pins("requirements-test.lock")
    assert all(test.get(name) == version for name, version in serve.items())  # the same versions where shared
    for tool in ("pytest", "healthchain", "schemathesis", "mypy", "ruff", "playwright", "hypothesis", "fastapi"):
        assert tool not in serve, f"{tool} would be installed for serving"


def test_make_serve_installs_the_runtime_lock_only() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    serve_rule = makefile.split("$(SERVE_STAMP): ", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes -r requirements.lock" in serve_rule and "--no-deps -e ." in serve_rule
    assert "[test]" not in serve_rule and "requirements-test.lock" not in serve_rule
    assert re.search(r"^serve: \$\(SERVE_STAMP\)$", makefile, re.M)
    test_rule = makefile.split("$(STAMP): ", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes -r requirements-test.lock" in test_rule


def test_the_spark_lock_pins_pyspark_with_hashes() -> None:
    pinned = pins("requirements-spark.lock")
    wanted = Requirement(PROJECT["optional-dependencies"]["spark"][0])
    assert wanted.specifier.contains(pinned["pyspark"]) and "py4j" in pinned
    assert f"pyspark{wanted.specifier}" in (ROOT / "requirements-spark.in").read_text(encoding="utf-8")
