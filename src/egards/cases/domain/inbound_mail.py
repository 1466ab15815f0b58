"""Inbound e-mail: acknowledge, open a case, or neither; and the IMAP polling rules."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from email.utils import getaddresses, parseaddr
from enum import StrEnum
from typing import cast

# --------------------------------------------------------------------------------------
# Inbound e-mail: acknowledge, open a case, or neither
# --------------------------------------------------------------------------------------


class MailKind(StrEnum):
    HUMAN = "human"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"
    LOOP = "loop"


LOOP_MARKER_HEADER = "X-Egards-Case"
"""Set on every e-mail Égards sends; seeing it come back in means a loop."""

ACKNOWLEDGEMENT_HEADERS: Mapping[str, str] = {
    # RFC 3834: tells well-behaved responders not to answer our acknowledgement.
    "Auto-Submitted": "auto-replied",
    # Exchange and Outlook honour this one instead.
    "X-Auto-Response-Suppress": "All",
}
MAX_RECEIVED_HEADERS = 30
_DAEMON_SENDERS = frozenset({"mailer-daemon", "postmaster"})


@dataclass(frozen=True)
class InboundMailDecision:
    kind: MailKind
    acknowledge: bool
    create_case: bool
    """False for machine mail: it is kept with the raw message but opens no case."""
    reasons: tuple[str, ...] = field(default=())


# A message's headers: a mapping, a parsed message, or (name, value) pairs (repeats kept).
Headers = Mapping[str, str] | Message | Iterable[tuple[str, str]]


def classify_inbound_mail(
    headers: Headers,
    *,
    own_addresses: Collection[str] = (),
    acknowledgements_sent_recently: int = 0,
    acknowledgement_limit: int = 3,
) -> InboundMailDecision:
    """Decide from the headers whether an inbound e-mail gets an acknowledgement and a case.

    Machine mail never gets either, so two robots never talk to each other: loops (our own
    marker or address, too many hops), bounces and delivery reports (RFC 3464
    ``multipart/report``, ``MAILER-DAEMON``/``postmaster``, null return path,
    ``X-Failed-Recipients``), auto-replies (RFC 3834 ``Auto-Submitted`` other than ``no``,
    ``X-Autoreply``, ``X-Autorespond``, ``Precedence: auto_reply``, read receipts) and bulk
    or list mail (``Precedence: bulk/junk/list``, ``List-Id``, ``List-Unsubscribe``).
    A person's message opens a case; its acknowledgement is skipped once
    ``acknowledgement_limit`` were sent to that sender recently, a last guard against
    responders that set none of these headers.
    """
    found = _HeaderView(headers)
    own = {address.casefold() for address in own_addresses}
    checks = (
        (MailKind.LOOP, _loop_reasons(found, own)),
        (MailKind.BOUNCE, _bounce_reasons(found)),
        (MailKind.AUTO_REPLY, _auto_reply_reasons(found)),
        (MailKind.BULK, _bulk_reasons(found)),
    )
    for kind, reasons in checks:
        if reasons:
            return InboundMailDecision(kind, acknowledge=False, create_case=False, reasons=reasons)
    if acknowledgements_sent_recently >= acknowledgement_limit:
        return InboundMailDecision(
            MailKind.HUMAN,
            acknowledge=False,
            create_case=True,
            reasons=(f"{acknowledgements_sent_recently} acknowledgements sent to this sender",),
        )
    return InboundMailDecision(MailKind.HUMAN, acknowledge=True, create_case=True)


class _HeaderView:
    """Case-insensitive, multi-valued view of e-mail headers."""

    def __init__(self, headers: Headers) -> None:
        # (a Mapping's items are (name, value) pairs too; the checker cannot tell them apart)
        items = cast(
            "Iterable[tuple[str, str]]",
            headers.items() if isinstance(headers, (Mapping, Message)) else headers,
        )
        self._values: dict[str, list[str]] = {}
        for name, value in items:
            self._values.setdefault(name.strip().casefold(), []).append(str(value))

    def all(self, name: str) -> list[str]:
        return self._values.get(name.casefold(), [])

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0].strip() if values else None

    def token(self, name: str) -> str | None:
        """The value before any ``;`` parameter, lower-cased."""
        value = self.first(name)
        return value.split(";", 1)[0].strip().casefold() if value is not None else None

    def has(self, name: str) -> bool:
        return name.casefold() in self._values


def _loop_reasons(found: _HeaderView, own: set[str]) -> tuple[str, ...]:
    reasons = []
    if found.has(LOOP_MARKER_HEADER):
        reasons.append(f"{LOOP_MARKER_HEADER} present: Égards sent this message")
    sender = parseaddr(found.first("From") or "")[1].casefold()
    if sender and sender in own:
        reasons.append(f"sender {sender} is one of our own addresses")
    loop_addresses = {address.casefold() for _, address in getaddresses(found.all("X-Loop"))}
    if own & loop_addresses:
        reasons.append("X-Loop names one of our own addresses")
    if len(found.all("Received")) > MAX_RECEIVED_HEADERS:
        reasons.append(f"more than {MAX_RECEIVED_HEADERS} Received headers")
    return tuple(reasons)


def _bounce_reasons(found: _HeaderView) -> tuple[str, ...]:
    reasons = []
    content_type = (found.first("Content-Type") or "").casefold()
    if content_type.startswith("multipart/report") and "disposition-notification" not in (
        content_type
    ):
        reasons.append("multipart/report delivery status notification")
    sender_local = parseaddr(found.first("From") or "")[1].split("@")[0].casefold()
    if sender_local in _DAEMON_SENDERS:
        reasons.append(f"sent by {sender_local}")
    if found.has("Return-Path") and parseaddr(found.first("Return-Path") or "")[1] == "":
        reasons.append("null return path")
    if found.has("X-Failed-Recipients"):
        reasons.append("X-Failed-Recipients present")
    return tuple(reasons)


def _auto_reply_reasons(found: _HeaderView) -> tuple[str, ...]:
    reasons = []
    auto_submitted = found.token("Auto-Submitted")
    if auto_submitted is not None and auto_submitted != "no":
        reasons.append(f"Auto-Submitted: {auto_submitted}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse"):
        if found.has(name):
            reasons.append(f"{name} present")
    if found.token("Precedence") == "auto_reply":
        reasons.append("Precedence: auto_reply")
    content_type = (found.first("Content-Type") or "").casefold()
    if content_type.startswith("multipart/report") and "disposition-notification" in content_type:
        reasons.append("read receipt")
    return tuple(reasons)


def _bulk_reasons(found: _HeaderView) -> tuple[str, ...]:
    reasons = []
    precedence = found.token("Precedence")
    if precedence in {"bulk", "junk", "list"}:
        reasons.append(f"Precedence: {precedence}")
    for name in ("List-Id", "List-Unsubscribe"):
        if found.has(name):
            reasons.append(f"{name} present")
    return tuple(reasons)


# --------------------------------------------------------------------------------------
# IMAP polling
# --------------------------------------------------------------------------------------

IMAP_FIRST_RETRY = timedelta(minutes=2)
IMAP_LONGEST_WAIT = timedelta(hours=1)


def imap_retry_delay(failures: int) -> timedelta:
    """2, 4, 8 … minutes after each failure in a row, never more than an hour: a wrong
    password retried every pass would get the mailbox locked on most servers."""
    return min(IMAP_FIRST_RETRY * 2 ** max(failures - 1, 0), IMAP_LONGEST_WAIT)


def uids_to_fetch(
    uids: Iterable[int],
    *,
    last_uid: int,
    backlog_until: int,
    unseen_backlog: Collection[int] = (),
) -> list[int]:
    """The UIDs of a mailbox the poller still has to read, oldest first.

    Everything after ``last_uid`` is read whatever its flags: a message a colleague opened
    first in a shared mailbox is still a customer's message. Only the backlog found at the
    first contact with a mailbox (UIDs up to ``backlog_until``) is read as people left it:
    the unseen messages, not years of mail already dealt with by hand. UIDs only grow within
    one UIDVALIDITY (RFC 3501 2.3.1.1), so ``last_uid`` is all the memory this takes.
    """
    unseen = set(unseen_backlog)
    return sorted(
        uid for uid in set(uids) if uid > last_uid and (uid > backlog_until or uid in unseen)
    )
