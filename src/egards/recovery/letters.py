"""Personal letters of apology: editable templates filled with the facts of a case, then set
as an A4 PDF signed by the agent (seed 001: "un mot personnel signé de la main de Rachel").

Everything here is pure: templates and facts in, text or PDF bytes out. Templates run in
Jinja2's sandbox because administrators edit them; a template may only name the facts below.
Dates are spelled out here rather than through system locales, which servers rarely have.
The PDF uses reportlab's standard Type-1 fonts, whose WinAnsi encoding covers French
(é, œ, €, « », ’ and the non-breaking space), and is byte-for-byte reproducible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

import yaml
from jinja2 import StrictUndefined, Template, meta, nodes
from jinja2.exceptions import TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import (
    HRFlowable,
    Image,
    Indenter,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)

from egards.errors import InvalidInput
from egards.formats import format_day
from egards.i18n import C_, N_, translate, translate_context

LANGUAGES = ("fr", "en")
MAX_SUBJECT_CHARS = 300
MAX_BODY_CHARS = 50_000
"""About fifteen pages: far beyond any letter, short of what a runaway template loop makes."""


@dataclass(frozen=True)
class LetterTemplate:
    code: str
    language: str
    name: str
    subject: str
    body: str


@dataclass(frozen=True)
class LetterFacts:
    """What a letter may say about the customer, the case and the agent who signs it."""

    customer_name: str
    language: str
    case_reference: str | None
    case_subject: str | None
    case_opened_on: date | None
    broken_promises: int = 0
    tier_name: str | None = None
    gesture_text: str | None = None
    agent_name: str = ""
    agent_title: str = ""
    company_name: str = "Égards"
    place: str = "Paris"
    written_on: date = date(2026, 1, 1)
    signature_png: bytes | None = None
    customer_address: str | None = None
    """Lines under the customer's name in the address block, for letters sent by post."""


TEMPLATE_VARIABLES: tuple[str, ...] = tuple(
    field.name for field in fields(LetterFacts) if field.name != "signature_png"
)
"""The names a template may use: every fact but the signature image. Dates arrive spelled
out in the letter's language ("23 novembre 2026")."""

_SAMPLE_FACTS = {
    language: LetterFacts(
        customer_name="Jean Dupont",
        language=language,
        case_reference="C-001234",
        case_subject="Vol Paris-Delhi",
        case_opened_on=date(2026, 3, 2),
        broken_promises=2,
        tier_name="Gold",
        gesture_text="5\u00a0000 miles",
        agent_name="Rachel Martin",
        agent_title=translate(language, N_("Customer adviser")),
        written_on=date(2026, 3, 20),
        customer_address="12 rue des Lilas\n75011 Paris",
    )
    for language in LANGUAGES
}


def format_letter_date(day: date, language: str) -> str:
    """``23 novembre 2026`` / ``23 November 2026`` (Babel); French writes the first ``1er``."""
    return format_day(day, language)


# --- templates ----------------------------------------------------------------------------


def default_templates() -> list[LetterTemplate]:
    """The packaged templates (``letter_templates.yaml``), one per code and language; they
    seed a new database, where administrators edit them."""
    return list(_packaged_templates())


@cache
def _packaged_templates() -> tuple[LetterTemplate, ...]:
    text = (resources.files("egards.recovery") / "letter_templates.yaml").read_text("utf-8")
    return tuple(
        LetterTemplate(
            code=entry["code"],
            language=language,
            name=entry[language]["name"],
            subject=entry[language]["subject"].strip(),
            body=entry[language]["body"].strip("\n") + "\n",
        )
        for entry in yaml.safe_load(text)["templates"]
        for language in LANGUAGES
        if language in entry
    )


@cache
def _environment() -> SandboxedEnvironment:
    # No trim_blocks: an "{% endif %}" at the end of a line must not swallow the line break
    # an administrator sees. Blank lines left by block tags are collapsed after rendering.
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def validate_template(subject: str, body: str) -> None:
    """Refuse a template that does not compile, names something other than the facts, or
    fails when filled with sample facts, with the field (``subject`` or ``body``) and line."""
    if not body.strip():
        raise InvalidInput(N_("a letter needs a body"), field="body")
    compiled = {"subject": _compile(subject, "subject"), "body": _compile(body, "body")}
    for facts in _SAMPLE_FACTS.values():
        for name, template in compiled.items():
            _fill(template, _context(facts), name)


