"""Acknowledgements: case number and promised answer time, in the customer's language."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from jinja2.exceptions import SecurityError

from egards.cases.acknowledgement import (
    AcknowledgementTemplates,
    format_long_date,
    load_acknowledgement_templates,
    render_acknowledgement,
)
from egards.cases.domain import Channel
from egards.cases.errors import AcknowledgementTemplateError

TEMPLATES = load_acknowledgement_templates()
# Tuesday 24 November 2026, 11:00 in Paris.
DUE = datetime(2026, 11, 24, 10, tzinfo=UTC)


def render(**changes):
    values = {
        "templates": TEMPLATES,
        "language": "fr",
        "case_sequence": 123,
        "channel": Channel.EMAIL,
        "first_response_due": DUE,
        "customer_time_zone": "Europe/Paris",
    } | changes
    return render_acknowledgement(**values)


def test_the_french_acknowledgement_states_the_case_and_the_promise():
    ack = render(customer_name="Marie Martin", original_subject="Ma box ne marche plus")
    assert ack.language == "fr"
    assert ack.subject == "[#C-000123] Accusé de réception : Ma box ne marche plus"
    assert ack.body.startswith("Bonjour Marie Martin,\n\n")
    assert (
        "Nous avons bien reçu votre message (dossier C-000123). "
        "Nous vous répondrons au plus tard le mardi 24 novembre à 11 h 00 (heure de Paris)."
    ) in ack.body


def test_the_english_acknowledgement_states_the_case_and_the_promise():
    ack = render(language="en")
    assert ack.subject == "[#C-000123] We have received your message"
    assert (
        "We have received your message (case C-000123). "
        "We will answer you by Tuesday 24 November at 11:00 (Paris time) at the latest."
    ) in ack.body


def test_the_promise_is_shown_in_the_customer_time_zone():
    ack = render(language="en", customer_time_zone="America/Toronto")
    assert "Tuesday 24 November at 05:00 (Toronto time)" in ack.body


def test_an_e_mail_acknowledgement_invites_a_reply_and_others_do_not():
    assert "répondez simplement à ce message" in render().body
    assert "répondez simplement" not in render(channel=Channel.SOCIAL).body
    assert "Rappelez la référence C-000123" in render(channel=Channel.WEB_FORM).body


def test_without_a_promise_the_acknowledgement_still_answers_politely():
    assert "dans les meilleurs délais" in render(first_response_due=None).body


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr-FR", "fr"), ("fr_CA", "fr"), ("EN", "en"), ("de", "en"), (None, "fr"), ("", "fr")],
)
def test_the_language_is_read_from_its_primary_tag_with_sensible_fallbacks(language, expected):
    assert render(language=language).language == expected


def test_french_dates_are_written_without_system_locales():
    first = datetime(2026, 7, 1, 9, 5)
    assert format_long_date(first, "fr") == "mercredi 1er juillet à 9 h 05"
    assert format_long_date(datetime(2026, 8, 15, 14, 30), "fr") == "samedi 15 août à 14 h 30"
    assert format_long_date(first, "en") == "Wednesday 1 July at 09:05"
    montreal = datetime(2026, 11, 24, 5, 0, tzinfo=ZoneInfo("America/Montreal"))
    assert format_long_date(montreal, "fr") == "mardi 24 novembre à 5 h 00"  # its own zone
    assert format_long_date(montreal, "en") == "Tuesday 24 November at 05:00"


def test_templates_name_the_channel_in_the_letter_language():
    template = "Subject: {{ case_number }}\n\n{{ channel_label }}"
    custom = AcknowledgementTemplates({"fr": template, "en": template})
    letters = {
        language: render(templates=custom, language=language, channel=Channel.WEB_FORM).body
        for language in ("fr", "en")
    }
    assert letters == {"fr": "formulaire web\n", "en": "web form\n"}
    assert render(templates=custom, language="fr", channel=Channel.PORTAL).body == (
        "espace client\n"
    )


def test_templates_are_editable():
    custom = AcknowledgementTemplates(
        {
            "fr": "Subject: Dossier {{ case_number }}\n\nRéponse avant le {{ deadline_text }}.",
            "en": "Subject: Case {{ case_number }}\n\nAnswer by {{ deadline | date_long('en') }}.",
        }
    )
    ack = render(templates=custom, language="en")
    assert ack.subject == "Case C-000123"
    assert ack.body == "Answer by Tuesday 24 November at 11:00.\n"


def test_templates_run_in_a_sandbox():
    hostile = AcknowledgementTemplates(
        {"fr": "Subject: x\n\n{{ deadline.__class__.__mro__ }}", "en": "Subject: x\n\nok"}
    )
    with pytest.raises(SecurityError):
        render(templates=hostile)


def test_broken_or_missing_templates_are_reported():
    with pytest.raises(AcknowledgementTemplateError, match="does not compile"):
        AcknowledgementTemplates({"fr": "{% if %}", "en": "Subject: x"})
    with pytest.raises(AcknowledgementTemplateError, match="'en'"):
        AcknowledgementTemplates({"fr": "Subject: x"})
    no_subject = AcknowledgementTemplates({"fr": "Bonjour", "en": "Hello"})
    with pytest.raises(AcknowledgementTemplateError, match="Subject:"):
        render(templates=no_subject)


def test_the_shipped_template_is_one_for_every_language_from_the_catalogues():
    assert TEMPLATES.sources == {} and TEMPLATES.languages == {"fr", "en"}
    french, english = render(channel=Channel.PHONE), render(language="en", channel=Channel.PHONE)
    assert french.body.endswith(
        "Rappelez la référence C-000123 si vous nous recontactez.\n\nService client\n"
    )
    assert english.body.startswith("Hello,\n\n")
    assert english.body.endswith("Customer service\n")


def test_a_company_overrides_one_language_and_keeps_the_default_for_the_other(tmp_path):
    (tmp_path / "ack_fr.txt").write_text(
        "Subject: Bien reçu {{ case_number }}\n\nMerci, réponse le {{ deadline_text }}.",
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("not a template", encoding="utf-8")
    company = load_acknowledgement_templates(tmp_path)
    ours = render(templates=company)
    assert ours.subject == "Bien reçu C-000123"
    assert ours.body == "Merci, réponse le mardi 24 novembre à 11 h 00 (heure de Paris).\n"
    assert render(templates=company, language="en").subject.endswith(
        "We have received your message"
    )


def test_a_missing_override_folder_is_reported_naming_the_setting(tmp_path):
    with pytest.raises(AcknowledgementTemplateError, match="does not exist") as refused:
        load_acknowledgement_templates(tmp_path / "nowhere")
    assert refused.value.field == "EGARDS_ACK_TEMPLATES_DIR"
