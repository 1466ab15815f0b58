"""The public contact page: a visitor without an account can read it in English, and sees
which fields are required."""

from __future__ import annotations

import re

from tests.conftest import csrf_from


def test_a_visitor_switches_the_contact_page_language_without_an_account(client):
    page = client.get("/contact")
    first = re.search(r'<html lang="(\w+)"', page.text).group(1)
    other, name = ("en", "English") if first == "fr" else ("fr", "Français")
    assert f'id="switch-locale" lang="{other}">{name}<' in page.text
    switched = client.post(
        "/locale",
        data={"locale": other, "next": "/contact", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/contact"
    again = client.get("/contact").text
    assert f'<html lang="{other}"' in again
    assert ("Contact us" if other == "en" else "Nous contacter") in again


def test_the_contact_form_marks_every_required_field(client):
    page = client.get("/contact").text
    form = page[page.index('id="contact-form"') : page.index("</form>", page.index("contact-form"))]
    required = set(re.findall(r'<(?:input|textarea)[^>]* id="(c-[a-z]+)"[^>]* required', form))
    marked = set(
        re.findall(r'<label for="(c-[a-z]+)">[^<]*<span class="required" aria-hidden="true">', form)
    )
    assert required == {"c-name", "c-email", "c-subject", "c-message"}
    assert marked == required
    assert 'id="required-note"' in form
