"""What every input schema shares: text that a database stores and a screen shows as sent.

A NUL byte is refused by PostgreSQL's text type but stored by SQLite, and other C0 control
characters (escape, backspace, bell) only hide or garble text on a screen or in a CSV export.
Every JSON body and imported row (and every console form that fills one of these schemas) is
read through a schema derived from :class:`Input`, so one rule answers the same on both
databases and names the field: no C0 control character in any string (keys included) other
than tab and line breaks (CR included, for CRLF).
"""

from __future__ import annotations

import re
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL = CONTROL_CHARACTER


def control_character(value: Any) -> str | None:
    """Where the first forbidden control character is, in a string or in plain containers
    (``None`` when there is none); validated models are not entered: they checked themselves."""
    if isinstance(value, str):
        found = _CONTROL.search(value)
        if found is None:
            return None
        return f"U+{ord(found.group()):04X} at character {found.start() + 1}"
    if isinstance(value, dict):
        for key, item in value.items():
            if where := control_character(key):
                return f"{where} of a key"
            if where := control_character(item):
                return f"{where} of [{key!r}]"
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            if where := control_character(item):
                return f"{where} of item {index}"
    return None


class Input(BaseModel):
    """Base of every schema that reads input."""

    @model_validator(mode="after")
    def _no_control_characters(self) -> Self:
        refuse_control_characters(self)
        return self


def refuse_control_characters(model: BaseModel) -> None:
    """The ValidationError naming the first field of ``model`` that holds a forbidden control
    character, if one does. One pass over the validated fields (not a validator per field: an
    import validates millions of rows); the error names the field, under its parents' path
    when nested."""
    for name, value in model.__dict__.items():
        if where := control_character(value):
            error = PydanticCustomError(
                "control_character",
                "contains a control character ({where}); only tab and line breaks are allowed",
                {"where": where},
            )
            raise ValidationError.from_exception_data(
                type(model).__name__, [InitErrorDetails(type=error, loc=(name,), input=value)]
            )


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list read by offset: its items, the paging asked for, and whether more
    follow. A feature names its own (``class CasePage(Page[CaseDetailRead])``), so that the
    OpenAPI document keeps a readable schema name."""

    items: list[T]
    limit: int
    offset: int
    has_more: bool