def _compile(source: str, name: str) -> Template:
    environment = _environment()
    try:
        tree = environment.parse(source)
    except TemplateSyntaxError as exc:
        raise InvalidInput(
            N_("line {lineno}: {message_text}"),
            lineno=exc.lineno,
            message_text=exc.message,
            field=name,
            line=exc.lineno,
        )
    # The sandbox refuses these when they run; saying so now also covers the branches the
    # sample facts do not reach, and names the line.
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(key, str) and key.startswith("_"):
            raise InvalidInput(
                N_("line {lineno}: {key!r} is not available in a letter"),
                lineno=node.lineno,
                key=key,
                field=name,
                line=node.lineno,
            )
    unknown = meta.find_undeclared_variables(tree) - set(TEMPLATE_VARIABLES)
    unknown -= set(environment.globals)
    if unknown:
        first = min(
            (
                (node.lineno, node.name)
                for node in tree.find_all(nodes.Name)
                if node.ctx == "load" and node.name in unknown
            ),
            default=(1, min(unknown)),
        )
        raise InvalidInput(
            N_("line {line}: unknown variable {variable!r}; the letter knows {known}"),
            known=", ".join(TEMPLATE_VARIABLES),
            field=name,
            line=first[0],
            variable=first[1],
        )
    return environment.from_string(source)


def _context(facts: LetterFacts) -> dict[str, Any]:
    context = {name: getattr(facts, name) for name in TEMPLATE_VARIABLES}
    for name in ("case_opened_on", "written_on"):
        if context[name] is not None:
            context[name] = format_letter_date(context[name], facts.language)
    return context


def _fill(template: Template, context: dict[str, Any], name: str) -> str:
    limit = MAX_SUBJECT_CHARS if name == "subject" else MAX_BODY_CHARS
    parts: list[str] = []
    size = 0
    try:
        for part in template.generate(context):
            size += len(part)
            # Twice the limit: the blank lines that block tags leave are collapsed later.
            if size > 2 * limit:
                raise InvalidInput(
                    N_("the {name} runs beyond {limit} characters"),
                    name=name,
                    limit=limit,
                    field=name,
                )
            parts.append(part)
    except InvalidInput:
        raise
    except Exception as exc:
        # The template is an administrator's code: whatever it raises is a fault of the
        # template, reported where they can fix it.
        line = _template_line(exc)
        where = f"line {line}: " if line else ""
        message = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
        raise InvalidInput(
            N_("{where}{message_text}"), where=where, message_text=message, field=name, line=line
        )
    return "".join(parts)


def _template_line(exc: BaseException) -> int | None:
    """The template line of a rendering error: Jinja rewrites tracebacks so that frames of
    compiled templates carry the source file ``<template>`` and its line numbers."""
    line, trace = None, exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def draft(template: LetterTemplate, facts: LetterFacts) -> tuple[str, str]:
    """Subject and body of ``template`` filled with ``facts``, for the agent to edit.

    The template must be in the letter's language: the date line, the subject label and the
    words around the facts must agree."""
    _check_language(facts)
    if template.language != facts.language:
        raise InvalidInput(
            N_("the template {template_code!r} is in {language!r}, the letter in {language2!r}"),
            template_code=template.code,
            language=template.language,
            language2=facts.language,
            field="language",
        )
    context = _context(facts)
    subject = _fill(_compile(template.subject, "subject"), context, "subject")
    body = _fill(_compile(template.body, "body"), context, "body")
    subject = _one_line(subject)
    body = _tidy_body(body)
    if len(subject) > MAX_SUBJECT_CHARS:
        raise InvalidInput(
            N_("the subject runs beyond {max_subject_chars} characters"),
            max_subject_chars=MAX_SUBJECT_CHARS,
            field="subject",
        )
    if len(body) > MAX_BODY_CHARS:
        raise InvalidInput(
            N_("the body runs beyond {max_body_chars} characters"),
            max_body_chars=MAX_BODY_CHARS,
            field="body",
        )
    return subject, body


def _check_language(facts: LetterFacts) -> None:
    if facts.language not in LANGUAGES:
        raise InvalidInput(
            N_("letters are written in {languages}"),
            languages=" or ".join(LANGUAGES),
            field="language",
        )


