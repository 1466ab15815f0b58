"""Personal letters of apology: templates, drafts and the signed PDF, without a database."""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import replace
from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader

from egards.errors import InvalidInput
from egards.recovery.letters import (
    LetterFacts,
    LetterTemplate,
    check_signature,
    default_templates,
    draft,
    format_letter_date,
    render_pdf,
    validate_template,
)

NBSP = "\u00a0"
FACTS_FR = LetterFacts(
    customer_name="M. Jean Dupont",
    language="fr",
    case_reference="C-1234",
    case_subject="Vol Paris-Delhi du 3 mars",
    case_opened_on=date(2026, 11, 23),
    broken_promises=3,
    tier_name="Gold",
    gesture_text=f"5{NBSP}000 miles",
    agent_name="Rachel Martin",
    agent_title="Conseillère clientèle",
    written_on=date(2026, 12, 1),
)
FACTS_EN = replace(
    FACTS_FR,
    customer_name="Mr Jean Dupont",
    language="en",
    case_subject="Paris-Delhi flight on 3 March",
    gesture_text="5,000 miles",
    agent_title="Customer adviser",
)
SENTENCE = (
    f"Nous vous remboursons 120{NBSP}€ et, de bon cœur, vous offrons «{NBSP}l’œuvre{NBSP}» "
    f"complète{NBSP}!"
)


def template(code: str, language: str) -> LetterTemplate:
    (found,) = [t for t in default_templates() if t.code == code and t.language == language]
    return found


def pdf_text(pdf: bytes, page: int = 0) -> str:
    """The page's text with every run of spaces, line breaks and no-break spaces as one."""
    return " ".join(PdfReader(BytesIO(pdf)).pages[page].extract_text().split())


