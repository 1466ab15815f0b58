"""The console through real HTTP: sessions, CSRF, languages, pages."""

from __future__ import annotations

from egards.accounts.domain import Role
from tests.conftest import PASSWORD, csrf_from, login


def test_pages_require_a_signed_in_user(client):
    response = client.get("/customers/1", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_login_sets_an_httponly_samesite_cookie(client, agent):
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": agent.email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert response.status_code == 303
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_a_wrong_password_is_refused(client, agent):
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"email": agent.email, "password": "wrong password", "csrf_token": token}
    )
    assert response.status_code == 401


def test_forms_without_the_csrf_token_are_refused(client, agent):
    login(client, agent.email)
    response = client.post("/api/v1/customers", json={"first_name": "A", "last_name": "B"})
    assert response.status_code == 403 and response.json()["errors"][0]["field"] == "csrf_token"
    assert client.post("/logout", data={}).status_code == 403


def test_an_agent_creates_a_customer_and_adds_a_note(client, agent):
    csrf = login(client, agent.email)
    response = client.post(
        "/customers/new",
        data={
            "csrf_token": csrf,
            "first_name": "Jérôme",
            "last_name": "Caron",
            "preferred_language": "fr",
            "email": "jerome.caron@example.fr",
            "phone": "06 11 22 33 44",
            "country": "FR",
        },
    )
    assert response.status_code == 200 and "Jérôme" in response.text
    customer_path = str(response.url.path)
    note = client.post(
        f"{customer_path}/notes",
        data={"csrf_token": csrf, "body": "Wants a callback"},
        headers={"HX-Request": "true"},
    )
    assert note.status_code == 200 and "Wants a callback" in note.text
    page = client.get(customer_path).text
    assert "Wants a callback" in page and "06 11 22 33 44" in page


def test_console_errors_name_the_field(client, agent):
    csrf = login(client, agent.email)
    response = client.post(
        "/customers/new",
        data={"csrf_token": csrf, "first_name": "A", "last_name": "B", "phone": "12"},
    )
    assert response.status_code == 422 and "phone" in response.text


def test_the_console_speaks_french_and_english(client, agent):
    csrf = login(client, agent.email)
    client.post("/locale", data={"csrf_token": csrf, "locale": "en", "next": "/customers"})
    assert "Customers" in client.get("/customers").text
    client.post("/locale", data={"csrf_token": csrf, "locale": "fr", "next": "/customers"})
    page = client.get("/customers").text
    assert "Clients" in page and "Rechercher" in page


def test_htmx_search_returns_only_the_results(client, agent):
    login(client, agent.email)
    response = client.get("/customers", params={"q": "nobody-here"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.text


def test_a_partner_cannot_open_the_audit_page(client, make_person, make_organisation):
    partner = make_person(Role.PARTNER, organisation_id=make_organisation())
    login(client, partner.email)
    assert client.get("/audit").status_code == 403


def test_every_page_masks_the_csrf_token_afresh_and_each_is_accepted(client, agent):
    first = login(client, agent.email)
    second = csrf_from(client.get("/customers").text)
    assert first != second
    for token in (first, second):
        response = client.post("/locale", data={"csrf_token": token, "locale": "fr", "next": "/"})
        assert response.status_code in (200, 303), response.text[:300]


def test_a_refused_customer_form_comes_back_filled_in_with_the_field_named(client, agent):
    csrf = login(client, agent.email)
    client.post("/locale", data={"csrf_token": csrf, "locale": "fr", "next": "/customers"})
    response = client.post(
        "/customers/new",
        data={"csrf_token": csrf, "first_name": "Aurélie", "last_name": "Refusée", "phone": "12"},
    )
    assert response.status_code == 422
    assert 'id="form-error"' in response.text and "<strong>Téléphone</strong>" in response.text
    assert 'value="Aurélie"' in response.text and 'value="12" aria-invalid="true"' in response.text
    found = client.get("/customers", params={"q": "Refusée"}, headers={"HX-Request": "true"})
    assert "Aurélie" not in found.text  # nothing was created


def test_a_refused_edit_keeps_the_file_as_it_was(client, agent):
    csrf = login(client, agent.email)
    created = client.post(
        "/customers/new",
        data={"csrf_token": csrf, "first_name": "Hugo", "last_name": "Inchangé", "country": "FR"},
    )
    path = str(created.url.path)
    response = client.post(
        f"{path}/edit",
        data={"csrf_token": csrf, "first_name": "Victor", "last_name": "Inchangé", "country": "Z"},
    )
    assert response.status_code == 422 and 'id="form-error"' in response.text
    assert 'value="Victor"' in response.text and 'value="Z" aria-invalid="true"' in response.text
    assert "Hugo" in client.get(path).text and "Victor" not in client.get(path).text
