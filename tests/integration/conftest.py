"""Fixtures shared by the integration tests of several features."""

from __future__ import annotations

import pytest

from tests.integration.builders import customer_payload


@pytest.fixture
def make_consenting_customer(client, agent):
    """Makes a customer through the API (in English) who, unless ``consent=False``, gave the
    consent for surveys by e-mail (the one that survey invitations, NPS waves and the idea box's
    notices ask for); gives ``(id, e-mail address)``."""

    def make(*, consent: bool = True) -> tuple[int, str]:
        payload = customer_payload(preferred_language="en")
        response = client.post("/api/v1/customers", json=payload, headers=agent.headers)
        assert response.status_code == 201, response.text
        cid = response.json()["id"]
        if consent:
            granted = client.post(
                f"/api/v1/customers/{cid}/consents",
                json={"purpose": "surveys", "channel": "email", "granted": True, "source": "web"},
                headers=agent.headers,
            )
            assert granted.status_code in (200, 201), granted.text
        return cid, payload["emails"][0]

    return make
