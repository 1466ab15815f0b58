"""Activity corroboration of scored pairs (``social.corroboration``) with the product's data:
the profiles' posts (their mentions' times), the candidates' contacts (their cases' inbound
messages, social ones excepted) and the chance of such a contact (u), read in a few queries
per batch or arrival, never per pair. The cases are another feature's: read in SQL, as
``probabilistic.customer_records`` reads the customer file."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, column, text
from sqlalchemy.orm import Session

from egards.db import UTCDateTime
from egards.social import corroboration
from egards.social.corroboration import Contact
from egards.social.linking import ScoredPair
from egards.social.service.retraining import current_m
from egards.social.settings import SocialSettings

CHUNK = 5_000
"""Ids per ``IN`` list. The ids are written into the statement (integers only), not bound:
bound, each list is a statement of 5,000 parameters that the driver prepares after a few runs,
and PostgreSQL's generic plan for it took 11 to 13 s a list where a written list takes 0.08 s
(measured at a million customers, 124,000 cases)."""
LOOKBACK = timedelta(days=365)
"""The period over which the contacts' rate (u) is counted."""
U_KEPT_SECONDS = 3600.0
"""How long a measured u is kept in the process before it is measured again: an arrival does
not count a year of contacts each time."""

_WHEN = UTCDateTime()


def _ids() -> Any:
    return bindparam("ids", expanding=True, literal_execute=True, type_=BigInteger)


_POSTS = (
    text("SELECT profile_id, posted_at FROM social_mentions WHERE profile_id IN :ids")
    .bindparams(_ids())
    .columns(column("profile_id", BigInteger), column("posted_at", _WHEN))
)
_CONTACTS = (
    text(
        "SELECT c.customer_id, m.created_at, m.channel FROM case_messages m"
        " JOIN cases c ON c.id = m.case_id"
        " WHERE c.customer_id IN :ids AND m.kind = 'inbound' AND m.channel NOT IN :excluded"
        " AND m.created_at >= :since AND m.created_at <= :until"
    )
    .bindparams(
        _ids(),
        bindparam("excluded", expanding=True),
        bindparam("since", type_=_WHEN),
        bindparam("until", type_=_WHEN),
    )
    .columns(column("customer_id", BigInteger), column("created_at", _WHEN), column("channel"))
)
_RATE = text(
    "SELECT (SELECT count(*) FROM case_messages m JOIN cases c ON c.id = m.case_id"
    "  JOIN customers cu ON cu.id = c.customer_id"
    "  WHERE m.kind = 'inbound' AND m.channel NOT IN :excluded AND cu.status = 'active'"
    "  AND m.created_at >= :since AND m.created_at <= :until),"
    " (SELECT count(*) FROM customers WHERE status = 'active')"
).bindparams(
    bindparam("excluded", expanding=True),
    bindparam("since", type_=_WHEN),
    bindparam("until", type_=_WHEN),
)

_U: weakref.WeakKeyDictionary[Any, tuple[float, float, float]] = weakref.WeakKeyDictionary()
_U_LOCK = threading.Lock()


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def posts_of(session: Session, profile_ids: Iterable[int]) -> dict[str, list[datetime]]:
    """The times of the profiles' mentions, by profile id."""
    found: dict[str, list[datetime]] = {}
    for ids in _chunks(profile_ids):
        for profile_id, posted_at in session.execute(_POSTS, {"ids": ids}):
            found.setdefault(str(profile_id), []).append(posted_at)
    return found


def contacts_of(
    session: Session, customer_ids: Iterable[int], *, since: datetime, until: datetime
) -> dict[str, list[Contact]]:
    """The customers' contacts (inbound case messages, social ones excepted) between
    ``since`` and ``until``, by customer id."""
    found: dict[str, list[Contact]] = {}
    excluded = list(corroboration.EXCLUDED_CHANNELS)
    for ids in _chunks(customer_ids):
        rows = session.execute(
            _CONTACTS, {"ids": ids, "excluded": excluded, "since": since, "until": until}
        )
        for customer_id, at, channel in rows:
            key = str(customer_id)
            found.setdefault(key, []).append(Contact(key, at, channel))
    return found


def measured_u(
    session: Session, *, now: datetime, window_hours: float, kept: bool = False
) -> float:
    """u measured on the cases (``corroboration.chance_of_contact``): the active customers'
    contacts over the last year, against their number. ``kept``: the figure measured within
    the hour on this database, if any (an arrival's; a batch measures it again)."""
    bind = session.get_bind()
    with _U_LOCK:
        found = _U.get(bind)
        recent = found is not None and time.monotonic() - found[2] < U_KEPT_SECONDS
        if kept and found is not None and recent and found[1] == window_hours:
            return found[0]
    contacts, customers = session.execute(
        _RATE,
        {"excluded": list(corroboration.EXCLUDED_CHANNELS), "since": now - LOOKBACK, "until": now},
    ).one()
    u = corroboration.chance_of_contact(
        contacts=int(contacts or 0),
        customers=int(customers or 0),
        hours=LOOKBACK.total_seconds() / 3600,
        window_hours=window_hours,
    )
    with _U_LOCK:
        _U[bind] = (u, window_hours, time.monotonic())
    return u


def corroborate(
    session: Session,
    pairs: Sequence[ScoredPair],
    *,
    now: datetime,
    options: SocialSettings | None = None,
    kept_u: bool = False,
) -> list[ScoredPair]:
    """The pairs with the activity term of their profile's posts and their candidate's
    contacts (``corroboration.corroborate``), m the retrained model's or the setting's
    (``EGARDS_SOCIAL_ACTIVITY_M``), u measured; as they were when the term is switched off
    (``EGARDS_SOCIAL_ACTIVITY_CORROBORATION``) or no pair's profile has a post. ``kept_u``: u
    as measured within the hour (``measured_u``), for arrivals."""
    options = options or SocialSettings()
    if not options.activity_corroboration or not pairs:
        return list(pairs)
    posts = posts_of(session, {int(pair.left_id) for pair in pairs})
    if not posts:
        return list(pairs)
    window = timedelta(hours=options.activity_window_hours)
    times = [at for found in posts.values() for at in found]
    contacts = contacts_of(
        session,
        {int(pair.right_id) for pair in pairs if pair.left_id in posts},
        since=min(times) - window,
        until=max(times),
    )
    return corroboration.corroborate(
        pairs,
        posts=posts,
        contacts=contacts,
        m=corroboration.m_of(current_m(session), options.activity_m),
        u=measured_u(session, now=now, window_hours=options.activity_window_hours, kept=kept_u),
        window=window,
    )
