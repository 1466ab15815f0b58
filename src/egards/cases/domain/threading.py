"""Case numbers and e-mail threading: numbers in subjects, message ids, the thread a reply joins."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from egards.cases.errors import (
    InvalidCaseNumber,
)
from egards.errors import N_

# --------------------------------------------------------------------------------------
# Case numbers and e-mail threading
# --------------------------------------------------------------------------------------

CASE_NUMBER_PREFIX = "C-"
_CASE_NUMBER = re.compile(r"^\s*#?\s*C-(\d{6,})\s*$", re.IGNORECASE)
_SUBJECT_TAG = re.compile(r"\[\s*#\s*C-(\d{6,})\s*\]", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def format_case_number(sequence: int) -> str:
    """``C-`` and the sequence on at least six digits: ``C-000123``, ``C-1234567``."""
    if sequence < 1:
        raise InvalidCaseNumber(N_("a case number starts at 1"), sequence=sequence)
    return f"{CASE_NUMBER_PREFIX}{sequence:06d}"


def parse_case_number(text: str) -> int:
    """``"C-000123"`` (or ``"#C-000123"``, any case) to ``123``."""
    match = _CASE_NUMBER.match(text)
    if not match:
        raise InvalidCaseNumber(N_("{text!r} is not a case number like C-000123"), text=text)
    return int(match.group(1))


def subject_tag(sequence: int) -> str:
    return f"[#{format_case_number(sequence)}]"


def tag_subject(subject: str, sequence: int) -> str:
    """Put ``[#C-000123]`` in front of a subject, once; the customer's reply keeps it."""
    subject = " ".join(subject.split())
    if sequence in case_numbers_in_subject(subject):
        return subject
    return f"{subject_tag(sequence)} {subject}".rstrip()


def case_numbers_in_subject(subject: str) -> list[int]:
    """Every ``[#C-…]`` tag in a subject, in order of appearance."""
    return [int(number) for number in _SUBJECT_TAG.findall(subject or "")]


def case_number_from_subject(subject: str) -> int | None:
    """The first ``[#C-…]`` tag: forwarded chains append older tags after ours."""
    numbers = case_numbers_in_subject(subject)
    return numbers[0] if numbers else None


def message_ids(header_value: str | None) -> list[str]:
    """The ``<id@host>`` tokens of a Message-ID, In-Reply-To or References header."""
    return _MESSAGE_ID.findall(header_value or "")


def normalize_message_id(value: str | None) -> str | None:
    """The first ``<id@host>`` of a header, or the bare value in brackets; ``None`` if blank."""
    found = message_ids(value)
    if found:
        return found[0]
    bare = (value or "").strip().strip("<>").strip()
    return f"<{bare}>" if bare and " " not in bare else None


def thread_candidates(*, in_reply_to: str | None, references: str | None) -> tuple[str, ...]:
    """Message-IDs to look up, closest ancestor first: In-Reply-To, then References from
    the most recent. Duplicates removed."""
    ordered = [*message_ids(in_reply_to), *reversed(message_ids(references))]
    return tuple(dict.fromkeys(ordered))


class ThreadVia(StrEnum):
    HEADERS = "headers"
    SUBJECT = "subject"
    NEW = "new"


@dataclass(frozen=True)
class ThreadChoice:
    case_sequence: int | None
    via: ThreadVia


def choose_thread(
    *,
    candidates: Sequence[str],
    known: Mapping[str, int],
    subject_case: int | None,
) -> ThreadChoice:
    """Which case an inbound e-mail belongs to.

    ``known`` maps the candidate Message-IDs already stored to their case. Headers win over
    the subject tag (a customer may reuse an old e-mail to write about something new, but
    mail clients keep In-Reply-To honest). ``subject_case`` must be a case that exists and
    whose customer matches the sender: the caller checks that, since a tag is easy to forge.
    """
    for message_id in candidates:
        if message_id in known:
            return ThreadChoice(known[message_id], ThreadVia.HEADERS)
    if subject_case is not None:
        return ThreadChoice(subject_case, ThreadVia.SUBJECT)
    return ThreadChoice(None, ThreadVia.NEW)
