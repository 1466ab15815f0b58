"""Pure rules of subscriptions: when a contract can end, what ending it costs, what happens to
a second request, which reason was given, what a proportionate retention offer is, and when
a former customer is worth a win-back contact.

French law (Code de la consommation L215-1-1, décret n° 2023-417, articles D215-1 to D215-3):
a consumer cancels online in three steps without an account; the company acknowledges on a
durable medium at once, stating the date the contract ends and the effects of the end. For
telecoms (L224-28), ending within the commitment costs at most a quarter of the fees still
due until its end; a legitimate reason (moving abroad, job loss, illness...) waives it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from egards.config import LOCALES
from egards.errors import N_, Conflict, InvalidInput, Word
from egards.formats import format_money, format_number, format_percentage
from egards.i18n import C_, translate, translate_context, translate_plural


class Status(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # paused at the customer's request: not billed, resumes on a date
    NOTICE_GIVEN = "notice_given"
    ENDED = "ended"
    WON_BACK = "won_back"


class RequestStatus(StrEnum):
    REGISTERED = "registered"  # the contract was found: notice given, acknowledgement sent
    DUPLICATE = "duplicate"  # a second request for a contract whose notice already runs
    ALREADY_ENDED = "already_ended"
    UNMATCHED = "unmatched"  # no contract of that reference and name: checked by a person
    WITHDRAWN = "withdrawn"  # the customer stayed


# Statuses as refusals name them: "a contract ended cannot be suspended".
_CONTRACT_STATUS_WORDS: dict[str, str] = {
    Status.ACTIVE: C_("contract", "active"),
    Status.SUSPENDED: C_("contract", "suspended"),
    Status.NOTICE_GIVEN: C_("contract", "under notice"),
    Status.ENDED: C_("contract", "ended"),
    Status.WON_BACK: C_("contract", "won back"),
}
_REQUEST_STATUS_WORDS: dict[str, str] = {
    RequestStatus.REGISTERED: C_("cancellation request", "registered"),
    RequestStatus.DUPLICATE: C_("cancellation request", "a duplicate"),
    RequestStatus.ALREADY_ENDED: C_("cancellation request", "about a contract already ended"),
    RequestStatus.UNMATCHED: C_("cancellation request", "unmatched"),
    RequestStatus.WITHDRAWN: C_("cancellation request", "withdrawn"),
}


def contract_status(status: str) -> Word:
    """A contract's status as a refusal names it: "ended" / "résilié"."""
    return Word(status, _CONTRACT_STATUS_WORDS.get(status, str(status)), "contract")


def request_status(status: str) -> Word:
    """A cancellation request's status as a refusal names it: "withdrawn" / "retirée"."""
    return Word(status, _REQUEST_STATUS_WORDS.get(status, str(status)), "cancellation request")


class Outcome(StrEnum):
    CANCELLED = "cancelled"
    STAYED_WITH_OFFER = "stayed_with_offer"
    STAYED_WITHOUT = "stayed_without"


SOLD_CHANNELS = ("shop", "web", "phone", "partner")
REQUEST_CHANNELS = ("web", "portal", "phone", "shop", "letter", "email")
# Each request channel as the cases feature names it.
CASE_CHANNEL = {
    "web": "web_form",
    "portal": "web_form",
    "phone": "phone",
    "shop": "shop",
    "letter": "letter",
    "email": "email",
}

# Cancellation reasons, English msgids in the subscriptions catalogue ("Price", "Other" are
# words other features translate otherwise, hence the context).
REASON_CONTEXT = "cancellation reason"
REASONS: dict[str, str] = {
    "price": C_("cancellation reason", "Price"),
    "quality_of_service": C_("cancellation reason", "Quality of service"),
    "outage": C_("cancellation reason", "Outage"),
    "moving": C_("cancellation reason", "Moving"),
    "competitor_offer": C_("cancellation reason", "Competitor offer"),
    "no_longer_needed": C_("cancellation reason", "No longer needed"),
    "customer_service": C_("cancellation reason", "Customer service"),
    "other": C_("cancellation reason", "Other"),
}

