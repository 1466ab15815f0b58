"""Inbound e-mail: who gets an acknowledgement, case numbers in subjects, threading."""

from email import message_from_string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egards.cases.domain import (
    ACKNOWLEDGEMENT_HEADERS,
    LOOP_MARKER_HEADER,
    MailKind,
    ThreadVia,
    case_number_from_subject,
    case_numbers_in_subject,
    choose_thread,
    classify_inbound_mail,
    format_case_number,
    normalize_message_id,
    parse_case_number,
    tag_subject,
    thread_candidates,
)
from egards.cases.errors import InvalidCaseNumber

CUSTOMER = {"From": "Marie Martin <marie.martin@example.org>", "Subject": "Ma box ne marche plus"}
OWN = {"support@egards.example"}


def classify(**extra: str):
    headers = CUSTOMER | {name.replace("_", "-"): value for name, value in extra.items()}
    return classify_inbound_mail(headers, own_addresses=OWN)


def test_a_customer_message_is_acknowledged_and_opens_a_case():
    decision = classify()
    assert decision.kind is MailKind.HUMAN
    assert decision.acknowledge and decision.create_case


def test_auto_submitted_no_is_a_person_writing():
    assert classify(Auto_Submitted="no").kind is MailKind.HUMAN


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Auto-Submitted": "auto-generated; owner-email=it@example.org"},
        {"auto-submitted": "Auto-Notified"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "Out of office"},
        {"Precedence": "auto_reply"},
        {"Content-Type": "multipart/report; report-type=disposition-notification; boundary=x"},
    ],
)
def test_auto_replies_get_neither_acknowledgement_nor_case(headers):
    decision = classify_inbound_mail(CUSTOMER | headers, own_addresses=OWN)
    assert decision.kind is MailKind.AUTO_REPLY
    assert not decision.acknowledge and not decision.create_case
    assert decision.reasons


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": 'multipart/report; report-type="delivery-status"; boundary="b"'},
        {"From": "Mail Delivery System <MAILER-DAEMON@mx.example.org>"},
        {"From": "postmaster@example.org"},
        {"Return-Path": "<>"},
        {"X-Failed-Recipients": "nobody@example.org"},
    ],
)
def test_bounces_get_neither_acknowledgement_nor_case(headers):
    decision = classify_inbound_mail(CUSTOMER | headers, own_addresses=OWN)
    assert decision.kind is MailKind.BOUNCE
    assert not decision.acknowledge and not decision.create_case


@pytest.mark.parametrize(
    "headers",
    [
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"List-Id": "<offers.shop.example.org>"},
        {"List-Unsubscribe": "<mailto:leave@shop.example.org>"},
    ],
)
def test_newsletters_and_lists_are_not_cases(headers):
    decision = classify_inbound_mail(CUSTOMER | headers, own_addresses=OWN)
    assert decision.kind is MailKind.BULK
    assert not decision.acknowledge and not decision.create_case


def test_our_own_messages_coming_back_are_a_loop():
    assert classify(From="Support <SUPPORT@egards.example>").kind is MailKind.LOOP
    assert classify(**{LOOP_MARKER_HEADER.replace("-", "_"): "C-000123"}).kind is MailKind.LOOP
    assert classify(X_Loop="support@egards.example").kind is MailKind.LOOP


def test_a_message_relayed_too_many_times_is_a_loop():
    headers = [*CUSTOMER.items(), *[("Received", f"from relay{i}") for i in range(31)]]
    assert classify_inbound_mail(headers).kind is MailKind.LOOP


def test_a_chatty_sender_still_gets_a_case_but_no_more_acknowledgements():
    decision = classify_inbound_mail(CUSTOMER, acknowledgements_sent_recently=3)
    assert decision.create_case
    assert not decision.acknowledge


def test_headers_of_a_parsed_message_can_be_given_as_they_are():
    raw = (
        "From: Mail Delivery Subsystem <mailer-daemon@mx.example.org>\n"
        "To: support@egards.example\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=xyz\n\n"
        "--xyz--\n"
    )
    assert classify_inbound_mail(message_from_string(raw)).kind is MailKind.BOUNCE


