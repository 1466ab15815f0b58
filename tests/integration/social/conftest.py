from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from egards.cases.intake import sign_webhook
from tests.integration.cases.conftest import app, clock, mailer, supervisor  # noqa: F401

MENTION = {
    "network": "x",
    "handle": "@zoem",
    "author_name": "Zoé M.",
    "text": "Toujours pas de technicien !",
    "external_id": "1900000000001",
    "followers": 800,
}


@pytest.fixture
def post_mention(client, clock) -> Callable[..., dict[str, Any]]:  # noqa: F811
    """Post a mention through the signed webhook, as a social listening tool does; the
    fields given replace those of a default post (``MENTION``). Returns the case opened."""

    def post(**fields: Any) -> dict[str, Any]:
        body = json.dumps({**MENTION, **fields}).encode()
        stamp = str(int(clock.now.timestamp()))
        response = client.post(
            "/api/v1/cases/social-mentions",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Egards-Timestamp": stamp,
                "X-Egards-Signature": sign_webhook("social-secret", stamp, body),
            },
        )
        assert response.status_code == 201, response.text
        return response.json()["case"]

    return post