def png(width: int = 120, height: int = 40) -> bytes:
    """A small RGBA PNG (a blue stroke on a transparent ground), written by hand so that the
    tests need no imaging library."""
    rows = b"".join(
        b"\x00"
        + b"".join(
            b"\x14\x1e\x6e\xff" if abs(y - height // 2) <= 1 else b"\x00\x00\x00\x00"
            for _ in range(width)
        )
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# --- templates ----------------------------------------------------------------------------


def test_the_default_letters_exist_in_french_and_english_and_all_validate():
    templates = default_templates()
    assert {(t.code, t.language) for t in templates} >= {
        (code, language)
        for code in ("apology", "apology-downgrade", "apology-delay")
        for language in ("fr", "en")
    }
    for each in templates:
        assert each.name.strip()
        validate_template(each.subject, each.body)


@pytest.mark.parametrize("code", ["apology", "apology-downgrade", "apology-delay"])
def test_french_letters_keep_french_typography_and_say_vous(code):
    subject, body = draft(template(code, "fr"), FACTS_FR)
    text = f"{subject}\n{body}"
    assert not re.search(r"[ \t][:;!?»]", text), "a plain space before : ; ! ? or »"
    assert not re.search(r"«[ \t]", text), "a plain space after «"
    assert "'" not in text, "a typewriter apostrophe instead of ’"
    assert not re.search(r"\b(tu|te|toi|ton|ta|tes)\b", text)
    assert "vous" in body


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("code", ["apology", "apology-downgrade", "apology-delay"])
def test_a_letter_without_optional_facts_has_no_holes(code, language):
    sparse = replace(
        FACTS_FR if language == "fr" else FACTS_EN,
        case_reference=None,
        case_subject=None,
        case_opened_on=None,
        broken_promises=0,
        tier_name=None,
        gesture_text=None,
    )
    subject, body = draft(template(code, language), sparse)
    for text in (subject, body):
        assert "None" not in text
        assert "  " not in text
        assert "\n\n\n" not in text
        assert "«" not in text and "“" not in text
    assert not re.search(r" [,.]", body)


# --- drafts -------------------------------------------------------------------------------


def test_dates_are_spelled_out_in_the_letters_language():
    assert format_letter_date(date(2026, 11, 23), "fr") == "23 novembre 2026"
    assert format_letter_date(date(2026, 8, 1), "fr") == "1er août 2026"
    assert format_letter_date(date(2026, 11, 23), "en") == "23 November 2026"
    assert format_letter_date(date(2026, 2, 1), "en") == "1 February 2026"


def test_a_french_draft_tells_the_customer_what_happened_and_what_we_offer():
    subject, body = draft(template("apology-delay", "fr"), FACTS_FR)
    assert "Vol Paris-Delhi du 3 mars" in subject
    assert body.startswith("Bonjour M. Jean Dupont,\n\n")
    assert "Le 23 novembre 2026, vous nous avez contactés" in body
    assert "3 reprises" in body
    assert "C-1234" in body
    assert f"5{NBSP}000 miles" in body


def test_an_english_draft_tells_the_same_facts_in_english():
    subject, body = draft(template("apology-downgrade", "en"), FACTS_EN)
    assert subject == "Your Gold status, and our apologies"
    assert body.startswith("Dear Mr Jean Dupont,\n\n")
    assert "on 23 November 2026" in body
    assert "your Gold status" in body
    assert "5,000 miles" in body


def test_a_draft_keeps_paragraphs_apart_and_the_subject_on_one_line():
    custom = LetterTemplate(
        code="custom",
        language="fr",
        name="Essai",
        subject="Nos excuses\n{% if tier_name %}\n({{ tier_name }})\n{% endif %}",
        body="Un.\n{% if gesture_text %}\n\nDeux{{ '\xa0' }}!\n\n{% endif %}\n\n\nTrois.\n",
    )
    subject, body = draft(custom, FACTS_FR)
    assert subject == "Nos excuses (Gold)"
    assert body == f"Un.\n\nDeux{NBSP}!\n\nTrois."


def test_a_template_in_another_language_than_the_letter_is_refused():
    with pytest.raises(InvalidInput) as error:
        draft(template("apology", "en"), FACTS_FR)
    assert error.value.field == "language"


def test_letters_are_written_in_french_or_english_only():
    with pytest.raises(InvalidInput) as error:
        draft(template("apology", "en"), replace(FACTS_EN, language="de"))
    assert error.value.field == "language"


# --- validation and the sandbox -----------------------------------------------------------


def test_an_unknown_variable_is_refused_with_its_field_and_line():
    with pytest.raises(InvalidInput) as error:
        validate_template("Nos excuses", "Bonjour,\n\nVotre conseiller, {{ agent_nmae }}.")
    assert error.value.field == "body"
    assert error.value.context["line"] == 3
    assert "agent_nmae" in error.value.message
    assert "agent_name" in error.value.message  # the admin sees what they meant


def test_loop_variables_and_every_fact_are_known():
    validate_template(
        "{{ company_name }} · {{ case_reference }}",
        "{% for word in ['a', 'b'] %}{{ word }}{% endfor %} {% set n = broken_promises %}{{ n }}"
        " {{ customer_name }} {{ written_on }} {{ case_opened_on }} {{ customer_address }}",
    )


def test_the_signature_image_is_not_a_template_variable():
    with pytest.raises(InvalidInput) as error:
        validate_template("Objet", "{{ signature_png }}")
    assert error.value.field == "body"


def test_a_syntax_error_is_refused_with_its_field_and_line():
    with pytest.raises(InvalidInput) as error:
        validate_template("Nos excuses{% if tier_name %}", "Bonjour,")
    assert error.value.field == "subject"
    assert error.value.context["line"] == 1


def test_a_template_needs_a_body():
    with pytest.raises(InvalidInput) as error:
        validate_template("Nos excuses", "  \n")
    assert error.value.field == "body"


@pytest.mark.parametrize(
    "abuse",
    [
        "{{ ''.__class__ }}",
        "{{ customer_name.__class__.__mro__[1].__subclasses__() }}",
        "{{ customer_name['__class__'] }}",
        "{{ customer_name|attr('__class__') }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% if broken_promises > 99 %}{{ ''.__class__ }}{% endif %}",
    ],
)
def test_the_sandbox_refuses_reaching_into_python(abuse):
    with pytest.raises(InvalidInput) as error:
        validate_template("Objet", f"Bonjour,\n{abuse}")
    assert error.value.field == "body"
    assert error.value.context["line"] == 2


def test_a_stored_template_that_misbehaves_fails_the_draft_not_the_server():
    hostile = LetterTemplate("x", "fr", "x", "Objet", "{{ customer_name|attr('__class__') }}")
    with pytest.raises(InvalidInput) as error:
        draft(hostile, FACTS_FR)
    assert error.value.field == "body"


def test_a_runaway_template_is_stopped():
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    with pytest.raises(InvalidInput) as error:
        validate_template("Objet", loop)
    assert error.value.field == "body"


# --- the PDF ------------------------------------------------------------------------------


def test_a_french_letter_prints_its_header_subject_body_and_signer():
    pdf = render_pdf(subject="Toutes nos excuses", body=f"Bonjour,\n\n{SENTENCE}", facts=FACTS_FR)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "Égards" in text
    assert "Paris, le 1er décembre 2026" in text
    assert "Notre référence : C-1234" in text
    assert "Objet : Toutes nos excuses" in text
    assert " ".join(SENTENCE.split()) in text
    assert "Rachel Martin" in text
    assert "Conseillère clientèle" in text


def test_an_english_letter_speaks_english_around_the_body():
    pdf = render_pdf(subject="We kept you waiting", body="Dear Mr Dupont,", facts=FACTS_EN)
    text = pdf_text(pdf)
    assert "Paris, 1 December 2026" in text
    assert "Subject: We kept you waiting" in text
    assert "Our reference: C-1234" in text


def test_what_the_agent_types_is_printed_as_text_never_as_markup():
    body = "Des <b>balises</b> & des <br/> restent du texte : a < b."
    text = pdf_text(render_pdf(subject="<i>Objet</i>", body=body, facts=FACTS_FR))
    assert body in text
    assert "Objet : <i>Objet</i>" in text


def test_spaces_and_hyphens_the_standard_fonts_lack_are_replaced_not_boxed():
    body = "Ah\u202f! Rendez-vous le 3\u2011mars\u200b."
    text = pdf_text(render_pdf(subject="Objet", body=body, facts=FACTS_FR))
    assert "Ah ! Rendez-vous le 3-mars." in text
    assert "\u25a0" not in text


def test_a_long_letter_runs_over_several_numbered_pages_and_ends_with_the_signer():
    body = "\n\n".join(f"Paragraphe {n}. {SENTENCE} " * 4 for n in range(40))
    pdf = render_pdf(subject="Une longue lettre", body=body, facts=FACTS_FR)
    pages = PdfReader(BytesIO(pdf)).pages
    assert len(pages) >= 3
    assert "M. Jean Dupont · 1er décembre 2026 · 2" in pdf_text(pdf, 1)
    assert "Conseillère clientèle" in pdf_text(pdf, len(pages) - 1)


def test_without_an_image_the_agents_name_stands_as_the_signature():
    text = pdf_text(render_pdf(subject="Objet", body="Bien sincèrement,", facts=FACTS_FR))
    assert text.count("Rachel Martin") == 2


def test_a_signature_image_is_drawn_in_place_of_the_written_name():
    signed = replace(FACTS_FR, signature_png=png())
    pdf = render_pdf(subject="Objet", body="Bien sincèrement,", facts=signed)
    assert len(PdfReader(BytesIO(pdf)).pages[0].images) == 1
    assert pdf_text(pdf).count("Rachel Martin") == 1


@pytest.mark.parametrize(
    "image", [b"not an image", png()[:60], b"", png(width=5000, height=1)], ids=repr
)
def test_an_unusable_signature_is_refused(image):
    with pytest.raises(InvalidInput) as error:
        check_signature(image)
    assert error.value.field == "signature"
    if image:
        with pytest.raises(InvalidInput) as error:
            render_pdf(
                subject="Objet", body="Bonjour,", facts=replace(FACTS_FR, signature_png=image)
            )
        assert error.value.field == "signature"


def test_a_letter_without_text_is_refused():
    with pytest.raises(InvalidInput) as error:
        render_pdf(subject="Objet", body=" \r\n\n ", facts=FACTS_FR)
    assert error.value.field == "body"


def test_the_same_letter_gives_the_same_bytes():
    signed = replace(FACTS_FR, signature_png=png())
    first = render_pdf(subject="Objet", body=SENTENCE, facts=signed)
    assert render_pdf(subject="Objet", body=SENTENCE, facts=signed) == first
    assert render_pdf(subject="Objet", body=SENTENCE + " Encore.", facts=signed) != first


def test_a_drafted_letter_renders_end_to_end_in_both_languages():
    for facts in (FACTS_FR, FACTS_EN):
        for each in default_templates():
            if each.language == facts.language:
                subject, body = draft(each, facts)
                assert subject in pdf_text(render_pdf(subject=subject, body=body, facts=facts))


def test_without_a_place_the_date_line_is_written_each_languages_way():
    french = pdf_text(
        render_pdf(subject="Objet", body="Bonjour,", facts=replace(FACTS_FR, place=""))
    )
    english = pdf_text(
        render_pdf(subject="Sorry", body="Hello,", facts=replace(FACTS_EN, place=""))
    )
    assert "Le 1er décembre 2026" in french and "Paris, le" not in french
    assert "1 December 2026" in english and "Paris," not in english