# Reasons that end a commitment early without a fee, once proved.
LEGITIMATE_REASONS: dict[str, str] = {
    "moving_abroad": N_("Moving abroad or where the service is not available"),
    "job_loss": N_("Loss of job"),
    "illness": N_("Long illness or disability"),
    "over_indebtedness": N_("Over-indebtedness"),
    "death": N_("Death of the holder"),
    "imprisonment": N_("Imprisonment"),
}


def reason_label(code: str | None, lang: str) -> str:
    """A reason code (ordinary or legitimate) in ``lang``; an unknown code as it is."""
    if not code:
        return ""
    if code in REASONS:
        return translate_context(lang, REASON_CONTEXT, REASONS[code])
    if code in LEGITIMATE_REASONS:
        return translate(lang, LEGITIMATE_REASONS[code])
    return code


def check_reason(reason: str | None) -> str | None:
    if reason in (None, ""):
        return None
    if reason not in REASONS:
        raise InvalidInput(
            N_("unknown reason {reason}"),
            field="reason",
            reason=repr(reason),
            known=", ".join(REASONS),
        )
    return reason


def check_legitimate_reason(reason: str | None) -> str | None:
    if reason in (None, ""):
        return None
    if reason not in LEGITIMATE_REASONS:
        raise InvalidInput(
            N_("unknown legitimate reason {reason}"),
            field="legitimate_reason",
            reason=repr(reason),
            known=", ".join(LEGITIMATE_REASONS),
        )
    return reason


# --------------------------------------------------------------------------------------
# Terms and the end date
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """What a contract says about its end."""

    start_date: date
    notice_days: int
    monthly_price_cents: int
    commitment_end: date | None = None
    early_fee_percent: int = 25  # share of the fees still due until the commitment's end


@dataclass(frozen=True)
class EndPlan:
    """When the contract ends and what that costs, as the page and the acknowledgement say."""

    end_date: date
    earliest_end: date
    moved_to_earliest: bool  # the date asked for was before the notice allows
    fee_cents: int
    fee_waived: bool  # a legitimate reason waives the early-termination fee
    within_commitment: bool


def check_terms(terms: Terms) -> Terms:
    if terms.notice_days < 0 or terms.notice_days > 365:
        raise InvalidInput(N_("the notice period is 0 to 365 days"), field="notice_days")
    if terms.monthly_price_cents < 0:
        raise InvalidInput(N_("a price is not negative"), field="price_cents")
    if terms.commitment_end is not None and terms.commitment_end < terms.start_date:
        raise InvalidInput(
            N_("the commitment ends before the contract starts"), field="commitment_end"
        )
    if not 0 <= terms.early_fee_percent <= 100:
        raise InvalidInput(
            N_("the early fee is 0 to 100 % of what remains"), field="early_fee_percent"
        )
    return terms


