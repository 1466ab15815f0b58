"""Rules of the customer portal: signed, expiring sign-in links; where a sign-in may lead;
the sliding-window limit; the one-month clock of a privacy request (GDPR art. 12(3))."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from egards.errors import InvalidInput
from egards.portal.domain import (
    LinkRefused,
    SlidingWindow,
    check_extension,
    privacy_due,
    read_link,
    safe_next,
    sign_link,
    token_digest,
)

KEY = b"k" * 32
NOW = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)


def test_a_signed_link_reads_back_until_it_expires():
    token = sign_link(KEY, expires_at=NOW + timedelta(minutes=15))
    assert read_link(KEY, token, now=NOW).expires_at == NOW + timedelta(minutes=15)
    assert read_link(KEY, token, now=NOW + timedelta(minutes=14, seconds=59))
    with pytest.raises(LinkRefused):
        read_link(KEY, token, now=NOW + timedelta(minutes=15))


def test_a_link_signed_with_another_key_is_refused():
    token = sign_link(b"other" * 8, expires_at=NOW + timedelta(minutes=15))
    with pytest.raises(LinkRefused):
        read_link(KEY, token, now=NOW)


@pytest.mark.parametrize("part", [0, 1, 2])
def test_changing_any_part_of_a_link_breaks_its_signature(part):
    token = sign_link(KEY, expires_at=NOW + timedelta(minutes=15))
    pieces = token.split(".")
    pieces[part] = ("9" if pieces[part][0] != "9" else "8") + pieces[part][1:]
    with pytest.raises(LinkRefused):
        read_link(KEY, ".".join(pieces), now=NOW)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "x.notdigits.y", "a" * 500, ".."])
def test_malformed_links_are_refused_with_the_same_error(token):
    with pytest.raises(LinkRefused) as refused:
        read_link(KEY, token, now=NOW)
    assert refused.value.code == "portal_link_refused"


def test_two_links_differ_and_only_their_digest_is_a_fixed_width_hex():
    one = sign_link(KEY, expires_at=NOW)
    two = sign_link(KEY, expires_at=NOW)
    assert one != two
    assert len(token_digest(one)) == 64 and token_digest(one) != token_digest(two)


def test_a_naive_expiry_is_a_programming_error():
    with pytest.raises(ValueError):
        sign_link(KEY, expires_at=datetime(2026, 12, 3, 20, 0))


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/my/requests/3", "/my/requests/3"),
        ("/my", "/my"),
        ("/my?x=1", "/my?x=1"),
        ("/myevil", "/my"),
        ("/customers", "/my"),
        ("//evil.example/my", "/my"),
        ("https://evil.example/my", "/my"),
        ("/my\\..\\evil", "/my"),
        ("/my/\nLocation: x", "/my"),
        (None, "/my"),
    ],
)
def test_after_sign_in_only_portal_paths_are_followed(target, expected):
    assert safe_next(target) == expected


def test_the_sliding_window_counts_per_key_and_forgets_old_hits():
    window = SlidingWindow(2, timedelta(minutes=15))
    assert window.allow("a", NOW) and window.allow("a", NOW + timedelta(minutes=1))
    assert not window.allow("a", NOW + timedelta(minutes=2))
    assert window.allow("b", NOW + timedelta(minutes=2))
    assert window.allow("a", NOW + timedelta(minutes=15))


@pytest.mark.parametrize(
    ("received", "extended", "due"),
    [
        (date(2026, 12, 3), False, date(2027, 1, 3)),
        (date(2026, 12, 3), True, date(2027, 3, 3)),
        (date(2027, 1, 31), False, date(2027, 2, 28)),
        (date(2027, 11, 30), True, date(2028, 2, 29)),
    ],
)
def test_a_privacy_request_is_due_one_month_later_or_three_when_extended(received, extended, due):
    assert privacy_due(received, extended=extended) == due


def test_an_extension_needs_a_reason_and_happens_once():
    assert check_extension("received", "  many  files to check  ") == "many files to check"
    with pytest.raises(InvalidInput):
        check_extension("received", "busy")
    with pytest.raises(InvalidInput):
        check_extension("extended", "a second extension is not allowed")


def test_no_two_catalogues_translate_the_same_english_differently():
    """The catalogues are merged into one: a msgid that a feature (the portal, say) translated
    its own way would change the words of other features' pages too."""
    import io
    from importlib.resources import files

    from babel.messages.pofile import read_po

    from egards.features import FEATURES

    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for folder in ("web", *FEATURES):
        path = files("egards") / folder / "translations" / "fr.po"
        if not path.is_file():
            continue
        for entry in read_po(io.StringIO(path.read_text("utf-8")), locale="fr"):
            if not entry.id or entry.context or not isinstance(entry.id, str):
                continue
            earlier = seen.setdefault(entry.id, (folder, entry.string))
            if earlier[1] != entry.string:
                clashes.append((entry.id, earlier, (folder, entry.string)))
    assert clashes == []
