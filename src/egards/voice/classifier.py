"""What a customer wrote, understood offline: language, sentiment, churn threat and topic.

The method, chosen for quality on customer messages and for speed on two cores with no
network: word and character TF-IDF (character n-grams absorb typos, slang and the two
languages' spellings) joined with explainable lexicon features (:mod:`egards.voice.lexicon`),
under logistic regressions trained locally from the labelled set shipped in
``voice/data/`` (plus the agents' corrections). The churn threat is decided first by
high-precision phrases, then by the model only when it is very sure; the language by
function words. Training is deterministic: the same data gives the same model, so a server
without a saved model trains one at first use in about a second instead of downloading
anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from egards.voice import lexicon
from egards.voice.lexicon import fold, words

MODEL_VERSION = "voice-tfidf-lex-1"
LANGUAGES = ("fr", "en", "other")
SENTIMENTS = ("negative", "neutral", "positive")
TOPICS = (
    "delay",
    "flight_cancellation",
    "baggage",
    "lounge_status",
    "miles",
    "billing",
    "outage",
    "installation",
    "technician",
    "customer_service",
    "price",
    "contract_cancellation",
    "praise",
)
# The model alone calls a churn threat only above this probability (the phrases decide the
# rest): precision first, as a false alarm costs an agent's attention and a retention offer.
CHURN_MODEL_THRESHOLD = 0.8


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    sentiment: str
    churn: bool
    topic: str
    id: str = ""
    split: str = "train"


@dataclass(frozen=True)
class Analysis:
    """What the classifier says about one message."""

    language: str
    sentiment: str
    sentiment_score: float  # -1 (most negative) … +1 (most positive)
    churn_threat: bool
    churn_probability: float
    churn_phrase: str | None  # the words that made it a threat, when a phrase did
    topic: str
    topic_confidence: float
    model_version: str = MODEL_VERSION
    scores: dict[str, float] = field(default_factory=dict)


def load_examples(split: str | None = None) -> list[Example]:
    """The labelled set shipped with Égards (``voice/data/*.jsonl``), one split or all."""
    out = []
    folder = resources.files("egards.voice") / "data"
    for name in sorted(p.name for p in folder.iterdir() if p.name.endswith(".jsonl")):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if split is not None and row["split"] != split:
                continue
            out.append(
                Example(
                    text=row["text"],
                    lang=row["lang"],
                    sentiment=row["sentiment"],
                    churn=bool(row["churn"]),
                    topic=row["topic"],
                    id=row["id"],
                    split=row["split"],
                )
            )
    return out


def detect_language(text: str) -> str:
    """fr, en or other, by the function words a message uses most."""
    tokens = words(fold(text))
    if not tokens:
        return "other"
    counts = {lang: sum(t in stop for t in tokens) for lang, stop in lexicon.STOPWORDS.items()}
    best = max(counts, key=lambda lang: counts[lang])
    if counts[best] == 0:
        return "other"
    if best in ("fr", "en"):
        return best
    # Another language wins only clearly: French and English share short words with them.
    if counts[best] > max(counts["fr"], counts["en"]):
        return "other"
    return "fr" if counts["fr"] >= counts["en"] else "en"


def churn_phrase(text: str) -> str | None:
    """The phrase that states an intent to leave, or None (a negation cancels a match)."""
    folded = fold(text)
    if any(r.search(folded) for r in lexicon.CHURN_NEGATION_REGEX):
        return None
    for pattern in lexicon.CHURN_REGEX:
        if found := pattern.search(folded):
            return _original_sentence(text, folded, found.start())
    return None


def _original_sentence(text: str, folded: str, at: int) -> str:
    """The sentence of ``text`` holding position ``at`` of its folded form (same length when
    folding removes only accents, which is the usual case; otherwise the whole text)."""
    source = text if len(text) == len(folded) else folded
    start = max(source.rfind(c, 0, at) for c in ".!?\n")
    ends = [i for c in ".!?\n" if (i := source.find(c, at)) != -1]
    end = min(ends) + 1 if ends else len(source)
    return source[start + 1 : end].strip()[:200]


_QUESTION = re.compile(r"\?\s*$")


def _shouting(text: str) -> bool:
    letters = sum(c.isalpha() for c in text)
    return sum(c.isupper() for c in text) > 0.3 * max(1, letters)


def lexicon_features(texts: Sequence[str]) -> sparse.csr_matrix:
    """Counts of the lexicons' cues per message, scaled to small numbers."""
    rows = []
    for text in texts:
        folded = fold(text)
        tokens = words(folded)
        padded = f" {' '.join(tokens)} "
        negative = sum(t in lexicon.NEGATIVE for t in tokens)
        positive = sum(t in lexicon.POSITIVE for t in tokens)
        irony = sum(cue in folded for cue in lexicon.IRONY)
        neutral = sum(cue in folded for cue in lexicon.NEUTRAL)
        topic_hits = [sum(f" {cue} " in padded for cue in cues) for cues in lexicon.TOPICS.values()]
        phrase = 1.0 if churn_phrase(text) else 0.0
        rows.append(
            [
                np.log1p(negative),
                np.log1p(positive),
                float(irony > 0),
                np.log1p(neutral),
                float(bool(_QUESTION.search(text.strip()))),
                float(text.count("!") > 0),
                float(
                    sum(c.isupper() for c in text) > 0.3 * max(1, sum(c.isalpha() for c in text))
                ),
                phrase,
                *[np.log1p(h) for h in topic_hits],
            ]
        )
    return sparse.csr_matrix(np.asarray(rows, dtype=np.float64))


class Features:
    """Word and character TF-IDF beside the lexicon features."""

    def __init__(self, *, lexicon_weight: float = 1.0) -> None:
        self.word = TfidfVectorizer(
            preprocessor=fold,
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=1,
            token_pattern=r"(?u)\b\w+\b",
        )
        self.char = TfidfVectorizer(
            preprocessor=fold, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
        )
        self.lexicon_weight = lexicon_weight

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        stacked = sparse.hstack(
            [
                self.word.fit_transform(texts),
                self.char.fit_transform(texts),
                self.lexicon_weight * lexicon_features(texts),
            ],
            format="csr",
        )
        # scipy's stubs give hstack every format's type; "csr" of matrices is a csr_matrix.
        return cast(sparse.csr_matrix, stacked)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        stacked = sparse.hstack(
            [
                self.word.transform(texts),
                self.char.transform(texts),
                self.lexicon_weight * lexicon_features(texts),
            ],
            format="csr",
        )
        return cast(sparse.csr_matrix, stacked)


def _logistic(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=2000, class_weight="balanced", solver="lbfgs")


class Classifier:
    """The trained models of the four tasks (language needs no training)."""

    def __init__(
        self, *, sentiment_c: float = 10.0, topic_c: float = 10.0, lexicon_weight: float = 1.0
    ) -> None:
        self.features = Features(lexicon_weight=lexicon_weight)
        self.sentiment = _logistic(sentiment_c)
        self.topic = _logistic(topic_c)
        self.churn = _logistic(10.0)
        self.trained_on = 0

    def fit(self, examples: Sequence[Example]) -> Classifier:
        usable = [e for e in examples if e.lang in ("fr", "en")]
        texts = [e.text for e in usable]
        x = self.features.fit_transform(texts)
        self.sentiment.fit(x, [e.sentiment for e in usable])
        self.topic.fit(x, [e.topic for e in usable])
        self.churn.fit(x, [int(e.churn) for e in usable])
        self.trained_on = len(usable)
        return self

    def analyse_many(self, texts: Sequence[str]) -> list[Analysis]:
        if not texts:
            return []
        x = self.features.transform(texts)
        sentiment = self.sentiment.predict_proba(x)
        topic = self.topic.predict_proba(x)
        churn = self.churn.predict_proba(x)[:, 1]
        s_classes = list(self.sentiment.classes_)
        t_classes = list(self.topic.classes_)
        out = []
        for i, text in enumerate(texts):
            s = sentiment[i]
            phrase = churn_phrase(text)
            best_topic = int(np.argmax(topic[i]))
            positive = s[s_classes.index("positive")] if "positive" in s_classes else 0.0
            negative = s[s_classes.index("negative")] if "negative" in s_classes else 0.0
            out.append(
                Analysis(
                    language=detect_language(text),
                    sentiment=s_classes[int(np.argmax(s))],
                    sentiment_score=round(float(positive - negative), 3),
                    churn_threat=phrase is not None or churn[i] >= CHURN_MODEL_THRESHOLD,
                    churn_probability=round(float(max(churn[i], 0.99 if phrase else 0.0)), 3),
                    churn_phrase=phrase,
                    topic=t_classes[best_topic],
                    topic_confidence=round(float(topic[i][best_topic]), 3),
                )
            )
        return out

    def analyse(self, text: str) -> Analysis:
        return self.analyse_many([text])[0]


def train(extra: Iterable[Example] = ()) -> Classifier:
    """A classifier trained on the shipped training split plus ``extra`` examples (the
    agents' corrections). Deterministic."""
    return Classifier().fit([*load_examples("train"), *extra])


def save(classifier: Classifier, path: Path) -> None:
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"version": MODEL_VERSION, "classifier": classifier}, path)


def load(path: Path) -> Classifier | None:
    """The saved classifier, or None when there is none or it is of another version."""
    import joblib

    if not path.exists():
        return None
    try:
        data: dict[str, Any] = joblib.load(path)
    except Exception:  # an unreadable or foreign file: train again rather than fail intake
        return None
    if data.get("version") != MODEL_VERSION:
        return None
    return data["classifier"]
