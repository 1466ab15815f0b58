"""The case page's reply macros come from the catalogue, in each language the page offers,
greeting the customer as a letter in that language would."""

from __future__ import annotations

from egards.cases.pages import macros


def test_reply_macros_are_offered_in_french_and_english_with_the_case_number():
    offered = macros(name="Marie", number="C-000042")
    assert list(offered) == ["fr", "en"]
    assert [title for title, _ in offered["fr"]] == [
        "Prise en charge",
        "Demande d'information",
        "Résolution",
        "Excuses",
    ]
    assert offered["en"][0][1].startswith(
        "Hello Marie,\n\nI am taking care of your request C-000042"
    )
    for (_, french), (_, english) in zip(offered["fr"], offered["en"], strict=True):
        assert french.startswith("Bonjour Marie,") and french.endswith("Bien cordialement,")
        assert ("C-000042" in french) == ("C-000042" in english)


def test_an_unnamed_customer_is_greeted_as_a_letter_greets_someone_unnamed():
    offered = macros(name=None, number="C-000042")
    assert all(text.startswith("Dear Sir or Madam,\n\n") for _, text in offered["en"])
    assert all(text.startswith("Madame, Monsieur,\n\n") for _, text in offered["fr"])


def test_a_name_is_written_as_given_even_with_braces():
    offered = macros(name="{number}", number="C-000042")
    assert offered["en"][3][1].startswith("Hello {number},")
