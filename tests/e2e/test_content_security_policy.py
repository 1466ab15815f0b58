"""The console's own pages work under its Content-Security-Policy (the ``page`` fixture fails
a test on any refusal): htmx, the templates' scripts and the charts; at 1366 px no chart or
table of these pages scrolls inside its card (the analytics chart once covered a column)."""

from __future__ import annotations

import pytest

from egards.demo.generate import DEMO_PASSWORD

pytestmark = pytest.mark.browser

CHART_PAGES = ["/case-reports", "/analytics", "/loyalty", "/recovery/budgets", "/recovery/returns"]


def test_every_chart_is_drawn_under_the_content_security_policy(page):
    page.goto("/login")
    page.fill("#email", "admin@demo.egards.fr")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/customers")
    drawn = {}
    for path in CHART_PAGES:
        response = page.goto(path)
        assert response.ok, path
        assert "img-src 'self' data:" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        canvases = page.locator("canvas").count()
        charts = page.evaluate("() => window.Chart ? Object.keys(Chart.instances).length : 0")
        assert charts == canvases, path
        cut = page.evaluate(
            """() => [...document.querySelectorAll('main .card')]
                  .filter(card => card.scrollWidth > card.clientWidth + 1)
                  .map(card => card.id || card.className)"""
        )
        assert cut == [], (path, cut)
        drawn[path] = charts
    assert sum(drawn.values()) > 0, drawn
