"""Console forms: form data through the same schemas as the API."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from egards.errors import InvalidInput
from egards.web.problems import field_path

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: dict[str, Any]) -> M:
    """Form data through the same schema as the API; the first error becomes an
    :class:`~egards.errors.InvalidInput` naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(first["msg"], field=field_path(("body", *first["loc"]))) from None
