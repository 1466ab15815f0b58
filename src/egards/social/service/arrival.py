"""Probabilistic linking of one profile as it arrives (the webhook's author, a row of an
imported export), after the deterministic rules and before a person: the issue's order.

Training the model (u by random sampling over the customers, their blocking keys sorted in
DuckDB) costs seconds to minutes, scoring one profile with it milliseconds, so the trained
``linking.Model`` is kept in the process, one per database connection pool (the session's
bind) and per retrained m (``retraining.current_model``). It is trained on first use: in
the request itself for a small file (up to ``TRAINED_IN_THE_REQUEST`` customers, a second or
two), in a thread of its own for a larger one (minutes at a million), the arrivals meanwhile
left to the nightly batch (``egards social link``) rather than held. It follows the customer
file:

- customers created since (their id above the highest the model holds) and customers given
  an e-mail or phone since (an identity id above the highest seen) join the model
  (``Model.add``), two primary-key lookups per arrival to know;
- customers edited since (their ``updated_at`` above the highest the model has seen: a new
  surname, city or first name gives new blocking keys) join it again under their new keys,
  looked for at every arrival: ``customers.updated_at`` is indexed (migration 0033), so the
  look-up is a range read (hundredths of a millisecond at a million customers on
  PostgreSQL, where a read of the whole column took 0.13 s without the index). The edited
  customer's former keys stay in the model: harmless, since they
  only name it as a candidate, scored on its current record;
- the model only names candidates: their current records are read from the customer file
  before scoring, active customers only, so an erased or merged customer is never linked or
  proposed from a kept model, and an edited name or city is scored as it is now;
- a file whose highest customer id went down (a database restored, emptied) trains it
  again.

What it misses: an edit whose transaction commits after a later-stamped edit was already
seen (the same holds for the ids), found at the next training.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from egards.customers.domain import IdentityKind
from egards.db import UTCDateTime
from egards.social import linking
from egards.social.domain import LinkStatus
from egards.social.models import SocialLink, SocialProfile
from egards.social.service import activity
from egards.social.service.links import refused_customers
from egards.social.service.probabilistic import apply_decision, customer_records, profile_record
from egards.social.service.retraining import current_model
from egards.social.settings import SocialSettings, link_thresholds

_COMPARED_IDENTITIES = (IdentityKind.EMAIL, IdentityKind.PHONE)


@dataclass
class KeptModel:
    model: linking.Model
    m_version: int | None
    """The retrained model it was made with (``None``: the shipped m)."""
    customers_upto: int
    """The highest customer id it holds."""
    identities_upto: int
    """The highest e-mail or phone identity id it has seen."""
    edited_upto: datetime | None
    """The latest edit (``customers.updated_at``) it has seen."""
    added_as: dict[int, datetime] = field(default_factory=dict)
    """The customers created since edits were last looked for, with the stamp of the record
    the model was given: not added again for that edit."""
    lock: threading.Lock = field(default_factory=threading.Lock)


TRAINED_IN_THE_REQUEST = 20_000
"""Up to this highest customer id the model is trained by the request that first needs it;
above, by a thread of its own (``_train_in_background``)."""

_KEPT: weakref.WeakKeyDictionary[Any, KeptModel] = weakref.WeakKeyDictionary()
_TRAINING = threading.Lock()
_BACKGROUND: weakref.WeakKeyDictionary[Any, threading.Thread] = weakref.WeakKeyDictionary()
_log = logging.getLogger(__name__)


def _highest(session: Session) -> tuple[int, int]:
    """The highest customer id, and the highest e-mail or phone identity id (the customer file
    is another feature's: read in SQL, as ``customer_records`` reads it)."""
    row = session.execute(
        text(
            "SELECT (SELECT max(id) FROM customers),"
            " (SELECT max(id) FROM identities WHERE kind IN :kinds)"
        ).bindparams(bindparam("kinds", expanding=True)),
        {"kinds": [str(kind) for kind in _COMPARED_IDENTITIES]},
    ).one()
    return row[0] or 0, row[1] or 0


def _stamps(session: Session, where: str, **params: Any) -> dict[int, datetime]:
    """When the customers ``where`` selects (SQL over ``customers``) were last edited."""
    query = text(f"SELECT id, updated_at FROM customers WHERE {where}").columns(
        id=BigInteger, updated_at=UTCDateTime
    )
    if "since" in params:
        query = query.bindparams(bindparam("since", type_=UTCDateTime))
    return {row.id: row.updated_at for row in session.execute(query, params)}


def _latest_edit(session: Session, upto: int) -> datetime | None:
    query = text("SELECT max(updated_at) AS latest FROM customers WHERE id <= :upto").columns(
        latest=UTCDateTime
    )
    return session.execute(query, {"upto": upto}).scalar()


def _trained(
    session: Session, upto: tuple[int, int], version: int | None, m: dict[str, Any] | None
) -> KeptModel | None:
    # Read before the records: an edit in between is only added once more, harmlessly.
    edited_upto = _latest_edit(session, upto[0])
    people = customer_records(session, "c.id <= :upto", upto=upto[0])
    if len(people) < 2:
        return None
    return KeptModel(linking.Model(people, m_probabilities=m), version, *upto, edited_upto)


def _follow_edits(session: Session, kept: KeptModel, *, customers_upto: int) -> None:
    """Add again to the model the customers edited since it last looked (a new name or city
    gives new blocking keys), but not those the ids brought in since as they are now."""
    if kept.edited_upto is None:
        edited = _stamps(session, "id <= :upto", upto=customers_upto)
    else:
        edited = _stamps(
            session,
            "id <= :upto AND updated_at > :since",
            upto=customers_upto,
            since=kept.edited_upto,
        )
    if edited:
        kept.edited_upto = max(edited.values())  # all after the former mark
    ids = [found for found, when in edited.items() if kept.added_as.get(found) != when]
    kept.added_as.clear()
    if ids:
        again = customer_records(session, "c.id IN :ids", ids=ids)
        with kept.lock:
            kept.model.add(again)


def _train_in_background(
    bind: Any, upto: tuple[int, int], version: int | None, m: dict[str, Any] | None
) -> None:
    """Train the model of ``bind``'s database in a thread with a connection of its own, and
    keep it once trained. Called under ``_TRAINING``."""
    engine = bind.engine if isinstance(bind, Connection) else bind

    def train() -> None:
        try:
            with Session(engine) as session:
                kept = _trained(session, upto, version, m)
            if kept is not None:
                with _TRAINING:
                    _KEPT[bind] = kept
        except Exception:  # a thread's failure has no caller: said in the log, tried again later
            _log.exception("training the social linking model failed")
        finally:
            with _TRAINING:
                _BACKGROUND.pop(bind, None)

    thread = threading.Thread(target=train, name="egards-social-model", daemon=True)
    _BACKGROUND[bind] = thread
    thread.start()


def kept_model(session: Session) -> KeptModel | None:
    """The trained model of the session's database, with the customers created, edited or
    given an e-mail or phone since it was trained added. Trained now if there is none (or the
    reviews retrained m since, or the file's highest ids went down) and the file is small; for
    a larger file, training starts in the background and this is ``None`` until it is done.
    ``None`` also with fewer than two active customers (nothing to learn chance agreement
    from)."""
    bind = session.get_bind()
    retrained = current_model(session)
    version = retrained.id if retrained is not None else None
    m = dict(retrained.m_probabilities) if retrained is not None else None
    customers_upto, identities_upto = _highest(session)
    with _TRAINING:
        kept = _KEPT.get(bind)
        if kept is not None and (kept.m_version != version or customers_upto < kept.customers_upto):
            del _KEPT[bind]
            kept = None
        if kept is None:
            if customers_upto > TRAINED_IN_THE_REQUEST:
                if bind not in _BACKGROUND:
                    _train_in_background(bind, (customers_upto, identities_upto), version, m)
                return None
            kept = _trained(session, (customers_upto, identities_upto), version, m)
            if kept is None:
                return None
            _KEPT[bind] = kept
        elif customers_upto > kept.customers_upto or identities_upto > kept.identities_upto:
            # Their stamps before their records: an edit in between is added again, once.
            kept.added_as.update(
                _stamps(
                    session,
                    "id > :above AND id <= :upto",
                    above=kept.customers_upto,
                    upto=customers_upto,
                )
            )
            added = customer_records(
                session,
                "(c.id > :customers AND c.id <= :upto) OR c.id IN (SELECT customer_id FROM"
                " identities WHERE id > :identities AND id <= :identities_upto"
                " AND kind IN ('email', 'phone'))",
                customers=kept.customers_upto,
                upto=customers_upto,
                identities=kept.identities_upto,
                identities_upto=identities_upto,
            )
            with kept.lock:
                kept.model.add(added)
        _follow_edits(session, kept, customers_upto=customers_upto)
        # An erasure removes the newest identities too: the mark follows them down.
        kept.customers_upto, kept.identities_upto = customers_upto, identities_upto
        return kept


def link_on_arrival(
    session: Session,
    *,
    profile: SocialProfile,
    now: datetime,
    options: SocialSettings | None = None,
) -> str:
    """Score a profile the deterministic rules left unlinked against the customer file with
    the kept model, and decide as the batch does (``linking.decide_best`` with the settings'
    thresholds, ``EGARDS_SOCIAL_LINK_*``): link it, propose it for review, or nothing (also
    for a linked profile or one already waiting for a person); never to a customer a person
    refused for this profile. Returns what was done."""
    waiting = session.scalar(
        select(func.count())
        .select_from(SocialLink)
        .where(SocialLink.profile_id == profile.id, SocialLink.status == LinkStatus.PROPOSED)
    )
    if profile.customer_id is not None or waiting:
        return "nothing"
    kept = kept_model(session)
    if kept is None:
        return "nothing"
    thresholds = link_thresholds(options)
    record = profile_record(profile)
    # A person's "no" stands: customers a reviewer rejected or an agent unlinked for this
    # profile are not proposed again at its next mention.
    # Left out before the ranking, they do not stand as a close runner-up either: the next
    # candidate is decided on its own merit, as in the batch.
    refused = refused_customers(session, profile_ids=[profile.id]).get(profile.id, set())
    with kept.lock:
        ids = [int(found) for found in kept.model.candidate_ids(record)]
        ids = [found for found in ids if found not in refused]
        among = customer_records(session, "c.id IN :ids", ids=ids) if ids else []
        pairs = kept.model.score_one(record, min_weight=thresholds.lower, among=among)
    pairs = activity.corroborate(session, pairs, now=now, options=options, kept_u=True)
    # In a fixed order, as the batch: the best of two equal weights is then the same.
    pairs.sort(key=lambda pair: pair.right_id)
    decision = thresholds.decide(pairs).get(str(profile.id))
    if decision is None:
        return "nothing"
    return apply_decision(session, profile=profile, decision=decision, now=now)