def earliest_end(terms: Terms, received_on: date) -> date:
    """The first day the contract may end: the notice runs from the day the request arrives
    (never before the contract started)."""
    return max(received_on, terms.start_date) + timedelta(days=terms.notice_days)


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end``, a month begun counting as one (0 when ``end`` is
    not after ``start``)."""
    if end <= start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day > start.day:
        months += 1
    return max(months, 1)


def early_fee_cents(terms: Terms, end_date: date) -> int:
    """A share of the monthly fees still due between the end date and the commitment's end,
    rounded half up to the cent."""
    if terms.commitment_end is None or end_date >= terms.commitment_end:
        return 0
    remaining = months_between(end_date, terms.commitment_end) * terms.monthly_price_cents
    return (remaining * terms.early_fee_percent + 50) // 100


def plan_end(
    terms: Terms,
    *,
    received_on: date,
    desired: date | None = None,
    legitimate_reason: str | None = None,
) -> EndPlan:
    """The end date and fee of a cancellation received on ``received_on``.

    A date before the notice allows becomes the earliest date (the page says so and takes
    it); no date means the earliest one. Within the commitment the fee applies unless a
    legitimate reason is given (its proof is then checked by a person).
    """
    earliest = earliest_end(terms, received_on)
    end = desired if desired is not None and desired >= earliest else earliest
    within = terms.commitment_end is not None and end < terms.commitment_end
    waived = within and check_legitimate_reason(legitimate_reason) is not None
    return EndPlan(
        end_date=end,
        earliest_end=earliest,
        moved_to_earliest=desired is not None and desired < earliest,
        fee_cents=0 if waived else early_fee_cents(terms, end),
        fee_waived=waived,
        within_commitment=within,
    )


@dataclass(frozen=True)
class Admission:
    """What a new request for a contract becomes, given the contract's state."""

    status: RequestStatus
    stands: bool  # the request gives notice now (else an earlier one stands, or none can)


def admit_request(subscription_status: str | None, *, has_open_request: bool) -> Admission:
    """A second request for the same contract does not start a second notice: the first one
    stands and the customer is told. A contract already ended cannot be cancelled again. No
    contract (or one whose holder was erased): a person checks it, nothing is revealed."""
    if subscription_status is None:
        return Admission(RequestStatus.UNMATCHED, False)
    if subscription_status == Status.ENDED:
        return Admission(RequestStatus.ALREADY_ENDED, False)
    if subscription_status == Status.NOTICE_GIVEN or has_open_request:
        return Admission(RequestStatus.DUPLICATE, False)
    return Admission(RequestStatus.REGISTERED, True)


_TRANSITIONS = {
    Status.ACTIVE: {Status.NOTICE_GIVEN, Status.ENDED, Status.SUSPENDED},
    Status.SUSPENDED: {Status.ACTIVE, Status.NOTICE_GIVEN, Status.ENDED},
    Status.NOTICE_GIVEN: {Status.ACTIVE, Status.ENDED},
    Status.ENDED: {Status.WON_BACK},
    Status.WON_BACK: {Status.NOTICE_GIVEN, Status.ENDED, Status.SUSPENDED},
}

SUSPENSION_MIN_DAYS = 7
SUSPENSION_MAX_DAYS = 183  # six months at most: longer, the customer is better off cancelling


@dataclass(frozen=True)
class Suspension:
    """A pause of a contract: from ``starts_on`` to ``resumes_on`` (the day billing starts
    again), ``days`` long; the commitment moves by as many days."""

    starts_on: date
    resumes_on: date
    days: int
    commitment_end: date | None


def plan_suspension(
    *, status: str, starts_on: date, resumes_on: date, commitment_end: date | None
) -> Suspension:
    """A running contract (active or won back) may be paused for 7 days to six months; it is
    not billed meanwhile, so the commitment (if any) ends that many days later. A contract
    under notice or ended cannot be paused; a paused one may still be cancelled."""
    if status not in (Status.ACTIVE, Status.WON_BACK):
        raise Conflict(
            N_("a contract {status} cannot be suspended"),
            field="status",
            status=contract_status(status),
        )
    days = (resumes_on - starts_on).days
    if days < SUSPENSION_MIN_DAYS or days > SUSPENSION_MAX_DAYS:
        raise InvalidInput(
            N_("a suspension lasts {minimum} to {maximum} days"),
            field="resumes_on",
            minimum=SUSPENSION_MIN_DAYS,
            maximum=SUSPENSION_MAX_DAYS,
        )
    return Suspension(
        starts_on=starts_on,
        resumes_on=resumes_on,
        days=days,
        commitment_end=commitment_end + timedelta(days=days) if commitment_end else None,
    )


