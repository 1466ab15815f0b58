"""The text classifier on the labelled set shipped with Égards: quality on the held-out test
split slightly below the targets of issue 18 (so that a regression fails), a split that shares
no wording, the churn phrases' precision, and the language labelled "other" when it is."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from egards.voice import classifier


@pytest.fixture(scope="module")
def examples():
    return classifier.load_examples()


@pytest.fixture(scope="module")
def model():
    return classifier.train()


@pytest.fixture(scope="module")
def predictions(examples, model):
    test = [e for e in examples if e.split == "test" and e.lang in ("fr", "en")]
    return test, model.analyse_many([e.text for e in test])


def _grams(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_the_labelled_set_is_large_balanced_between_languages_and_covers_every_label(examples):
    languages = Counter(e.lang for e in examples)
    assert languages["fr"] >= 300 and languages["en"] >= 300 and languages["other"] >= 20
    assert set(e.topic for e in examples) == set(classifier.TOPICS)
    assert set(e.sentiment for e in examples) == set(classifier.SENTIMENTS)
    assert sum(e.churn for e in examples) >= 100
    assert len({e.text for e in examples}) == len(examples)  # no message twice


def test_no_wording_is_shared_between_the_training_and_the_test_split(examples):
    seen = set().union(*(_grams(e.text) for e in examples if e.split == "train"))
    shared = [e.id for e in examples if e.split == "test" and _grams(e.text) & seen]
    assert shared == []


def test_sentiment_macro_f1_on_the_test_split(predictions):
    test, found = predictions
    assert (
        f1_score([e.sentiment for e in test], [a.sentiment for a in found], average="macro") >= 0.83
    )


def test_topic_macro_f1_on_the_test_split(predictions):
    test, found = predictions
    assert f1_score([e.topic for e in test], [a.topic for a in found], average="macro") >= 0.78


def test_churn_threat_precision_and_recall_on_the_test_split(predictions):
    test, found = predictions
    truth, said = [e.churn for e in test], [a.churn_threat for a in found]
    assert precision_score(truth, said) >= 0.93
    assert recall_score(truth, said) >= 0.83


def test_language_is_detected_and_other_languages_are_labelled_other(examples):
    test = [e for e in examples if e.split == "test"]
    right = sum(classifier.detect_language(e.text) == e.lang for e in test)
    assert right / len(test) >= 0.97
    assert classifier.detect_language("Il mio volo è partito con tre ore di ritardo.") == "other"


def test_a_negated_or_already_done_cancellation_is_no_threat():
    assert (
        classifier.churn_phrase("Je ne compte pas partir, je voudrais juste une offre moins chère.")
        is None
    )
    assert classifier.churn_phrase("I cancelled in May and you still charge me.") is None
    assert classifier.churn_phrase("My flight was cancelled, please rebook me.") is None
    assert classifier.churn_phrase("Je ne serai plus un client Air France.") is not None


def test_training_is_deterministic(model):
    text = "Encore une coupure internet, je vais voir ailleurs."
    assert classifier.train().analyse(text) == model.analyse(text)
