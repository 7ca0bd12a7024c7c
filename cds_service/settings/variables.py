"""Where each setting comes from: one environment variable per field, also for the fields inside a block.

A field at the top is read from ``CDS_<FIELD>`` (pydantic-settings' ``env_prefix``) unless its alias names its
variable (``tz``: ``CDS_TIMEZONE``); a field in a block likewise (``auth.public_base_url``: ``CDS_PUBLIC_BASE_URL``,
``ehr.max_pages``: ``CDS_FHIR_MAX_PAGES``), never ``CDS_EHR__MAX_PAGES``. ``AliasChoices`` lists other names read
when the first is unset (``CDS_DATABASE_URL``, then ``DATABASE_URL``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource

from guideline.parameters import DEFAULT_PARAMETERS, Parameters


@dataclass(frozen=True)
class Variable:
    """One environment variable and the field it sets."""

    names: tuple[str, ...]
    """The variable, then other names read when it is unset (``CDS_DATABASE_URL``, ``DATABASE_URL``)."""
    block: str | None
    """The block (``auth``, ``ehr``, ``audit``), or ``None`` at the top."""
    field_name: str
    field: FieldInfo

    @property
    def name(self) -> str:
        """The variable's name, e.g. ``CDS_FHIR_MAX_PAGES``."""
        return self.names[0]

    @property
    def key(self) -> str:
        """The key the model reads it from: the variable's name if the field has it as its alias, else the field's."""
        return self.name if self.field.validation_alias is not None else self.field_name

    @property
    def config_key(self) -> str:
        """The key in a Flask config: the name without ``CDS_`` (``FHIR_MAX_PAGES``)."""
        return self.name.removeprefix("CDS_")


def variables_of(settings: type[BaseModel], blocks: Mapping[str, type[BaseModel]]) -> tuple[Variable, ...]:
    """Return every variable of ``settings``: its own fields', then each block's, in the order of the model."""
    found = []
    models: list[tuple[str | None, type[BaseModel]]] = [(None, settings), *blocks.items()]
    for block, model in models:
        for name, field in model.model_fields.items():
            if block is None and name in blocks:
                continue
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                names = tuple(str(choice) for choice in alias.choices)
            else:
                names = (str(alias) if alias is not None else f"CDS_{name.upper()}",)
            found.append(Variable(names, block, name, field))
    return tuple(found)


def variable_at(loc: tuple[str | int, ...], variables: tuple[Variable, ...]) -> str:
    """Return the variable of a validation error's location (``("ehr", "CDS_FHIR_MAX_PAGES")``, ``("language",)``)."""
    for variable in variables:
        inside = (variable.block,) if variable.block else ()
        at = len(inside)
        if loc[:at] == inside and len(loc) > at and loc[at] in {variable.field_name, *variable.names}:
            return variable.name
    return ".".join(str(part) for part in loc) or "settings"


def written(value: Any) -> Any:
    """Return a setting's value as a variable or a Flask config holds it: a time zone's name, a list, no overrides."""
    if isinstance(value, ZoneInfo):
        return value.key
    if isinstance(value, frozenset):
        return tuple(sorted(value))
    if isinstance(value, Parameters):
        changed = value.model_dump().items()
        return {name: setting for name, setting in changed if setting != getattr(DEFAULT_PARAMETERS, name)}
    return copy.deepcopy(value)


class FlatEnvironment(EnvSettingsSource):
    """The environment, one variable per field, also inside a block (pydantic-settings would read ``CDS_EHR__*``).

    A field in ``groups`` is read from every variable named after it plus ``__`` (``CDS_GUIDELINE__<NAME>``), as
    ``{NAME: text}``: its own validator reads the names and values.
    """

    def __init__(
        self, settings_cls: type[BaseSettings], blocks: Mapping[str, type[BaseModel]], groups: Iterable[str] = ()
    ) -> None:
        super().__init__(settings_cls)
        self.blocks = blocks
        self.groups = frozenset(groups)

    def prepare_field_value(self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool) -> Any:
        """Read a block from its fields' own variables, a group by its prefix; any other field as pydantic-settings."""
        if field_name in self.groups:
            prefixes = [f"{env_name}__" for _, env_name, _ in self._extract_field_info(field, field_name)]
            return {
                name[len(prefix) :].upper(): text
                for name, text in self.env_vars.items()
                for prefix in prefixes
                if name.startswith(prefix) and text is not None
            } or None
        block = self.blocks.get(field_name)
        if block is None:
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        values = {}
        for name, inner in block.model_fields.items():
            found, key, is_complex = self.get_field_value(inner, name)
            found = super().prepare_field_value(name, inner, found, is_complex)
            if found is not None:
                values[key] = found
        return values or None
