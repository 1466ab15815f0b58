"""Test data builders: a valid payload by default, overridden where a test cares."""

from __future__ import annotations

from itertools import count
from typing import Any

_serial = count(1)


def customer_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_serial)
    payload: dict[str, Any] = {
        "first_name": "Hélène",
        "last_name": f"Dupont{n}",
        "preferred_language": "fr",
        "emails": [f"helene.dupont{n}@example.fr"],
        "phones": [f"+33 6 12 {n // 100 % 100:02d} {n % 100:02d} 56"],
        "city": "Lyon",
        "country": "FR",
    }
    payload.update(overrides)
    return payload
