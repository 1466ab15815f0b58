"""Which messages of an IMAP mailbox the poller reads, and how it waits after failures;
and how received HTML is shown."""

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from egards.cases.domain import imap_retry_delay, uids_to_fetch
from egards.cases.mail import displayed_html, parse_mail, sanitise_html


def test_every_message_after_the_last_one_read_is_read_whatever_its_flags():
    assert uids_to_fetch([3, 4, 5, 6], last_uid=4, backlog_until=2) == [5, 6]


def test_the_first_backlog_is_read_only_where_people_left_it_unread():
    todo = uids_to_fetch([1, 2, 3, 4, 5], last_uid=0, backlog_until=3, unseen_backlog=[2])
    assert todo == [2, 4, 5]


def test_the_highest_uid_an_open_range_always_answers_is_not_read_twice():
    # "UID SEARCH UID 8:*" answers 7 when 7 is the highest UID.
    assert uids_to_fetch([7], last_uid=7, backlog_until=0) == []


@given(
    uids=st.lists(st.integers(1, 500), unique=True),
    last=st.integers(0, 500),
    backlog=st.integers(0, 500),
)
def test_nothing_at_or_before_the_last_uid_is_read_again(uids, last, backlog):
    todo = uids_to_fetch(uids, last_uid=last, backlog_until=backlog, unseen_backlog=uids)
    assert todo == sorted(todo) and all(uid > last for uid in todo)


def test_failures_in_a_row_double_the_wait_up_to_an_hour():
    waits = [imap_retry_delay(n) for n in range(1, 9)]
    assert waits[:5] == [timedelta(minutes=m) for m in (2, 4, 8, 16, 32)]
    assert waits[5:] == [timedelta(hours=1)] * 3


def test_raw_utf8_and_encoded_headers_are_read_as_text():
    raw = (
        "From: =?utf-8?q?Ren=C3=A9e?= <renee@exemple.fr>\r\n"
        "Subject: Réclamation – café\r\n =?iso-8859-1?q?refus=E9?=\r\n"
        "Message-ID: <a b@c>\r\n\r\nTexte\r\n"
    ).encode()
    mail = parse_mail(raw)
    assert (mail.from_name, mail.subject) == ("Renée", "Réclamation – café refusé")
    assert ("Message-ID", "<a b@c>") in mail.headers  # kept as sent, not cut at the space


def test_remote_images_are_held_back_until_asked_and_relative_ones_never_kept():
    html = sanitise_html(
        '<p>Hi</p><img src="https://t.example/o.gif" alt="x"><img src="/logout">'
        '<img srcset="https://t.example/2x.gif 2x">'
    )
    assert "/logout" not in html
    shown, held_back = displayed_html(html)
    assert "t.example" not in shown and held_back == 1
    loaded, held_back = displayed_html(html, remote_images=True)
    assert 'src="https://t.example/o.gif"' in loaded and "2x.gif" not in loaded
    assert held_back == 0
