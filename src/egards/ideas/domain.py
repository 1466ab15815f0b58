"""Rules of the idea box: statuses and their moves, what a proposal may contain, and the
categories file."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from egards.errors import N_, Conflict, InvalidInput

# Fider's statuses; "merged" is set only by merging a duplicate into another idea.
STATUSES = ("new", "under_review", "planned", "in_progress", "done", "declined")
OPEN = ("new", "under_review", "planned", "in_progress")
MERGED = "merged"
TITLE_MAX = 200
BODY_MAX = 4000
COMMENT_MAX = 2000
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!]|javascript:", re.IGNORECASE)


class AlreadyVoted(Conflict):
    code = "already_voted"


class IdeaClosed(Conflict):
    code = "idea_closed"


@dataclass(frozen=True)
class Category:
    key: str
    en: str
    fr: str
    silo: str
    programmes: tuple[str, ...] = ()  # open to their members only; empty: to everyone

    def open_to(self, member_of: Iterable[str]) -> bool:
        """Whether a customer in these loyalty programmes may propose in this category."""
        return not self.programmes or not set(self.programmes).isdisjoint(member_of)

    def label(self, locale: str) -> str:
        return self.fr if locale == "fr" else self.en


def parse_categories(raw: Mapping[str, Any]) -> dict[str, Category]:
    """The categories file: each key with its English and French names, its silo and the
    loyalty programmes whose members it is open to (``programmes``, a list; none: everyone)."""
    found: dict[str, Category] = {}
    for key, value in raw.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", str(key)):
            raise InvalidInput(
                N_("category {key}: lower-case letters, digits, _"), field=key, key=repr(key)
            )
        if not isinstance(value, Mapping) or not value.get("en") or not value.get("fr"):
            raise InvalidInput(
                N_("category {key}: an English and a French name"), field=key, key=repr(key)
            )
        programmes = value.get("programmes") or []
        if not isinstance(programmes, list) or not all(isinstance(p, str) for p in programmes):
            raise InvalidInput(
                N_("category {key}: programmes is a list of programme codes"),
                field=key,
                key=repr(key),
            )
        found[str(key)] = Category(
            str(key),
            str(value["en"]),
            str(value["fr"]),
            str(value.get("silo", "all")),
            tuple(programmes),
        )
    if not found:
        raise InvalidInput(N_("at least one category"), field="categories")
    return found


def clean_text(value: str, *, field: str, maximum: int, minimum: int = 1) -> str:
    """Trimmed text without markup: a proposal is shown to every customer."""
    text = " ".join(value.split()) if field == "title" else value.strip()
    if len(text) < minimum:
        raise InvalidInput(N_("at least {minimum} characters"), field=field, minimum=minimum)
    if len(text) > maximum:
        raise InvalidInput(N_("at most {maximum} characters"), field=field, maximum=maximum)
    if _MARKUP.search(text):
        raise InvalidInput(N_("no HTML or script, plain text only"), field=field)
    return text


TAGS_MAX = 10
_TAG = re.compile(r"[^\W_](?:(?:[^\W_]|[ -]){0,38}[^\W_])?")


def clean_tags(values: list[str]) -> list[str]:
    """The staff's tags of an idea: lower case, single spaces, letters, digits, spaces and
    hyphens (1 to 40 characters), each once, at most ``TAGS_MAX``; sorted."""
    tags = sorted({" ".join(value.split()).lower() for value in values if value.strip()})
    if len(tags) > TAGS_MAX:
        raise InvalidInput(N_("at most {maximum} tags"), field="tags", maximum=TAGS_MAX)
    for tag in tags:
        if not _TAG.fullmatch(tag):
            raise InvalidInput(
                N_("tag {tag}: letters, digits, spaces and hyphens, 1 to 40 characters"),
                field="tags",
                tag=repr(tag),
            )
    return tags


def check_status_change(current: str, wanted: str, reason: str | None) -> None:
    """A status is one of STATUSES; a declined idea says why; a merged idea stays merged."""
    if wanted not in STATUSES:
        raise InvalidInput(N_("one of {choices}"), field="status", choices=", ".join(STATUSES))
    if current == MERGED:
        raise IdeaClosed(N_("this idea was merged into another one"), field="status")
    if wanted == "declined" and not (reason or "").strip():
        raise InvalidInput(N_("say why the idea is declined"), field="reason")


def check_votable(status: str, hidden: bool) -> None:
    if hidden or status == MERGED:
        raise IdeaClosed(N_("this idea is not open to votes"), field="idea_id")
    if status not in OPEN:
        raise IdeaClosed(N_("this idea is closed: votes are over"), field="idea_id")


def check_merge(source_id: int, target_id: int, target_status: str, target_hidden: bool) -> None:
    if source_id == target_id:
        raise InvalidInput(N_("an idea cannot be merged into itself"), field="into_id")
    if target_status == MERGED or target_hidden:
        raise InvalidInput(N_("merge into an idea that is visible and not merged"), field="into_id")
