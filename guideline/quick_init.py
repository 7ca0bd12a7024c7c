"""``quick_init``: a cheaper ``__init__`` for the frozen, slotted dataclasses every hook call makes by the hundred.

A frozen dataclass's generated ``__init__`` sets each field with a call of ``object.__setattr__`` (its own
``__setattr__`` refuses). ``quick_init`` replaces it with one that sets each slot through the slot's own descriptor:
the same signature (positional and keyword-only fields, defaults), the same ``__post_init__`` call, the same
values, in about half the time (issue 32: the guideline core builds several hundred such objects for a long
history). Everything else stays the dataclass's: equality, hashing, ``repr``, ``dataclasses.replace``, pickling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from types import MemberDescriptorType
from typing import Any, TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Give the frozen, slotted dataclass ``cls`` an ``__init__`` that fills its slots directly; return ``cls``.

    Apply it above ``@dataclass(frozen=True, slots=True, ...)``. Every field must be an ``__init__`` field with no
    ``default_factory``.

    Raises:
        TypeError: ``cls`` is not a frozen dataclass with ``__slots__``, or has a field ``quick_init`` cannot set.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if not is_dataclass(cls) or params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"quick_init needs a frozen dataclass with slots, not {cls!r}")
    namespace: dict[str, Any] = {}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for field in fields(cls):
        if not field.init or field.default_factory is not MISSING:
            raise TypeError(f"quick_init: {cls.__name__}.{field.name} needs the dataclass __init__")
        name = field.name
        namespace[f"_set_{name}"] = slot_setter(cls, name)
        if field.default is MISSING:
            param = name
        else:
            namespace[f"_default_{name}"] = field.default
            param = f"{name}=_default_{name}"
        (keyword if field.kw_only else positional).append(param)
        body.append(f"    _set_{name}(self, {name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}) -> None:\n" + "\n".join(body or ["    pass"]) + "\n"
    exec(source, namespace)  # noqa: S102 - built from the class's own field names only, as ``dataclasses`` does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = f"Set the fields of a ``{cls.__name__}`` (``guideline.quick_init``)."
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning a method
    return cls


def slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """Return the setter of the slot ``name`` of ``cls``: ``setter(instance, value)`` sets it, frozen or not.

    For an ``__init__`` written out (``quick_init``, or one that converts its values): a frozen dataclass's own
    ``__setattr__`` refuses, and the slot's descriptor costs less than ``object.__setattr__``.

    Raises:
        TypeError: ``cls`` has no slot ``name`` of its own.
    """
    slot = cls.__dict__.get(name)
    if not isinstance(slot, MemberDescriptorType):
        raise TypeError(f"{cls.__name__} has no slot {name!r}")
    setter: Callable[[Any, Any], None] = slot.__set__
    return setter
