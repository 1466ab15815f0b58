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
    # The run's stored notes are messages, written in the reader's language when shown.
    assert "no subscription data" not in page and "aucune donnée d&#39;abonnement" in page
    churn = page.split('id="churn-model"')[1].split("</section>")[0]
    assert "historique insuffisant" in churn or "Gradient boosting calibré" in churn, churn
    assert "not enough history" not in churn
    # The calibration's bins as percentages, not "0.0-0.1".
    assert not re.search(r"\d\.\d-\d\.\d", churn)
    assert re.search(r"<td>0\s%\s–\s10\s%</td>", churn), churn
    # Each chart sits in a sized box inside its card, and the tier table scrolls in its own
    # column instead of being covered by the chart.
    tier_section = page.split('id="tier-value"')[1].split("</section>")[0]
    assert '<div class="table-scroll"><table>' in tier_section
    assert "maintainAspectRatio: false" in tier_section
    for canvas in ("tier-flying_blue", "segments-chart", "clv-chart"):
        assert re.search(rf'<div class="chart" style="height: \d+px"><canvas id="{canvas}"', page)


def test_the_run_shows_its_purchase_model_and_the_period_transactions_chart(
    client, make_person, population
):
    run = service.score(client.app.state.db, actor=SYSTEM, as_of=AS_OF, source="imported")
    bg = run.report["value_models"]["bg_nbd"]
    stored = bg["period_transactions"]
    # Every scored customer is counted once in the actual bars; the model's bars add up to
    # the same customers (the expectation of a distribution over 0, 1, ..., 7+).
    assert sum(stored["actual"]) == bg["customers"]
    assert abs(sum(stored["model"]) - bg["customers"]) < 0.5
    supervisor = make_person(Role.SUPERVISOR)
    token = login(client, supervisor.email)
    client.post("/locale", data={"locale": "fr", "csrf_token": token, "next": "/analytics"})
    page = client.get("/analytics").text
    section = page.split('id="purchase-model"')[1].split("</section>")[0]
    for name in ("r", "alpha", "a", "b"):
        assert f"<tr><td>{name}</td>" in section
    chart = page.split('id="period-transactions"')[1].split("</section>")[0]
    assert "<svg" in chart and "Clients par nombre d’achats répétés" in chart
    assert ">réel</text>" in chart and ">modèle</text>" in chart
    assert chart.count("<rect") >= 2 * len(stored["labels"])
    client.post("/locale", data={"locale": "en", "csrf_token": token, "next": "/analytics"})
    english = client.get("/analytics").text
    assert "Customers by number of repeat purchases" in english and ">actual</text>" in english