# Ordinary whitespace only: str.split() would also break on the non-breaking spaces that
# French puts before "?" or inside « ».
_RUNS_OF_SPACE = re.compile(r"[ \t\r\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _one_line(text: str) -> str:
    return _RUNS_OF_SPACE.sub(" ", text).strip()


def _tidy_body(text: str) -> str:
    lines = [line.rstrip(" \t") for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


# --- PDF ----------------------------------------------------------------------------------

# Characters an agent's keyboard may produce that WinAnsi lacks, and their nearest kin in
# it; without this the standard fonts would print a black box.
_TO_WINANSI = str.maketrans(
    {
        "\u202f": "\u00a0",  # narrow no-break space (French before ; ! ?)
        "\u2007": "\u00a0",  # figure space
        "\u2009": " ",  # thin space
        "\u200a": " ",  # hair space
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u200b": "",  # zero-width space
        "\ufeff": "",  # byte-order mark pasted from another document
    }
)
_SIGNATURE_WIDTH = 4 * cm
_SIGNATURE_MAX_HEIGHT = 2.5 * cm
_SIGNATURE_MAX_PIXELS = 4000
_COLUMN = 9 * cm
"""Where the address block, the date and the signature start: the right half of the page,
in line with the window of a DL envelope."""

_BODY = ParagraphStyle(
    "letter-body", fontName="Times-Roman", fontSize=11.5, leading=15.5, spaceAfter=9
)
_STYLES = {
    "letterhead": ParagraphStyle(
        "letterhead", fontName="Times-Bold", fontSize=20, leading=24, spaceAfter=4
    ),
    "address": ParagraphStyle("address", parent=_BODY, leftIndent=_COLUMN, spaceAfter=0),
    "date": ParagraphStyle("date", parent=_BODY, leftIndent=_COLUMN, spaceBefore=24),
    "reference": ParagraphStyle("reference", parent=_BODY, fontSize=10, spaceBefore=12),
    "subject": ParagraphStyle("subject", parent=_BODY, fontName="Times-Bold", spaceAfter=18),
    "body": _BODY,
    "handwriting": ParagraphStyle("handwriting", fontName="Times-Italic", fontSize=20, leading=26),
    "signer": ParagraphStyle("signer", parent=_BODY, spaceAfter=0),
}


def check_signature(png: bytes) -> None:
    """Refuse bytes that are not an image reportlab can draw, or an image so large that
    decoding it would be a burden (a signature needs a few hundred pixels)."""
    _signature_image(png)


def _signature_image(png: bytes) -> Image:
    try:
        reader = ImageReader(BytesIO(png))
        width, height = reader.getSize()
        # Decoding now, not while the PDF is being built, catches a truncated file here.
        if max(width, height) <= _SIGNATURE_MAX_PIXELS:
            reader.getRGBData()
    except Exception:
        raise InvalidInput(N_("the signature must be a PNG or JPEG image"), field="signature")
    if max(width, height) > _SIGNATURE_MAX_PIXELS or min(width, height) < 1:
        raise InvalidInput(
            N_("the signature image may have at most {max_pixels} pixels a side"),
            max_pixels=_SIGNATURE_MAX_PIXELS,
            field="signature",
        )
    scale = min(_SIGNATURE_WIDTH / width, _SIGNATURE_MAX_HEIGHT / height)
    image = Image(BytesIO(png), width=width * scale, height=height * scale, mask="auto")
    image.hAlign = "LEFT"
    return image


def _markup(text: str) -> str:
    """Plain text as reportlab's mini-markup: an agent's "<", "&" or "<b>" stays literal."""
    return escape(text.translate(_TO_WINANSI)).replace("\n", "<br/>")


def render_pdf(*, subject: str, body: str, facts: LetterFacts) -> bytes:
    """The letter as an A4 PDF: letterhead, address block, place and date, reference,
    subject, the body (a blank line starts a paragraph, a single line break stays one),
    then the signature image or the agent's name in italics, their name and title.

    The same inputs give the same bytes (reportlab's invariant mode)."""
    _check_language(facts)
    body = _tidy_body(body)
    if not body:
        raise InvalidInput(N_("the letter has no text"), field="body")
    if len(body) > MAX_BODY_CHARS:
        raise InvalidInput(
            N_("the body runs beyond {max_body_chars} characters"),
            max_body_chars=MAX_BODY_CHARS,
            field="body",
        )
    subject = _one_line(subject)
    if len(subject) > MAX_SUBJECT_CHARS:
        raise InvalidInput(
            N_("the subject runs beyond {max_subject_chars} characters"),
            max_subject_chars=MAX_SUBJECT_CHARS,
            field="subject",
        )
    signature = _signature_image(facts.signature_png) if facts.signature_png else None
    paragraphs = [Paragraph(_markup(text), _STYLES["body"]) for text in body.split("\n\n")]
    # The closing words travel with the signature: a signature alone on a last page would
    # look careless, and could be cut off and put under another text.
    story = [
        *_heading(facts, subject),
        *paragraphs[:-1],
        KeepTogether([paragraphs[-1], *_signature_block(facts, signature)]),
    ]

    output = BytesIO()
    document = SimpleDocTemplate(
        output,
        pagesize=A4,
        leftMargin=2.5 * cm,
        rightMargin=2.5 * cm,
        topMargin=2 * cm,
        bottomMargin=2.2 * cm,
        title=subject or facts.company_name,
        author=facts.agent_name or facts.company_name,
        creator=facts.company_name,
        subject=facts.case_reference or "",
        lang=facts.language,
        invariant=1,
    )
    document.build(story, onLaterPages=_folio(facts))
    return output.getvalue()


def _heading(facts: LetterFacts, subject: str) -> list[Any]:
    heading: list[Any] = [
        Paragraph(_markup(facts.company_name), _STYLES["letterhead"]),
        HRFlowable(width="100%", thickness=0.6, spaceAfter=30),
    ]
    address = [line.strip() for line in (facts.customer_name, facts.customer_address or "")]
    if any(address):
        heading.append(Paragraph(_markup("\n".join(filter(None, address))), _STYLES["address"]))
    heading.append(Paragraph(_markup(_date_line(facts)), _STYLES["date"]))
    if facts.case_reference:
        reference = translate(
            facts.language, N_("Our reference: {reference}"), reference=facts.case_reference
        )
        heading.append(Paragraph(_markup(reference), _STYLES["reference"]))
    else:
        heading.append(Spacer(0, 12))
    if subject:
        label = translate_context(facts.language, "letter", C_("letter", "Subject:"))
        line = f"{_markup(label)} {_markup(subject)}"
        heading.append(Paragraph(line, _STYLES["subject"]))
    return heading


def _signature_block(facts: LetterFacts, signature: Image | None) -> list[Any]:
    """In the right-hand column: the signature image, or failing one the agent's name set
    in italics as a signature, then their name and title."""
    block: list[Any] = [Spacer(0, 10), Indenter(left=_COLUMN)]
    if signature is not None:
        block.append(signature)
    elif facts.agent_name.strip():
        block.append(Paragraph(_markup(facts.agent_name), _STYLES["handwriting"]))
    for line in (facts.agent_name, facts.agent_title):
        if line.strip():
            block.append(Paragraph(_markup(line), _STYLES["signer"]))
    block.append(Indenter(left=-_COLUMN))
    return block


def _date_line(facts: LetterFacts) -> str:
    """``Paris, le 23 novembre 2026`` / ``Paris, 23 November 2026``."""
    written = format_letter_date(facts.written_on, facts.language)
    place = facts.place.strip()
    if place:
        return translate(facts.language, N_("{place}, {date}"), place=place, date=written)
    # French writes "Le 23 novembre 2026" where no place comes first; English the bare date.
    return translate_context(
        facts.language, "letter date", C_("letter date", "{date}"), date=written
    )


def _folio(facts: LetterFacts):
    """Continuation pages carry the addressee, the date and the page number, as a letter
    that comes apart in the post can be put back together."""
    line = " · ".join(
        part
        for part in (
            facts.customer_name.strip(),
            format_letter_date(facts.written_on, facts.language),
        )
        if part
    )

    def draw(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont("Times-Roman", 9)
        text = f"{line} · {document.page}".translate(_TO_WINANSI)
        # The frame pads its text by 6 points; the folio lines up with it.
        canvas.drawString(document.leftMargin + 6, document.pagesize[1] - 1.2 * cm, text)
        canvas.restoreState()

    return draw