def test_our_acknowledgements_tell_responders_not_to_answer():
    assert ACKNOWLEDGEMENT_HEADERS["Auto-Submitted"] == "auto-replied"
    assert classify_inbound_mail(CUSTOMER | ACKNOWLEDGEMENT_HEADERS).kind is MailKind.AUTO_REPLY


# --- case numbers -------------------------------------------------------------------------


def test_case_numbers_have_a_prefix_and_six_digits_at_least():
    assert format_case_number(123) == "C-000123"
    assert format_case_number(1_234_567) == "C-1234567"
    assert parse_case_number("C-000123") == 123
    assert parse_case_number("#c-000123") == 123


@pytest.mark.parametrize("text", ["C-123", "000123", "D-000123", "C-000123x", ""])
def test_malformed_case_numbers_are_refused(text):
    with pytest.raises(InvalidCaseNumber) as caught:
        parse_case_number(text)
    assert caught.value.code == "case_number_invalid"


def test_the_case_number_is_found_in_a_reply_subject():
    assert case_number_from_subject("RE: TR: [#C-000123] Ma box ne marche plus") == 123
    assert case_number_from_subject("Re: [# c-000042 ] facture") == 42


def test_a_subject_without_a_tag_or_with_a_lookalike_has_no_case_number():
    assert case_number_from_subject("Ma commande C-000123") is None
    assert case_number_from_subject("[#C-12] trop court") is None
    assert case_number_from_subject("") is None


def test_when_several_tags_appear_the_first_one_wins():
    subject = "Re: [#C-000200] Fwd: [#C-000100] ancienne demande"
    assert case_numbers_in_subject(subject) == [200, 100]
    assert case_number_from_subject(subject) == 200


def test_tagging_a_subject_puts_the_number_in_front_once():
    tagged = tag_subject("Ma box  ne marche plus", 123)
    assert tagged == "[#C-000123] Ma box ne marche plus"
    assert tag_subject(f"Re: {tagged}", 123) == f"Re: {tagged}"


@given(st.integers(min_value=1, max_value=10**9), st.text(max_size=60))
def test_a_tagged_subject_always_gives_its_number_back(sequence, subject):
    assert case_number_from_subject(tag_subject(subject, sequence)) in (
        sequence,
        *case_numbers_in_subject(subject),
    )
    assert parse_case_number(format_case_number(sequence)) == sequence


# --- threading ----------------------------------------------------------------------------


def test_thread_candidates_start_with_the_closest_ancestor():
    candidates = thread_candidates(
        in_reply_to="<c@shop.example>",
        references="<a@shop.example> <b@shop.example>\r\n <c@shop.example>",
    )
    assert candidates == ("<c@shop.example>", "<b@shop.example>", "<a@shop.example>")


def test_message_ids_are_normalised_with_brackets():
    assert normalize_message_id("  <x1@mail.example>  ") == "<x1@mail.example>"
    assert normalize_message_id("x1@mail.example") == "<x1@mail.example>"
    assert normalize_message_id("  ") is None


def test_reply_headers_win_over_the_subject_tag():
    choice = choose_thread(
        candidates=("<c@shop.example>", "<b@shop.example>"),
        known={"<b@shop.example>": 7},
        subject_case=9,
    )
    assert (choice.case_sequence, choice.via) == (7, ThreadVia.HEADERS)


def test_the_subject_tag_threads_a_message_whose_headers_are_unknown():
    choice = choose_thread(candidates=("<z@x>",), known={}, subject_case=9)
    assert (choice.case_sequence, choice.via) == (9, ThreadVia.SUBJECT)


def test_a_message_with_no_known_thread_opens_a_new_case():
    choice = choose_thread(candidates=(), known={}, subject_case=None)
    assert (choice.case_sequence, choice.via) == (None, ThreadVia.NEW)
