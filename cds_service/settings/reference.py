"""The settings reference in ``docs/configuration.md``, written from the model: variables, values, defaults, rules.

``scripts/update_docs.py`` writes ``settings_reference()`` into the page; ``tests/test_docs.py`` checks it is current.
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel

from cds_service.settings.blocks import MiB
from cds_service.settings.model import BLOCKS, VARIABLES
from cds_service.settings.rules import RULES
from cds_service.settings.values import Kind
from cds_service.settings.variables import Variable, written
from guideline.parameters import Parameters

TOP = (
    "Serving, cards, evaluation and logs",
    "Read by `cds_service.http`, the cards and the evaluation; the two log settings also by "
    "`cds_service.observability`, from the environment.",
)


def settings_reference() -> str:
    """Return the Markdown: one table per block (the top first), then the refused combinations."""
    parts = []
    for block, (title, about) in [(None, TOP), *((name, _about(model)) for name, model in BLOCKS.items())]:
        heading = f"### {title}" + (f": the `{block}` block" if block else "")
        rows = "\n".join(_row(v) for v in VARIABLES if v.block == block)
        parts.append(f"{heading}\n\n{about}\n\n| variable | value | default | meaning |\n|---|---|---|---|\n{rows}")
    refused = "\n".join(f"| `{_cell(rule.refusal)}` | {_cell(rule.why)} |" for rule in RULES)
    parts.append(
        "### Refused combinations\n\nThe service does not start with these, and says so in one line each (all of "
        f"them at once):\n\n| refused | why |\n|---|---|\n{refused}"
    )
    return "\n\n".join(parts) + "\n"


def _about(model: type[BaseModel]) -> tuple[str, str]:
    """A block's title and what it is about, from its docstring."""
    title, _, about = inspect.cleandoc(model.__doc__ or "").partition("\n\n")
    return title.rstrip("."), " ".join(about.replace("``", "`").split())


def _row(variable: Variable) -> str:
    field = variable.field
    names = [f"`{variable.name}__<NAME>`" if field.annotation is Parameters else f"`{variable.name}`"]
    names += [f"`{other}`" for other in variable.names[1:]]
    kind = next((m.must_be for m in field.metadata if isinstance(m, Kind)), "")
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    default = str(extra["shown"]) if "shown" in extra else _default(written(field.default))
    return f"| {' or '.join(names)} | {_cell(kind)} | {_cell(default)} | {_cell(field.description or '')} |"


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple | list | dict):
        return f"`{','.join(value)}`" if value else "none"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, int) and value >= MiB and value % MiB == 0:
        return f"`{value}` ({value // MiB} MiB)"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
