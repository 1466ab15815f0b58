"""Console forms: form data through the same schemas as the API, and one way to answer a
posted form (refused: the form again with the field named; done: on to the next page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from egards.errors import DomainError, InvalidInput
from egards.web.i18n import readable
from egards.web.problems import field_path
from egards.web.templating import render

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def validate(model: type[M], data: dict[str, Any]) -> M:
    """Form data through the same schema as the API; the first error becomes an
    :class:`~egards.errors.InvalidInput` naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(first["msg"], field=field_path(("body", *first["loc"]))) from None


def submit(
    session: Session,
    action: Callable[[], T],
    *,
    done: Callable[[T], str],
    again: Callable[[DomainError], Response],
) -> Response:
    """Every console form: ``action`` reads the form and calls the use case in a savepoint, so
    a refusal leaves nothing it flushed in the transaction the unit of work commits; refused,
    ``again(error)`` shows the form again with the field named and the reason; done, the
    browser is sent on to ``done(result)`` (303: a reload does not post the form twice)."""
    try:
        with session.begin_nested():
            result = action()
    except DomainError as exc:
        return again(exc)
    return RedirectResponse(done(result), status_code=303)


def refused(
    request: Request, page: str, context: dict[str, Any], exc: DomainError, /, **error: Any
) -> Response:
    """The form's page again, with the refusal (field, reason, status) and ``error`` details."""
    context["error"] = {**problem_of(request, exc), **error}
    return render(request, page, context, status_code=exc.status)


def problem_of(request: Request, exc: DomainError) -> dict[str, Any]:
    """A refusal as a form shows it: the field, the reason in the reader's language, the
    status."""
    locale = getattr(request.state, "locale", "fr")
    return {"field": exc.field, "message": readable(locale, exc), "status": exc.status}
