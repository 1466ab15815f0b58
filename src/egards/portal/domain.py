"""Pure rules of the customer portal: sign-in links (signed, expiring), the sliding-window
rate limit, and the clock of a privacy request (GDPR article 12(3)).

A sign-in link carries ``<nonce>.<expiry>.<mac>``: the MAC (HMAC-SHA256 under the server's
secret key) lets a forged or altered link be refused without reading the database, and the
expiry is part of what is signed. Only the SHA-256 of the whole token is stored; the row is
what makes a link single-use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from egards.errors import DomainError, InvalidInput, NotAuthenticated
from egards.i18n import N_
from egards.loyalty.domain import add_months


class LinkRefused(NotAuthenticated):
    """A sign-in link that is forged, altered, expired or already used. One code for all:
    the reason is never told, so a guess learns nothing."""

    code = "portal_link_refused"
    title = "This sign-in link no longer works"


class TooManyRequests(DomainError):
    code = "too_many_requests"
    status = 429
    title = "Too many requests"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, b"egards-portal-link:" + payload.encode(), hashlib.sha256).digest())


def sign_link(key: bytes, *, expires_at: datetime, nonce: str | None = None) -> str:
    """A new sign-in token valid until ``expires_at`` (whole seconds)."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    nonce = nonce or secrets.token_urlsafe(24)
    if "." in nonce:
        raise ValueError("a nonce has no dots")
    payload = f"{nonce}.{int(expires_at.timestamp())}"
    return f"{payload}.{_mac(key, payload)}"


@dataclass(frozen=True)
class LinkToken:
    token: str
    expires_at: datetime

    @property
    def digest(self) -> str:
        return token_digest(self.token)


def read_link(key: bytes, token: str, *, now: datetime) -> LinkToken:
    """The token if its signature holds and it has not expired; else :class:`LinkRefused`."""
    parts = token.split(".") if isinstance(token, str) and len(token) <= 200 else []
    if len(parts) != 3 or not all(parts) or not parts[1].isdigit():
        raise LinkRefused(N_("this sign-in link is not valid"), field="token")
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_mac(key, payload), parts[2]):
        raise LinkRefused(N_("this sign-in link is not valid"), field="token")
    expires_at = datetime.fromtimestamp(int(parts[1]), tz=UTC)
    if now >= expires_at:
        raise LinkRefused(N_("this sign-in link has expired"), field="token")
    return LinkToken(token=token, expires_at=expires_at)


def new_secret() -> str:
    """A portal session's secret, for the cookie only."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored of a link or a session secret: its SHA-256, never the secret itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of the portal only (no open redirect)."""
    if (
        target
        and target.startswith("/my")
        and not target.startswith("//")
        and "\\" not in target
        and all(ch.isprintable() and not ch.isspace() for ch in target)
        and (len(target) == 3 or target[3] in "/?#")
    ):
        return target
    return "/my"


class SlidingWindow:
    """At most ``limit`` hits per key within any ``window`` (kept in memory, per process)."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[datetime]] = {}

    def allow(self, key: str, now: datetime) -> bool:
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self._hits) > 10_000:
            self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < self.window}
        return True


# --------------------------------------------------------------------------------------
# Privacy requests (GDPR articles 12(3), 16, 17)
# --------------------------------------------------------------------------------------


class PrivacyKind(StrEnum):
    ERASURE = "erasure"
    RECTIFICATION = "rectification"


class PrivacyStatus(StrEnum):
    RECEIVED = "received"
    EXTENDED = "extended"
    DONE = "done"
    REFUSED = "refused"


OPEN_PRIVACY = (PrivacyStatus.RECEIVED, PrivacyStatus.EXTENDED)


def privacy_due(received_on: date, *, extended: bool = False) -> date:
    """Article 12(3): an answer within one month of receipt, extendable by two further
    months where necessary (the customer is told why within the first month)."""
    return add_months(received_on, 3 if extended else 1)


def check_extension(status: str, reason: str) -> str:
    """An extension happens once, on an open request, with a reason the customer will read."""
    if status != PrivacyStatus.RECEIVED:
        raise InvalidInput(N_("only a request not yet extended can be extended"), field="status")
    reason = " ".join(reason.split())
    if len(reason) < 10:
        raise InvalidInput(N_("give the customer a reason (10 characters or more)"), field="reason")
    return reason
