"""What the voice feature says of an analysed message is product text from its catalogue: the
classifier's topics and the churn threat's sentence, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

from egards.i18n import render_message
from egards.voice import lexicon
from egards.voice.service import analysis


def test_every_topic_of_the_classifier_has_words_in_both_languages():
    assert set(analysis.TOPIC_LABELS) == set(lexicon.TOPICS)
    assert analysis.topic_label("baggage") == "Baggage"
    assert analysis.topic_label("baggage", "fr") == "Bagages"
    for topic in lexicon.TOPICS:
        assert analysis.topic_label(topic, "fr") != topic


def test_a_corrected_topic_is_stored_as_a_message_and_read_in_french():
    said = analysis._label_said("topic", "billing")
    assert render_message("en", said) == "topic Billing"
    assert render_message("fr", said).endswith("Facturation")


def test_a_churn_threat_says_when_the_customer_wrote_in_the_readers_language():
    moment = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert analysis.describe_threat(moment, "je pars") == "wrote on 1 December 2026: «je pars»"
    assert analysis.describe_threat(moment, "je pars", "fr") == (
        "a écrit le 1er décembre 2026 : « je pars »"
    )
