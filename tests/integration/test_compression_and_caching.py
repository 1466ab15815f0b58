"""Responses leave compressed, and the console's static files are cached by browsers."""

from __future__ import annotations

import gzip
import re

from egards.web.static_files import FOLDER
from tests.conftest import login

GZIP = {"Accept-Encoding": "gzip"}


def test_htmx_is_served_compressed_and_cacheable_for_a_year_under_its_versioned_address(
    client, agent
):
    login(client, agent.email)
    page = client.get("/customers", headers=GZIP)
    address = re.search(r'src="(/static/htmx\.min\.js\?v=[0-9a-f]+)"', page.text).group(1)
    raw = (FOLDER / "htmx.min.js").read_bytes()

    with client.stream("GET", address, headers=GZIP) as response:
        wire = b"".join(response.iter_raw())  # the bytes as sent, still compressed
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert len(wire) < len(raw) / 2
    assert gzip.decompress(wire) == raw
    assert "max-age=31536000" in response.headers["cache-control"]
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["etag"]

    again = client.get(address, headers={**GZIP, "If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_an_unversioned_static_address_is_kept_an_hour_then_revalidated(client):
    response = client.get("/static/egards.css", headers=GZIP)
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["content-encoding"] == "gzip"


def test_console_pages_and_api_answers_are_compressed_when_the_client_accepts_it(client, agent):
    login(client, agent.email)
    page = client.get("/customers", headers=GZIP)
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
    api = client.get("/openapi.json", headers=GZIP)
    assert api.headers["content-encoding"] == "gzip"
    plain = client.get("/customers", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
