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
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import HRFlowable, Paragraph, SimpleDocTemplate, Spacer

from egards import formats
from egards.subscriptions.domain import reason_label

PARIS = ZoneInfo("Europe/Paris")


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


_CHANNEL = {
    "fr": {
        "web": "notre site",
        "portal": "votre espace client",
        "phone": "téléphone",
        "shop": "en boutique",
        "letter": "courrier",
        "email": "e-mail",
    },
    "en": {
        "web": "our website",
        "portal": "your customer space",
        "phone": "phone",
        "shop": "in a shop",
        "letter": "post",
        "email": "e-mail",
    },
}


def subject(facts: AckFacts) -> str:
    if facts.language == "fr":
        return f"Accusé de réception de votre demande de résiliation {facts.number}"
    return f"Acknowledgement of your cancellation request {facts.number}"


def paragraphs(facts: AckFacts) -> list[str]:
    """The acknowledgement, paragraph by paragraph."""
    fr = facts.language == "fr"
    received = facts.received_at.astimezone(PARIS)
    when = format_day(received.date(), facts.language) + (
        f" à {received:%H:%M}" if fr else f" at {received:%H:%M}"
    )
    channel = _CHANNEL[facts.language].get(facts.channel, facts.channel)
    end = format_day(facts.end_date, facts.language)
    lines = f" ({', '.join(facts.line_numbers)})" if facts.line_numbers else ""
    out = [f"Bonjour {facts.customer_name}," if fr else f"Hello {facts.customer_name},"]
    if facts.already_ended:
        out.append(
            f"Nous avons bien reçu le {when} ({channel}) votre demande de résiliation du contrat"
            f" {facts.reference}. Ce contrat a déjà pris fin le {end} : il n'y a rien à faire"
            " de votre côté."
            if fr
            else f"We received your cancellation request for contract {facts.reference} on"
            f" {when} ({channel}). That contract already ended on {end}: there is nothing more"
            " for you to do."
        )
        return [*out, _closing(facts)]
    if facts.duplicate_of:
        out.append(
            f"Nous avons bien reçu le {when} ({channel}) une nouvelle demande de résiliation du"
            f" contrat {facts.reference}. Votre première demande, n° {facts.duplicate_of}, est"
            f" déjà enregistrée et reste valable : votre contrat prendra fin le {end}."
            if fr
            else f"We received another cancellation request for contract {facts.reference} on"
            f" {when} ({channel}). Your first request, number {facts.duplicate_of}, is already"
            f" registered and stands: your contract will end on {end}."
        )
        return [*out, _closing(facts)]
    out.append(
        f"Nous accusons réception de votre demande de résiliation du contrat {facts.reference}"
        f" ({facts.offer}{lines}), reçue le {when} ({channel}) et enregistrée sous le numéro"
        f" {facts.number}."
        if fr
        else f"We acknowledge receipt of your request to cancel contract {facts.reference}"
        f" ({facts.offer}{lines}), received on {when} ({channel}) and registered under number"
        f" {facts.number}."
    )
    date_text = (
        f"Votre contrat prendra fin le {end}." if fr else f"Your contract will end on {end}."
    )
    if facts.moved_to_earliest and facts.desired_end:
        asked = format_day(facts.desired_end, facts.language)
        date_text += (
            f" Vous aviez demandé le {asked} ; le préavis du contrat ne permet pas une fin"
            " avant cette date, que nous avons donc retenue."
            if fr
            else f" You asked for {asked}; the contract's notice period does not allow an end"
            " before that date, so we took it."
        )
    out.append(date_text)
    if facts.fee_waived:
        why = reason_label(facts.legitimate_reason, facts.language)
        out.append(
            f"Vous mettez fin au contrat avant la fin de votre engagement pour un motif légitime"
            f" ({why}) : aucun frais de résiliation ne vous sera facturé, sous réserve du"
            " justificatif."
            if fr
            else f"You end the contract before your commitment ends for a legitimate reason"
            f" ({why}): no early-termination fee is charged, subject to the proof."
        )
    elif facts.fee_cents:
        fee = format_money(facts.fee_cents, facts.language)
        out.append(
            f"La fin intervenant avant la fin de votre engagement, des frais de résiliation de"
            f" {fee} figureront sur votre dernière facture."
            if fr
            else f"As the contract ends before your commitment does, an early-termination fee"
            f" of {fee} will be on your last bill."
        )
    else:
        out.append(
            "Aucun frais de résiliation ne s'applique."
            if fr
            else "No early-termination fee applies."
        )
    effects = []
    if facts.equipment:
        effects.append(
            f"Matériel à restituer : {facts.equipment}, dans les 30 jours suivant la fin du"
            " contrat (un bon de retour gratuit vous est envoyé)."
            if fr
            else f"Equipment to return: {facts.equipment}, within 30 days of the end of the"
            " contract (a free return label is sent to you)."
        )
    bill = format_money(facts.last_bill_cents + facts.fee_cents, facts.language)
    effects.append(
        f"Dernière facture : les abonnements sont dus jusqu'au {end} inclus, soit environ"
        f" {bill} au total avec les frais éventuels ; elle vous sera adressée après cette date."
        if fr
        else f"Last bill: fees are due up to and including {end}, about {bill} in all with any"
        " fee; it will be sent to you after that date."
    )
    if facts.loyalty_tier or facts.loyalty_points:
        points = f"{facts.loyalty_points:,}".replace(",", " ") if facts.loyalty_points else "0"
        effects.append(
            f"Fidélité : vos {points} points restent utilisables jusqu'à leur date d'expiration"
            f" ; votre statut {facts.loyalty_tier or ''} est conservé jusqu'à la fin de sa"
            " période de qualification."
            if fr
            else f"Loyalty: your {points} points stay yours until they expire; your"
            f" {facts.loyalty_tier or ''} status is kept until the end of its qualifying"
            " period."
        )
    out.append(
        ("Effets de la résiliation :\n" if fr else "What the end means:\n")
        + "\n".join(f"- {e}" for e in effects)
    )
    if facts.reason:
        label = reason_label(facts.reason, facts.language)
        out.append(
            f"Motif indiqué : {label}. Merci de nous l'avoir dit ; il est transmis à l'équipe"
            " concernée."
            if fr
            else f"Reason given: {label}. Thank you for telling us; it is passed on to the team"
            " concerned."
        )
    out.append(
        "Si vous changez d'avis, répondez simplement à ce message avant la date de fin."
        if fr
        else "If you change your mind, just reply to this message before the end date."
    )
    return [*out, _closing(facts)]


def _closing(facts: AckFacts) -> str:
    if facts.language == "fr":
        return f"Bien cordialement,\nLe service client, {facts.company_name}"
    return f"Kind regards,\n{facts.company_name} customer service"


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
