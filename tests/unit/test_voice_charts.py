"""The root-cause charts are well-formed SVG that say their numbers and escape their words."""

from __future__ import annotations

from xml.etree import ElementTree

from egards.voice import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_topic_bars_carry_each_number_and_escape_labels():
    drawn = charts.topic_bars(
        [("Retard <b>", 40, 10, 2), ("Bagages & co", 20, 0, 0), ("Prix", 0, 0, 0)],
        title="Messages par cause",
        legend=("Messages", "Négatifs", "Menaces de départ"),
    )
    root = ElementTree.fromstring(drawn)  # well-formed, so escaped
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Retard <b>" in texts and "Bagages & co" in texts
    assert "40 · 2⚠" in texts and "20" in texts
    assert "Prix" not in texts  # a topic nobody wrote about takes no line
    widths = {r.findtext(f"{SVG}title"): float(r.get("width", 0)) for r in root.iter(f"{SVG}rect")}
    assert widths["Retard <b>: 40"] == 2 * widths["Bagages & co: 20"]
    assert root.get("aria-label") == "Messages par cause"


def test_monthly_lines_one_per_topic_scaled_to_the_peak():
    drawn = charts.monthly_lines(
        ["2026-10", "2026-11", "2026-12"],
        [("Delay", [0, 5, 10]), ("Billing", [2, 2, 2])],
        title="By month",
    )
    root = ElementTree.fromstring(drawn)
    lines = list(root.iter(f"{SVG}polyline"))
    assert [line.findtext(f"{SVG}title") for line in lines] == ["Delay", "Billing"]
    ys = [float(p.split(",")[1]) for p in lines[0].get("points", "").split()]
    assert ys[0] > ys[1] > ys[2]  # higher counts are drawn higher
    assert "12-12" not in drawn and "26-12" in drawn
