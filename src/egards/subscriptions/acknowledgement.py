"""The acknowledgement of a cancellation on a durable medium: its text (the e-mail's body, the
confirmation page, the proof kept with the request) and its PDF, in the customer's language.

It states receipt (when, by which channel, under which number), the date the contract ends
(and that the date asked for was moved to the earliest the notice allows, if it was), the
early-termination fee or why there is none, and the effects of the end: equipment to return,
the last bill, and what happens to loyalty points and status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import HRFlowable, Paragraph, SimpleDocTemplate, Spacer

from egards import formats
from egards.i18n import C_, format_datetime, translate, translate_context, translate_plural
from egards.subscriptions.domain import reason_label


def format_day(day: date, lang: str) -> str:
    """``13 décembre 2026`` / ``13 December 2026`` (Babel, through :mod:`egards.formats`)."""
    return formats.format_day(day, lang)


def format_money(cents: int, lang: str) -> str:
    """``39,99 €`` / ``€39.99`` (Babel, through :mod:`egards.formats`)."""
    return formats.format_money(cents, lang)


@dataclass(frozen=True)
class AckFacts:
    language: str
    company_name: str
    number: str
    customer_name: str
    channel: str
    received_at: datetime
    reference: str
    offer: str
    line_numbers: tuple[str, ...]
    end_date: date
    desired_end: date | None
    moved_to_earliest: bool
    fee_cents: int
    fee_waived: bool
    legitimate_reason: str | None
    equipment: str | None
    last_bill_cents: int
    reason: str | None
    loyalty_tier: str | None = None
    loyalty_points: int | None = None
    duplicate_of: str | None = None  # a second request: the first one's number
    already_ended: bool = False


# How the request reached us, as the letter says it ("received ... (our website)"), in the
# context ``received by``: bare words such as "web" or "post" mean other things elsewhere.
_CHANNEL = {
    "web": C_("received by", "our website"),
    "portal": C_("received by", "your customer space"),
    "phone": C_("received by", "phone"),
    "shop": C_("received by", "in a shop"),
    "letter": C_("received by", "post"),
    "email": C_("received by", "e-mail"),
}


def _channel(facts: AckFacts) -> str:
    word = _CHANNEL.get(facts.channel)
    return translate_context(facts.language, "received by", word) if word else facts.channel


def subject(facts: AckFacts) -> str:
    return translate(
        facts.language,
        "Acknowledgement of your cancellation request {number}",
        number=facts.number,
    )


def paragraphs(facts: AckFacts) -> list[str]:
    """The acknowledgement, paragraph by paragraph: sentences from the subscriptions
    catalogue, dates and amounts written by Babel in the reader's language, the time of
    receipt in the business zone."""
    lang = facts.language
    when = format_datetime(facts.received_at, lang)
    channel = _channel(facts)
    end = format_day(facts.end_date, lang)
    out = [translate(lang, "Hello {name},", name=facts.customer_name)]
    if facts.already_ended:
        out.append(
            translate(
                lang,
                "We received your cancellation request for contract {reference} on {when}"
                " ({channel}). That contract already ended on {end}: there is nothing more"
                " for you to do.",
                reference=facts.reference,
                when=when,
                channel=channel,
                end=end,
            )
        )
        return [*out, _closing(facts)]
    if facts.duplicate_of:
        out.append(
            translate(
                lang,
                "We received another cancellation request for contract {reference} on {when}"
                " ({channel}). Your first request, number {first}, is already registered and"
                " stands: your contract will end on {end}.",
                reference=facts.reference,
                when=when,
                channel=channel,
                first=facts.duplicate_of,
                end=end,
            )
        )
        return [*out, _closing(facts)]
    offer = (
        f"{facts.offer} ({', '.join(facts.line_numbers)})" if facts.line_numbers else facts.offer
    )
    out.append(
        translate(
            lang,
            "We acknowledge receipt of your request to cancel contract {reference} ({offer}),"
            " received on {when} ({channel}) and registered under number {number}.",
            reference=facts.reference,
            offer=offer,
            when=when,
            channel=channel,
            number=facts.number,
        )
    )
    date_text = translate(lang, "Your contract will end on {end}.", end=end)
    if facts.moved_to_earliest and facts.desired_end:
        date_text += " " + translate(
            lang,
            "You asked for {asked}; the contract's notice period does not allow an end before"
            " that date, so we took it.",
            asked=format_day(facts.desired_end, lang),
        )
    out.append(date_text)
    if facts.fee_waived:
        out.append(
            translate(
                lang,
                "You end the contract before your commitment ends for a legitimate reason"
                " ({why}): no early-termination fee is charged, subject to the proof.",
                why=reason_label(facts.legitimate_reason, lang),
            )
        )
    elif facts.fee_cents:
        out.append(
            translate(
                lang,
                "As the contract ends before your commitment does, an early-termination fee of"
                " {fee} will be on your last bill.",
                fee=format_money(facts.fee_cents, lang),
            )
        )
    else:
        out.append(translate(lang, "No early-termination fee applies."))
    effects = []
    if facts.equipment:
        effects.append(
            translate(
                lang,
                "Equipment to return: {equipment}, within 30 days of the end of the contract"
                " (a free return label is sent to you).",
                equipment=facts.equipment,
            )
        )
    effects.append(
        translate(
            lang,
            "Last bill: fees are due up to and including {end}, about {bill} in all with any"
            " fee; it will be sent to you after that date.",
            end=end,
            bill=format_money(facts.last_bill_cents + facts.fee_cents, lang),
        )
    )
    if facts.loyalty_tier or facts.loyalty_points:
        effects.append(
            translate_plural(
                lang,
                "Loyalty: your {count} point stays yours until it expires; your {tier} status"
                " is kept until the end of its qualifying period.",
                "Loyalty: your {count} points stay yours until they expire; your {tier} status"
                " is kept until the end of its qualifying period.",
                facts.loyalty_points or 0,
                tier=facts.loyalty_tier or "",
            )
        )
    out.append(translate(lang, "What the end means:") + "\n" + "\n".join(f"- {e}" for e in effects))
    if facts.reason:
        out.append(
            translate(
                lang,
                "Reason given: {reason}. Thank you for telling us; it is passed on to the team"
                " concerned.",
                reason=reason_label(facts.reason, lang),
            )
        )
    out.append(
        translate(lang, "If you change your mind, just reply to this message before the end date.")
    )
    return [*out, _closing(facts)]


def _closing(facts: AckFacts) -> str:
    return translate(
        facts.language,
        "Kind regards,\n{company} customer service",
        company=facts.company_name,
    )


def text(facts: AckFacts) -> str:
    return "\n\n".join(paragraphs(facts))


_STYLES = {
    "head": ParagraphStyle("head", fontName="Helvetica-Bold", fontSize=14, leading=18),
    "subject": ParagraphStyle(
        "subject", fontName="Helvetica-Bold", fontSize=11, leading=14, spaceAfter=12
    ),
    "body": ParagraphStyle("body", fontName="Helvetica", fontSize=10.5, leading=14, spaceAfter=8),
}


def _markup(value: str) -> str:
    # The standard fonts' encoding covers French; other characters become "?".
    safe = value.replace("\u202f", " ").encode("cp1252", "replace").decode("cp1252")
    return escape(safe).replace("\n", "<br/>")


def render_pdf(facts: AckFacts) -> bytes:
    """The acknowledgement as an A4 PDF; the same facts give the same bytes."""
    story = [
        Paragraph(_markup(facts.company_name), _STYLES["head"]),
        HRFlowable(width="100%", thickness=0.6, spaceAfter=18),
        Paragraph(_markup(subject(facts)), _STYLES["subject"]),
        Spacer(0, 6),
        *(Paragraph(_markup(p), _STYLES["body"]) for p in paragraphs(facts)),
    ]
    output = BytesIO()
    SimpleDocTemplate(
        output,
        pagesize=A4,
        leftMargin=2.5 * cm,
        rightMargin=2.5 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        title=subject(facts),
        author=facts.company_name,
        lang=facts.language,
        invariant=1,
    ).build(story)
    return output.getvalue()
