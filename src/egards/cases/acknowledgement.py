"""Acknowledgement messages: the case number and the promised answer time, in the
customer's language. The shipped default is one template (``templates/ack.txt``) whose
sentences are gettext messages (French in ``cases/translations``); a company overrides it per
language with an ``ack_<language>.txt`` file in its own folder (``EGARDS_ACK_TEMPLATES_DIR``):
an override, where there is one, wins for its language.

Rendering is pure: ``render_acknowledgement`` takes the template sources it is given.
Templates run in Jinja2's sandbox because supervisors may edit them. Dates are spelled out
by Babel (CLDR data shipped with it, not the system's locales), the promise with its zone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, Template
from jinja2.exceptions import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from egards.cases.domain import Channel, format_case_number, subject_tag
from egards.cases.errors import AcknowledgementTemplateError
from egards.config import LOCALES
from egards.formats import format_pattern
from egards.i18n import C_, N_, translate, translate_context, zone_label

DEFAULT_LANGUAGE = "fr"
FALLBACK_LANGUAGE = "en"
"""For a customer whose language we do not write: English is more widely read."""
SUBJECT_LENGTH = 300
"""The longest subject a case message stores (``case_messages.subject``)."""


CHANNEL_LABELS: Mapping[Channel, str] = {
    Channel.EMAIL: C_("channel", "e-mail"),
    Channel.WEB_FORM: C_("channel", "web form"),
    Channel.SOCIAL: C_("channel", "social media"),
    Channel.PHONE: C_("channel", "phone"),
    Channel.SHOP: C_("channel", "shop"),
    Channel.PARTNER: C_("channel", "partner"),
    Channel.LETTER: C_("channel", "letter"),
    Channel.PORTAL: C_("channel", "customer portal"),
}
"""How a letter names the channel a case came by (English; the catalogue has the rest)."""


def channel_label(channel: Channel, language: str) -> str:
    """``formulaire web`` / ``web form``: the channel in the letter's language."""
    return translate_context(language, "channel", CHANNEL_LABELS[channel])


def format_long_date(moment: datetime, language: str) -> str:
    """``mardi 24 novembre à 11 h 00`` / ``Tuesday 24 November at 11:00``, in ``moment``'s
    own zone: a CLDR pattern from the catalogue (each language writes the hour its own way),
    day and month names from Babel; French writes the first of the month ``1er``."""
    # Translators: a Babel (CLDR) date pattern, not a sentence: EEEE day name,
    # d day, MMMM month name, HH hour (H: no leading zero), mm minutes;
    # words go between 'single quotes'. French: EEEE d MMMM 'à' H 'h' mm
    pattern = translate(language, "EEEE d MMMM 'at' HH:mm")
    return format_pattern(moment, pattern, language)


def resolve_language(language: str | None, available: Collection[str]) -> str:
    """``fr-FR``, ``fr_CA`` or ``FR`` read as ``fr``; no language means the house default,
    an unknown one the fallback."""
    if not language:
        return DEFAULT_LANGUAGE
    primary = language.replace("_", "-").split("-", 1)[0].strip().casefold()
    return primary if primary in available else FALLBACK_LANGUAGE


@dataclass(frozen=True)
class Acknowledgement:
    language: str
    subject: str
    body: str


@dataclass(frozen=True)
class AcknowledgementTemplates:
    """Template sources by language (a company's overrides), and the default for every other
    language we write, compiled once."""

    sources: Mapping[str, str]
    default: str | None = None
    _compiled: dict[str, Template] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def languages(self) -> frozenset[str]:
        """The languages an acknowledgement can be written in."""
        return frozenset(self.sources) | (frozenset(LOCALES) if self.default else frozenset())

    def __post_init__(self) -> None:
        environment = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
        )
        environment.filters["date_long"] = format_long_date
        defaults = dict.fromkeys(LOCALES, self.default) if self.default else {}
        for language, source in {**defaults, **self.sources}.items():
            try:
                self._compiled[language] = environment.from_string(source)
            except TemplateError as exc:
                raise AcknowledgementTemplateError(
                    N_("acknowledgement template {language!r} does not compile: {exc}"),
                    exc=exc,
                    language=language,
                ) from None
        for language in (DEFAULT_LANGUAGE, FALLBACK_LANGUAGE):
            if language not in self._compiled:
                raise AcknowledgementTemplateError(
                    N_("an acknowledgement template is needed for {language!r}"), language=language
                )

    def template(self, language: str) -> Template:
        return self._compiled[language]


def render_acknowledgement(
    *,
    templates: AcknowledgementTemplates,
    language: str | None,
    case_sequence: int,
    channel: Channel,
    first_response_due: datetime | None,
    customer_time_zone: str,
    customer_name: str | None = None,
    original_subject: str | None = None,
) -> Acknowledgement:
    """Subject and body of the acknowledgement of a new case.

    ``first_response_due`` is the UTC deadline of the first-response promise (``None``
    when the policy makes none); the text shows it in ``customer_time_zone``.
    """
    chosen = resolve_language(language, templates.languages)
    deadline = (
        first_response_due.astimezone(ZoneInfo(customer_time_zone))
        if first_response_due is not None
        else None
    )
    zone = zone_label(chosen, ZoneInfo(customer_time_zone))
    context: dict[str, Any] = {
        "language": chosen,
        "case_number": format_case_number(case_sequence),
        "subject_tag": subject_tag(case_sequence),
        "channel": channel.value,
        "channel_label": channel_label(channel, chosen),
        "customer_name": customer_name,
        "original_subject": " ".join(original_subject.split()) if original_subject else None,
        "deadline": deadline,
        "deadline_text": (f"{format_long_date(deadline, chosen)} {zone}" if deadline else None),
        "time_zone": customer_time_zone,
        "_": lambda text, **values: translate(chosen, text, **values),
    }
    text = templates.template(chosen).render(context)
    return _split_subject(text, language=chosen)


def _split_subject(text: str, *, language: str) -> Acknowledgement:
    first_line, _, rest = text.lstrip("\n").partition("\n")
    if not first_line.startswith("Subject:"):
        raise AcknowledgementTemplateError(
            N_("acknowledgement template {language!r} must start with a 'Subject:' line"),
            language=language,
        )
    body = "\n".join(line.rstrip() for line in rest.strip("\n").splitlines())
    while "\n\n\n" in body:
        body = body.replace("\n\n\n", "\n\n")
    subject = first_line.removeprefix("Subject:").strip()
    if len(subject) > SUBJECT_LENGTH:  # a long original subject; the stored copy must fit
        subject = subject[: SUBJECT_LENGTH - 1] + "…"
    return Acknowledgement(
        language=language,
        subject=subject,
        body=body + "\n",
    )


def load_acknowledgement_templates(overrides: Path | None = None) -> AcknowledgementTemplates:
    """The packaged template (``templates/ack.txt``, translated through the catalogues) and
    each ``ack_<language>.txt`` of ``overrides``, a company's folder, which wins for its
    language."""
    default = (resources.files("egards.cases") / "templates" / "ack.txt").read_text("utf-8")
    if overrides is None:
        return AcknowledgementTemplates({}, default)
    if not overrides.is_dir():
        raise AcknowledgementTemplateError(
            N_("the acknowledgement templates folder {folder} does not exist"),
            field="EGARDS_ACK_TEMPLATES_DIR",
            folder=str(overrides),
        )
    sources = {
        path.name.removeprefix("ack_").removesuffix(".txt"): path.read_text("utf-8")
        for path in sorted(overrides.glob("ack_*.txt"))
        if path.is_file()
    }
    return AcknowledgementTemplates(sources, default)
