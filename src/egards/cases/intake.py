"""Pure rules of intake: attachment checks, webhook signatures, routing to a team.

No database and no clock of their own, like ``domain.py``; the service applies them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from egards.cases.domain import Channel
from egards.errors import InvalidInput, NotAuthenticated
from egards.i18n import N_

ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "image/tiff",
        "text/plain",
        "text/csv",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text",
    }
)
DANGEROUS_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".exe", ".com", ".bat", ".cmd", ".scr", ".pif", ".msi", ".dll", ".js", ".jse",
        ".vbs", ".vbe", ".wsf", ".ps1", ".jar", ".hta", ".html", ".htm", ".svg", ".lnk",
        ".iso", ".docm", ".xlsm", ".pptm",
    }
)  # fmt: skip
# What the first bytes must look like for types that have a signature; a renamed
# executable claiming to be a PDF is refused.
_MAGIC: Mapping[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!")


@dataclass(frozen=True)
class AttachmentVerdict:
    accepted: bool
    refusal: str | None = None


def check_attachment(
    *, filename: str, content_type: str, content: bytes, max_bytes: int
) -> AttachmentVerdict:
    """Accept a file if it is small enough, of an allowed type, and what it claims to be."""
    size = len(content)
    name = PurePosixPath(filename or "attachment").name
    extension = PurePosixPath(name.casefold()).suffix
    declared = (content_type or "application/octet-stream").split(";")[0].strip().casefold()
    if size > max_bytes:
        return AttachmentVerdict(
            False, f"{name} is {size:,} bytes; the limit is {max_bytes:,} bytes per file"
        )
    if extension in DANGEROUS_EXTENSIONS:
        return AttachmentVerdict(False, f"{name}: files of type {extension} are not accepted")
    if declared not in ALLOWED_TYPES:
        return AttachmentVerdict(False, f"{name}: the type {declared} is not accepted")
    if content.startswith(_EXECUTABLE_MAGIC):
        return AttachmentVerdict(False, f"{name} is a program, not a document")
    signatures = _MAGIC.get(declared)
    if signatures and not content.startswith(signatures):
        return AttachmentVerdict(False, f"{name} does not contain what its type ({declared}) says")
    return AttachmentVerdict(True)


SIGNATURE_WINDOW = timedelta(minutes=5)


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``<timestamp>.<body>`` (the Stripe scheme)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_webhook(
    *,
    secret: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime,
    window: timedelta = SIGNATURE_WINDOW,
) -> str:
    """Check a signed webhook; returns the digest to remember against replays.

    The timestamp is signed with the body, so an old request cannot be re-dated; inside the
    window the caller refuses a digest it has already seen.
    """
    if not secret:
        raise NotAuthenticated(N_("this webhook is not configured (no shared secret)"))
    if not timestamp or not signature:
        raise NotAuthenticated(N_("unsigned webhook: X-Egards-Timestamp and X-Egards-Signature"))
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        raise NotAuthenticated(N_("X-Egards-Timestamp must be Unix seconds")) from None
    expected = sign_webhook(secret, timestamp, body)
    if not hmac.compare_digest(expected, signature.strip()):
        raise NotAuthenticated(N_("wrong webhook signature"))
    if abs(now - sent_at) > window:
        raise NotAuthenticated(
            N_("webhook timestamp is more than {seconds} s from now (replay?)"),
            seconds=int(window.total_seconds()),
        )
    return hashlib.sha256(expected.encode()).hexdigest()


TEAMS = (
    "support",
    "shop",
    "installation",
    "quality",
    "billing",
    "cancellations",
    "social",
    "supervisors",
)
_TEAM_BY_CATEGORY = {
    "cancellation": "cancellations",
    "billing": "billing",
    "installation": "installation",
    "quality": "quality",
}
_TEAM_BY_CHANNEL = {Channel.SHOP: "shop", Channel.PARTNER: "installation"}
CATEGORIES = (
    "question",
    "complaint",
    "delay",
    "baggage",
    "billing",
    "installation",
    "quality",
    "loyalty",
    "cancellation",
)


def route_team(
    *, channel: Channel, category: str | None, team: str | None, public_exposure: bool = False
) -> str:
    """The team a new case goes to: the one asked for, else the social team for a post with
    a large audience (a careful public answer), else by category, else by channel."""
    if team:
        if team not in TEAMS:
            raise InvalidInput(
                N_("unknown team {team!r}"), team=team, field="team", known=", ".join(TEAMS)
            )
        return team
    if public_exposure:
        return "social"
    if category and category.casefold() in _TEAM_BY_CATEGORY:
        return _TEAM_BY_CATEGORY[category.casefold()]
    return _TEAM_BY_CHANNEL.get(channel, "support")
