"""Activity corroboration: a profile's post that follows a contact of the candidate customer.

Two namesakes ("Flo M.", handle ``flo_morel``, Paris, against two Florence Morel in Paris) tie
at every comparison the linker makes; what separates them in life is what they did: the
complaint tweeted hours after the e-mail. The rule: for a (profile, candidate customer) pair,
*the candidate contacted the company (a case's inbound message, not on a social network)
within ``window`` before one of the profile's posts*. As a Fellegi–Sunter term of its own,
independent of the names given the truth:

- present: the pair's match weight gains log2(m / u);
- absent: it gains log2((1 − m) / (1 − u)) (a little below zero);
- the profile has no post with a time: nothing is said (no term).

``u`` (how often a customer who is not the author has such a contact by chance) is measured on
the product's own cases (``chance_of_contact``); ``m`` (how often the author did contact the
company within the window before posting) is a setting, refit from the links reviewers
confirmed (``refit_m``), as the other comparisons' m are.

Pure: contacts and posts come in as plain values (``service.activity`` reads them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from egards.i18n import C_
from egards.messages import message, message_in
from egards.social.domain import CONTACT_BEFORE_POST, EVIDENCE_CODES, NO_CONTACT_BEFORE_POST
from egards.social.linking import PRIOR_WEIGHT, ScoredPair

COLUMN = "activity"
"""The name of the term in a pair's levels and in the stored evidence (``method``)."""
PRESENT, ABSENT = 1, 0
CHANNELS = {
    "email": C_("evidence", "e-mail"),
    "phone": C_("evidence", "phone"),
    "web_form": C_("evidence", "web form"),
    "shop": C_("evidence", "a visit to a shop"),
    "partner": C_("evidence", "a partner"),
    "letter": C_("evidence", "letter"),
    "portal": C_("evidence", "the customer portal"),
}
EXCLUDED_CHANNELS = ("social",)
"""A social case is the post itself (or another network's), not a contact that corroborates it."""
HOURS_PER_YEAR = 365 * 24


@dataclass(frozen=True)
class Contact:
    """A customer's contact with the company: when, and through which channel."""

    customer_id: str
    at: datetime
    channel: str


def contact_before(
    posts: Sequence[datetime], contacts: Iterable[Contact], *, window: timedelta
) -> tuple[Contact, datetime] | None:
    """The contact closest before one of ``posts`` and within ``window`` of it (the post
    comes after the contact: "the complaint tweeted after the e-mail"), with that post;
    ``None`` if there is none."""
    best: tuple[timedelta, Contact, datetime] | None = None
    for contact in contacts:
        for post in posts:
            gap = post - contact.at
            if timedelta(0) <= gap <= window and (best is None or gap < best[0]):
                best = (gap, contact, post)
    return None if best is None else (best[1], best[2])


def chance_of_contact(*, contacts: int, customers: int, hours: float, window_hours: float) -> float:
    """u: the share of customers with at least one contact in a window of ``window_hours``,
    from ``contacts`` counted among ``customers`` over ``hours`` (e.g. a year). Contacts are
    taken as a Poisson process of rate λ = contacts / (customers × hours) per customer, so
    u = 1 − exp(−λ × window). Half a contact is added to the count, so that a file with no
    contact yet gives a small u, not zero (a term of infinite weight). Contacts cluster (a
    case's several messages, one person's many cases), so the Poisson share is an upper
    bound of the share of customers with a contact: a u too high makes the term weaker, not
    stronger."""
    if customers <= 0 or hours <= 0:
        return 1.0
    rate = (contacts + 0.5) / (customers * hours)
    return min(1 - math.exp(-rate * window_hours), 1 - 1e-9)


def weights(m: float, u: float) -> tuple[float, float]:
    """The term's match weights (log2 Bayes factors): with a contact, without."""
    m = min(max(m, 1e-6), 1 - 1e-6)
    u = min(max(u, 1e-9), 1 - 1e-9)
    return math.log2(m / u), math.log2((1 - m) / (1 - u))


