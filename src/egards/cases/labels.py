"""Display names of the case vocabulary (statuses, states, channels, teams...), translated in
the context ``case`` (``msgctxt``) of the cases' catalogue, where bare words such as "new"
mean other things elsewhere. The words are listed in ``cases/words.py`` for extraction."""

from __future__ import annotations

from typing import Any

from egards.i18n import message_in, translate_context


def case_label(value: object, locale: str = "en") -> str:
    """``waiting_on_customer`` → "waiting on customer" / "en attente du client"."""
    text = "" if value is None else str(getattr(value, "value", value))
    return translate_context(locale, "case", text.replace("_", " "))


def case_word(value: object) -> dict[str, Any]:
    """A case code as a stored message: shown as the word in the reader's language."""
    text = "" if value is None else str(getattr(value, "value", value))
    return message_in("case", text.replace("_", " "))
