"""CSRF tokens are masked afresh on every page so that compressed answers cannot leak them
byte by byte (BREACH); any masked form of the session's secret is accepted, nothing else."""

from __future__ import annotations

from egards.web.csrf import mask, matches, new_secret, unmask


def test_two_pages_never_carry_the_same_token_yet_both_hold_the_secret():
    secret = new_secret()
    first, second = mask(secret), mask(secret)
    assert first != second and secret not in first and secret not in second
    assert unmask(first) == unmask(second) == secret
    assert matches(secret, first) and matches(secret, second)


def test_the_bare_secret_another_secret_or_garbage_is_refused():
    secret = new_secret()
    assert not matches(secret, secret)
    assert not matches(secret, mask(new_secret()))
    for sent in ("", "x", "%%%", "abc", None, 42, mask(secret)[:-2]):
        assert not matches(secret, sent)
    assert not matches(None, mask(secret)) and not matches("", mask(secret))