@dataclass(frozen=True)
class CorroboratedPair(ScoredPair):
    """A scored pair with the activity term added: its weight, its level (``levels``'
    ``activity``) and, for the reviewer, the contact that corroborates it."""

    contact: Contact | None = None
    post: datetime | None = None
    window_hours: float = 0.0

    def evidence(self) -> list[dict[str, Any]]:
        # The names' comparisons as the linker words them; the activity term in its own words.
        found = [piece for piece in super().evidence() if piece["method"] != COLUMN]
        level = self.levels.get(COLUMN, -1)
        if level >= 0:
            found.append(activity_evidence(self.contact, self.post, self.window_hours))
        return found


def activity_evidence(
    contact: Contact | None, post: datetime | None, window_hours: float
) -> dict[str, Any]:
    """The term as stored evidence, read in the reviewer's language: the contact and how long
    before the post it came, or that there was none in the window."""
    if contact is not None and post is not None:
        hours = max(round((post - contact.at).total_seconds() / 3600), 0)
        label = CHANNELS.get(contact.channel, C_("evidence", "another channel"))
        said = message(CONTACT_BEFORE_POST, channel=message_in("evidence", label), hours=hours)
        detail = f"contacted us by {label} {hours} h before this post"
        return {"method": COLUMN, "level": PRESENT, "detail": detail, "message": said,
                "reason_code": EVIDENCE_CODES[CONTACT_BEFORE_POST]}  # fmt: skip
    window = round(window_hours)
    said = message(NO_CONTACT_BEFORE_POST, window=window)
    detail = f"no contact in the {window} h before this profile's posts"
    return {"method": COLUMN, "level": ABSENT, "detail": detail, "message": said,
            "reason_code": EVIDENCE_CODES[NO_CONTACT_BEFORE_POST]}  # fmt: skip


def corroborate(
    pairs: Iterable[ScoredPair],
    *,
    posts: Mapping[str, Sequence[datetime]],
    contacts: Mapping[str, Sequence[Contact]],
    m: float,
    u: float,
    window: timedelta,
) -> list[ScoredPair]:
    """The pairs with the activity term added: ``posts`` by profile id, ``contacts`` by
    customer id. A profile without a timed post keeps its pairs as they were."""
    present, absent = weights(m, u)
    hours = window.total_seconds() / 3600
    found: list[ScoredPair] = []
    for pair in pairs:
        times = posts.get(pair.left_id)
        if not times:
            found.append(pair)
            continue
        hit = contact_before(times, contacts.get(pair.right_id, ()), window=window)
        weight = pair.match_weight + (present if hit else absent)
        found.append(
            CorroboratedPair(
                left_id=pair.left_id,
                right_id=pair.right_id,
                match_weight=weight,
                match_probability=_probability(weight),
                levels={**pair.levels, COLUMN: PRESENT if hit else ABSENT},
                contact=hit[0] if hit else None,
                post=hit[1] if hit else None,
                window_hours=hours,
            )
        )
    return found


def _probability(weight: float) -> float:
    bayes = 2.0 ** min(weight, 1000.0)
    return bayes / (1 + bayes)


def refit_m(levels: Iterable[int], *, prior: float, prior_weight: float = PRIOR_WEIGHT) -> float:
    """m learnt from the links a person confirmed: the share of them whose term was present
    (``levels``: 1 present, 0 absent, -1 not said), blended with the shipped ``prior`` as if it
    were ``prior_weight`` pairs, as ``linking.refit_m`` does for the other comparisons. The
    reviewed links are those the linker sent to a person, not a random sample of true links:
    the estimate leans towards the cases the names left open."""
    said = [level for level in levels if level in (PRESENT, ABSENT)]
    return round((sum(said) + prior_weight * prior) / (len(said) + prior_weight), 6)


def m_of(m_probabilities: Mapping[str, Sequence[float]] | None, default: float) -> float:
    """The term's m in force: the retrained model's (stored as ``[present, absent]``, the
    highest level first like the others) or the shipped setting."""
    stored = (m_probabilities or {}).get(COLUMN)
    return float(stored[0]) if stored else default
