"""The case page's reply macros come from the catalogue, in each language the page offers."""

from __future__ import annotations

from egards.cases.pages import macros


def test_reply_macros_are_offered_in_french_and_english_with_the_same_placeholders():
    offered = macros()
    assert list(offered) == ["fr", "en"]
    assert [title for title, _ in offered["fr"]] == [
        "Prise en charge",
        "Demande d'information",
        "Résolution",
        "Excuses",
    ]
    assert offered["en"][0][1].startswith("Hello {name},\n\nI am taking care of your request")
    for (_, french), (_, english) in zip(offered["fr"], offered["en"], strict=True):
        assert french.startswith("Bonjour {name},") and french.endswith("Bien cordialement,")
        assert ("{number}" in french) == ("{number}" in english)