def check_transition(current: str, target: str) -> None:
    if Status(target) not in _TRANSITIONS[Status(current)]:
        raise Conflict(
            N_("a contract {status} cannot become {target}"),
            field="status",
            status=contract_status(current),
            target=contract_status(target),
        )


# --------------------------------------------------------------------------------------
# Matching a request to a contract without revealing anything
# --------------------------------------------------------------------------------------


def normalise_reference(reference: str) -> str:
    """References as people type them: case, spaces and dashes do not matter."""
    return re.sub(r"[\s\-_.]", "", reference or "").upper()


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return " ".join(
        "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split()
    )


def name_matches(given: str, first_name: str, last_name: str) -> bool:
    """The name typed matches the holder's if it contains their last name (accents, case and
    spacing aside): "m. jean dupont", "DUPONT Jean" and "Dupont" all match Jean Dupont."""
    last = _plain(last_name)
    return bool(last) and last in _plain(given)


def normalise_line(number: str) -> str:
    digits = re.sub(r"[^\d+]", "", number or "")
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    return digits


_CANCEL_WORDS = re.compile(
    r"r[ée]silier|r[ée]siliation|mettre fin [àa] (mon|ce) (contrat|abonnement)"
    r"|cancel(l?ing|l?ation)? (my|the|our) (contract|subscription|plan|line)"
    r"|end (my|the) (contract|subscription)|terminate (my|the) (contract|subscription)",
    re.IGNORECASE,
)


_NOT_CANCELLING = re.compile(
    r"\b(ne|n')\s*(veux|voulons|souhaite|souhaitons|compte|comptons)\s+pas\s+r[ée]silier"
    r"|\b(don't|do not|won't|will not|not) (want to |going to )?cancel",
    re.IGNORECASE,
)


def looks_like_cancellation(text: str) -> bool:
    """A message that reads as a request to end a contract (the case page then offers to
    register it as one); "je ne veux pas résilier" does not."""
    text = text or ""
    return bool(_CANCEL_WORDS.search(text)) and not _NOT_CANCELLING.search(text)


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_.]{2,38}[A-Za-z0-9]")
_SPACED = re.compile(r"\b[A-Za-z]{1,6} \d[\d\-]{2,}\b")  # "FX 100200", as people type it
_LINE = re.compile(r"(?:\+33[\s.\-]?|\b0)[1-9](?:[\s.\-]?\d{2}){4}\b")
_REASON_WORDS = (
    ("moving", re.compile(r"d[ée]m[ée]nag|moving (house|abroad|out)|\bi(?:'m| am) moving", re.I)),
    ("outage", re.compile(r"\bpanne|coupure|outage|no (connection|signal)", re.I)),
    (
        "competitor_offer",
        re.compile(r"concurren|moins cher ailleurs|competitor|cheaper elsewhere", re.I),
    ),
    ("price", re.compile(r"trop cher|\bprix\b|augmentation|too expensive|\bprice", re.I)),
    ("customer_service", re.compile(r"service client|customer service", re.I)),
)


@dataclass(frozen=True)
class Recognised:
    """What a message asking to cancel names: contract references (as normalised), line
    numbers, and the reason it gives in words, if one of the taxonomy's."""

    references: tuple[str, ...]
    line_numbers: tuple[str, ...]
    reason: str | None


def recognise_cancellation(text: str) -> Recognised | None:
    """A message (an e-mail, a scanned letter's text) read as a cancellation request: None
    unless it asks to end a contract; otherwise what it names. A reference is any word of
    letters, digits and dashes holding at least three digits (``FX-100200``); a line is a
    French number."""
    if not looks_like_cancellation(text):
        return None
    lines = tuple(dict.fromkeys(normalise_line(m) for m in _LINE.findall(text)))
    line_digits = {re.sub(r"\D", "", line) for line in lines}
    references = tuple(
        dict.fromkeys(
            normalise_reference(token)
            for token in [*_SPACED.findall(text), *_TOKEN.findall(text)]
            if sum(c.isdigit() for c in token) >= 3 and re.sub(r"\D", "", token) not in line_digits
        )
    )
    reason = next((code for code, words in _REASON_WORDS if words.search(text)), None)
    return Recognised(references, lines, reason)


