"""The analytics page in French: programme names, numbers the French way, charts in their cards."""

from __future__ import annotations

import re

from egards.accounts.domain import SYSTEM, Role
from egards.analytics import service
from egards.loyalty import service as loyalty
from tests.conftest import login
from tests.integration.analytics.conftest import AS_OF


def test_the_page_in_french_names_programmes_and_writes_numbers_the_french_way(
    client, make_person, population
):
    db = client.app.state.db
    with db.unit_of_work() as session:
        for customer_id in population[:40]:
            loyalty.enrol(
                session, actor=SYSTEM, customer_id=customer_id, programme_code="flying_blue"
            )
    service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    supervisor = make_person(Role.SUPERVISOR)
    token = login(client, supervisor.email)
    client.post("/locale", data={"locale": "fr", "csrf_token": token, "next": "/analytics"})
    page = client.get("/analytics").text

    # The programme by its French name, never by its code.
    assert '<h3 class="programme-name">Flying Blue (exemple)</h3>' in page
    assert "flying_blue</h3>" not in page.lower()
    assert "Explorer" in page or "Explorateur" in page
    # Axis numbers with Babel's French marks: a narrow no-break space groups the thousands.
    symbols = re.search(r"var EGARDS_NUMBER = (\{.*?\});", page)
    assert symbols is not None
    assert '"group": "\\u202f"' in symbols.group(1) and '"decimal": ","' in symbols.group(1)
    assert "EGARDS_AXIS" in page.split('id="clv-chart"')[1]
    # Counts in the header through Babel too (400 customers: no English comma anywhere).
    assert re.search(r"400 clients|400 customers", page)
    # Each chart sits in a sized box inside its card, and the tier table scrolls in its own
    # column instead of being covered by the chart.
    tier_section = page.split('id="tier-value"')[1].split("</section>")[0]
    assert '<div class="table-scroll"><table>' in tier_section
    assert "maintainAspectRatio: false" in tier_section
    for canvas in ("tier-flying_blue", "segments-chart", "clv-chart"):
        assert re.search(rf'<div class="chart" style="height: \d+px"><canvas id="{canvas}"', page)
