"""The French console shows no English: every main page of the demo, crawled in Chromium,
is checked against the English strings of the catalogues that French translates."""

from __future__ import annotations

import re

import pytest

from egards.i18n import CATALOGUE_FOLDERS, catalogue_path, compile_catalogue
from tests.e2e.test_accessibility import main_pages
from tests.e2e.test_agent_journey import sign_in

pytestmark = pytest.mark.browser

# Pages a French supervisor reads all day; every entry of the menu, a 360, a case, an offer
# and an idea are added to them (``main_pages``).
PAGES = [
    "/customers",
    "/customers/1",
    "/customers/2",
    "/customers/7",
    "/cases",
    "/loyalty",
    "/analytics",
    "/analytics/runs/1",
    "/recovery",
    "/recovery/approvals",
    "/recovery/returns",
    "/audit",
]
# English words that French writes the same way or that name a thing the customer sees as
# such (brands, codes, units): not a missing translation when seen on a French page.
ALLOWED = {
    "Flying Blue",
    "Miles",
    "XP",
    "CSAT",
    "RFM",
    "CLV",
    "BG/NBD",
    "Gamma-Gamma",
    "OK",
    "Total",
}
TEXTS = """
() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    const skipped = "script, style, noscript, [lang='en'], [translate='no']";
    if (!parent || parent.closest(skipped)) continue;
    const text = node.textContent.replace(/\\s+/g, " ").trim();
    if (text) out.push(text);
  }
  for (const el of document.querySelectorAll("[placeholder], [aria-label], [title]")) {
    for (const name of ["placeholder", "aria-label", "title"]) {
      const value = el.getAttribute(name);
      if (value && value.trim()) out.push(value.trim());
    }
  }
  return out;
}
"""


def english_strings() -> tuple[set[str], list[tuple[str, re.Pattern[str]]]]:
    """English msgids that French translates differently: whole strings, and patterns for
    those with placeholders (their words around the values)."""
    exact: set[str] = set()
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for folder in CATALOGUE_FOLDERS:
        path = catalogue_path(folder, "fr")
        if not path.is_file():
            continue
        compiled = compile_catalogue(path.read_text(encoding="utf-8"), "fr")
        for key, french in compiled._catalog.items():
            english = key if isinstance(key, str) else None
            if not english or "\x04" in english or french == english or english in ALLOWED:
                continue
            if "{" in english:
                literal = re.sub(r"\{\w+\}", " ", english)
                if len(re.findall(r"[A-Za-z]{3,}", literal)) >= 2:
                    parts = [re.escape(p) for p in re.split(r"\{\w+\}", english)]
                    patterns.append((english, re.compile("^" + ".+?".join(parts) + "$")))
            elif len(english) > 2 and re.search(r"[A-Za-z]", english):
                exact.add(english)
    return exact, patterns


def english_on(page, exact: set[str], patterns: list[tuple[str, re.Pattern[str]]]) -> set[str]:
    """The English catalogue strings shown on the page as it is."""
    found = set()
    for text in page.evaluate(TEXTS):
        if text in exact:
            found.add(text)
        elif " " in text:
            found.update(english for english, pattern in patterns if pattern.match(text))
    return found


def test_the_french_console_shows_no_string_of_the_english_catalogue(page):
    sign_in(page, "supervisor@demo.egards.fr")
    if page.locator("html").get_attribute("lang") != "fr":
        page.click("#switch-locale")
    assert page.locator("html").get_attribute("lang") == "fr"
    exact, patterns = english_strings()
    found: dict[str, set[str]] = {}
    for path in dict.fromkeys([*PAGES, *main_pages(page)]):
        response = page.goto(path)
        assert response is not None and response.status < 400, path
        for english in english_on(page, exact, patterns):
            found.setdefault(english, set()).add(path)
    assert not found, "English on French pages: " + "; ".join(
        f"{text!r} on {', '.join(sorted(paths))}" for text, paths in sorted(found.items())
    )