def named_contract(recognised: Recognised, contracts: list[tuple[str, list[str]]]) -> str | None:
    """The one contract (reference, line numbers) of the sender's that the message names: by
    its reference, else by a line number that only one of them has. None when it names none
    or several: a person decides."""
    by_reference = [
        reference
        for reference, _ in contracts
        if normalise_reference(reference) in recognised.references
    ]
    if by_reference:
        return by_reference[0] if len(by_reference) == 1 else None
    wanted = set(recognised.line_numbers)
    by_line = [
        reference
        for reference, lines in contracts
        if wanted & {normalise_line(line) for line in lines}
    ]
    return by_line[0] if len(by_line) == 1 else None


# --------------------------------------------------------------------------------------
# Retention: proportionate to value, never a step of the path
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """What a retention offer weighs about the customer leaving."""

    clv_12m_cents: int | None
    churn_risk: float | None  # 0..1 from the scores, None when unknown
    tenure_years: float
    monthly_price_cents: int
    reason: str | None


@dataclass(frozen=True)
class RetentionOffer:
    kind: str  # "discount", "credit_and_fix", "transfer", "cheaper_plan", "callback", "thanks"
    gesture_kind: str | None  # the recovery catalogue's kind it is drawn from, if any
    amount_cents: int
    value_band: str  # "high", "medium", "low"
    explanation: Mapping[str, str]  # in words, French and English

    @property
    def chases(self) -> bool:
        return self.kind != "thanks"


HIGH_VALUE_CENTS = 60_000
MEDIUM_VALUE_CENTS = 15_000
AT_RISK = 0.3


def value_band(standing: Standing) -> str:
    """Twelve-month value, or a year of fees when no score exists yet."""
    value = standing.clv_12m_cents
    if value is None:
        value = 12 * standing.monthly_price_cents
    if value >= HIGH_VALUE_CENTS:
        return "high"
    if value >= MEDIUM_VALUE_CENTS:
        return "medium"
    return "low"


_BANDS = {"high": N_("high value"), "medium": N_("medium value"), "low": N_("low value")}


def _in_every_language(text: str, **values: Any) -> dict[str, str]:
    """``text`` (a msgid) in each language we write, its money amounts (``*_cents``) and
    nested messages (callables of the language) written the reader's way."""
    return {
        lang: translate(
            lang,
            text,
            **{
                name: format_money(value, lang)
                if name.endswith("_cents")
                else value(lang)
                if callable(value)
                else value
                for name, value in values.items()
            },
        )
        for lang in LOCALES
    }


