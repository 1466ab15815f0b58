"""Stored text is data: a message keeps its English msgid and values, and reads in the
reader's language; rows from before keep their stored text."""

from __future__ import annotations

from datetime import UTC, datetime

from egards.cases.labels import case_label, case_word
from egards.i18n import N_, day, message, money, names, plural_message, render_message


def test_a_stored_message_reads_in_each_language():
    stored = message(N_("Customer file opened"))
    assert render_message("fr", stored) == "Dossier client ouvert"
    assert render_message("en", stored) == "Customer file opened"


def test_nested_messages_names_numbers_and_money_take_the_reader_language():
    stored = message(
        N_("{case} · {text}"),
        case="C-000012",
        text=message(
            N_("Escalation: {detail}"),
            detail=plural_message(
                "{state}: {count} supervisor notified",
                "{state}: {count} supervisors notified",
                2,
                state=message(N_("{metric} breached"), metric=case_word("first_response")),
            ),
        ),
    )
    assert render_message("fr", stored) == (
        "C-000012 · Escalade : première réponse hors délai : 2 superviseurs prévenus"
    )
    assert render_message("en", stored) == (
        "C-000012 · Escalation: first response breached: 2 supervisors notified"
    )
    gesture = message(
        N_("{gesture} ({cost})"),
        gesture=names({"fr": "Bon d'achat", "en": "Voucher"}),
        cost=money(123456),
    )
    assert render_message("fr", gesture) == "Bon d'achat (1\u202f234,56\u00a0€)"
    assert render_message("en", gesture) == "Voucher (€1,234.56)"


def test_a_row_written_before_messages_shows_its_stored_text():
    assert render_message("fr", None, "Joined Seniority programme as welcome") == (
        "Joined Seniority programme as welcome"
    )


def test_codes_become_words_in_both_languages():
    assert case_label("reassign_to_supervisors", "en") == "reassign to supervisors"
    assert case_label("waiting_on_customer", "fr") == "en attente du client"
    assert case_label("new", "fr") == "nouvelle"
    assert render_message("fr", case_word("supervisors")) == "superviseurs"


def test_a_stored_day_reads_the_reader_way():
    stored = message(
        N_("Churn threat: wrote on {day}: «{quote}»"),
        day=day(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)),  # 1 December in Paris
        quote="je pars",
    )
    assert render_message("fr", stored) == (
        "Menace de départ : a écrit le 1er décembre 2026 : « je pars »"
    )
    assert render_message("en", stored) == "Churn threat: wrote on 1 December 2026: «je pars»"


def test_an_idea_summary_reads_in_french_with_its_title_as_written():
    stored = message(N_("Proposed an idea: {title}"), title="Late checkout")
    assert render_message("fr", stored) == "A proposé une idée : Late checkout"


def test_a_privacy_request_reads_its_due_day_in_french():
    stored = message(N_("Privacy request extended to {day}"), day=day(datetime(2026, 12, 4).date()))
    assert render_message("fr", stored) == (
        "Demande sur les données prolongée jusqu’au 4 décembre 2026"
    )
    assert render_message("en", stored) == "Privacy request extended to 4 December 2026"


def test_a_corrected_analysis_names_its_labels_in_words_in_a_list():
    from egards.i18n import listed
    from egards.voice.service.analysis import _label_said

    stored = message(
        N_("Message analysis corrected: {changes}"),
        changes=listed(
            [
                _label_said("sentiment", "negative"),
                _label_said("topic", "baggage"),
                _label_said("churn_threat", True),
            ]
        ),
    )
    assert render_message("fr", stored) == (
        "Analyse du message corrigée : sentiment négatif, sujet Bagages, menace de départ oui"
    )
    assert render_message("en", stored) == (
        "Message analysis corrected: sentiment negative, topic Baggage, churn threat yes"
    )