def retention_offer(standing: Standing) -> RetentionOffer:
    """A proportionate offer: sized by value band (a month of fees for medium value, two for
    high, plus 10 % per year of tenure up to 50 %), shaped by the stated reason (price or a
    competitor: a discount; an outage or poor quality: a credit and a fix; moving: a
    transfer, at no cost). A customer of low value and no known risk is thanked, not chased;
    a customer who no longer needs the service is never chased."""
    band = value_band(standing)
    reason = standing.reason or "other"
    risk = standing.churn_risk
    if reason == "no_longer_needed" or (band == "low" and (risk is None or risk < AT_RISK)):
        return RetentionOffer(
            "thanks",
            None,
            0,
            band,
            _in_every_language(
                N_("Thank them and let them go: the service is no longer needed.")
                if reason == "no_longer_needed"
                else N_(
                    "Thank them and let them go: low value and no sign of risk; an offer"
                    " would cost more than it keeps."
                )
            ),
        )
    months = {"high": 2, "medium": 1, "low": 0.5}[band]
    tenure_bonus = min(int(standing.tenure_years), 5) * 10  # percent
    base = int(standing.monthly_price_cents * months)
    amount = (base * (100 + tenure_bonus) + 50) // 100
    amount = max(amount, 500) if base else 0

    def facts(lang: str) -> str:
        years = standing.tenure_years
        parts = [
            translate(lang, _BANDS[band]),
            translate_plural(
                lang,
                "{count} year a customer",
                "{count} years a customer",
                int(years),
                count=format_number(years, lang),
            ),
        ]
        if risk is not None:
            parts.append(translate(lang, "churn risk {risk}", risk=format_percentage(risk, lang)))
        return ", ".join(parts)

    if reason == "moving":
        return RetentionOffer(
            "transfer",
            None,
            0,
            band,
            _in_every_language(
                N_("Offer to transfer the contract to the new address at no cost ({facts})."),
                facts=facts,
            ),
        )
    if reason in ("outage", "quality_of_service"):
        return RetentionOffer(
            "credit_and_fix",
            "credit",
            amount,
            band,
            _in_every_language(
                N_(
                    "A credit of {amount_cents} on the next bill and a fix booked with a"
                    " technician ({facts})."
                ),
                amount_cents=amount,
                facts=facts,
            ),
        )
    if reason in ("price", "competitor_offer"):
        return RetentionOffer(
            "discount",
            "credit",
            amount,
            band,
            _in_every_language(
                N_(
                    "A discount of {amount_cents} spread over the next bills, or a cheaper"
                    " plan ({facts})."
                ),
                amount_cents=amount,
                facts=facts,
            ),
        )
    if reason == "customer_service":
        return RetentionOffer(
            "callback",
            "credit",
            amount,
            band,
            _in_every_language(
                N_("A call back from a senior adviser and a credit of {amount_cents} ({facts})."),
                amount_cents=amount,
                facts=facts,
            ),
        )
    return RetentionOffer(
        "cheaper_plan",
        "credit",
        amount,
        band,
        _in_every_language(
            N_(
                "Ask what would keep them; a credit of up to {amount_cents} is proportionate"
                " ({facts})."
            ),
            amount_cents=amount,
            facts=facts,
        ),
    )


# --------------------------------------------------------------------------------------
# Churn observed, not guessed
# --------------------------------------------------------------------------------------

CANCELLING_RISK = 0.9  # every contract under notice: an offer may still keep them
PARTLY_CANCELLING_RISK = 0.6  # one contract under notice, another one stays
CANCELLED_RISK = 1.0  # every contract ended and none won back: the customer has left


@dataclass(frozen=True)
class ObservedChurn:
    """A churn risk the contracts show: a floor for the model's figure, and its reason code
    (``cancelling:2026-12-13`` or ``cancelled:2026-12-13``, the contract's end date)."""

    risk: float
    reason: str


def observed_churn(contracts: list[tuple[str, date | None]]) -> ObservedChurn | None:
    """What a customer's contracts (status, end date) say about them leaving: a subscriber
    who gave notice on every contract is leaving (0.9: a retention offer may still keep
    them), one who gave notice on one contract of several is at risk (0.6), one whose
    contracts all ended has left (1.0). Nothing is observed for a customer whose contracts
    run (active, suspended or won back): silence in the shop is not a cancellation."""
    if not contracts:
        return None
    statuses = [status for status, _ in contracts]
    ending = sorted(end for status, end in contracts if status == Status.NOTICE_GIVEN and end)
    ended = sorted(end for status, end in contracts if status == Status.ENDED and end)
    live = sum(status not in (Status.NOTICE_GIVEN, Status.ENDED) for status in statuses)
    if Status.NOTICE_GIVEN in statuses:
        day = ending[0].isoformat() if ending else ""
        risk = PARTLY_CANCELLING_RISK if live else CANCELLING_RISK
        return ObservedChurn(risk, f"cancelling:{day}")
    if not live:
        return ObservedChurn(CANCELLED_RISK, f"cancelled:{ended[-1].isoformat() if ended else ''}")
    return None


# --------------------------------------------------------------------------------------
# Win-back
# --------------------------------------------------------------------------------------


def winback_due(end_date: date, delay_days: int) -> date:
    return end_date + timedelta(days=delay_days)


def worth_winback(offer_kind: str | None, reason: str | None) -> bool:
    """A former customer is contacted again only if they were worth an offer when they left
    and did not leave because they no longer needed the service or moved away."""
    return offer_kind not in (None, "thanks") and reason not in ("no_longer_needed", "moving")


def winback_channel(*, email_consent: bool, has_email: bool) -> str:
    """An e-mail only with consent; otherwise an agent calls."""
    return "email" if email_consent and has_email else "call"


# --------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------


def save_rate(outcomes: list[str]) -> float | None:
    """Share of decided requests where the customer stayed."""
    decided = [o for o in outcomes if o in tuple(Outcome)]
    if not decided:
        return None
    stayed = sum(o != Outcome.CANCELLED for o in decided)
    return stayed / len(decided)


def median_seconds(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Decided:
    """A request whose outcome is known, as the save-rate comparison sees it."""

    offer_kind: str | None  # the offer proposed; None or "thanks" when nothing was
    reason: str | None
    value_band: str | None
    received_on: date
    stayed: bool


@dataclass(frozen=True)
class SaveComparison:
    """Save rate of the requests given an offer of one kind (or ``all``) against similar
    requests given nothing: ``control`` is the mean over matched requests of their matches'
    save rate."""

    kind: str
    decided: int
    matched: int
    saved: float | None  # over matched requests only, so the two figures compare
    control: float | None


SAVE_MATCHES = 5
SAVE_WINDOW_DAYS = 180


def _offered(request: Decided) -> bool:
    return request.offer_kind not in (None, "thanks")


def compare_saves(
    decided: list[Decided], *, k: int = SAVE_MATCHES, window_days: int = SAVE_WINDOW_DAYS
) -> list[SaveComparison]:
    """Each request given an offer is compared with up to ``k`` decided requests given
    nothing: same reason, same value band, received within ``window_days``, the nearest in
    time first (ties in input order). As the return on gestures does: a matched comparison,
    not a trial (the offer follows value and risk), read as an indication. One row per offer
    kind, then ``all``; requests without a match are counted in ``decided`` only."""
    controls: dict[tuple[str | None, str | None], list[Decided]] = {}
    for request in decided:
        if not _offered(request):
            controls.setdefault((request.reason, request.value_band), []).append(request)
    per_kind: dict[str, list[tuple[bool, float | None]]] = {}
    for request in decided:
        if not _offered(request):
            continue
        near = sorted(
            (
                (abs((c.received_on - request.received_on).days), n, c)
                for n, c in enumerate(controls.get((request.reason, request.value_band), []))
                if abs((c.received_on - request.received_on).days) <= window_days
            ),
            key=lambda item: (item[0], item[1]),
        )[:k]
        rate = sum(c.stayed for _, _, c in near) / len(near) if near else None
        for kind in (str(request.offer_kind), "all"):
            per_kind.setdefault(kind, []).append((request.stayed, rate))
    out = []
    for kind in [*sorted(k for k in per_kind if k != "all"), "all"]:
        rows = per_kind.get(kind, [])
        if not rows:
            continue
        matched = [(stayed, rate) for stayed, rate in rows if rate is not None]
        out.append(
            SaveComparison(
                kind=kind,
                decided=len(rows),
                matched=len(matched),
                saved=sum(s for s, _ in matched) / len(matched) if matched else None,
                control=sum(r for _, r in matched if r is not None) / len(matched)
                if matched
                else None,
            )
        )
    return out
