"""Benchmark: what customers write, understood offline (issue 18).

    python bench/bench_voice.py

Trains Égards' classifier (word + character TF-IDF with lexicon features, logistic
regressions, churn phrases first) and a plain reference (word TF-IDF + logistic regression,
one per task, churn threat at probability 0.5) on the training split of the labelled set
shipped in ``src/egards/voice/data``, then scores both on the test split: accuracy and
macro-F1 per task, churn-threat precision and recall, and throughput on one core (messages
analysed one by one, as intake does, and in one batch). Language is measured on every test
message (French, English and other); the other tasks on the French and English ones.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from egards.voice import classifier as voice


def reference(train: list[voice.Example], test: list[voice.Example]) -> dict[str, list]:
    """Word TF-IDF + logistic regression, one model per task, default settings."""
    vectoriser = TfidfVectorizer()
    x_train = vectoriser.fit_transform([e.text for e in train])
    x_test = vectoriser.transform([e.text for e in test])
    out = {}
    for task in ("lang", "sentiment", "topic", "churn"):
        model = LogisticRegression(max_iter=2000)
        model.fit(x_train, [getattr(e, task) for e in train])
        out[task] = list(model.predict(x_test))
    return out


def scores(truth: list, predicted: list) -> tuple[float, float]:
    return accuracy_score(truth, predicted), f1_score(truth, predicted, average="macro")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    examples = voice.load_examples()
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]
    test_fr_en = [e for e in test if e.lang in ("fr", "en")]
    print(
        f"labelled set: {len(examples)} messages ({len(train)} train, {len(test)} test;"
        f" {sum(e.lang == 'fr' for e in examples)} fr, {sum(e.lang == 'en' for e in examples)}"
        f" en, {sum(e.lang == 'other' for e in examples)} other)"
    )

    started = time.perf_counter()
    ours = voice.Classifier().fit(train)
    train_seconds = time.perf_counter() - started
    texts = [e.text for e in test_fr_en]
    started, cpu = time.perf_counter(), time.process_time()
    one_by_one = [ours.analyse(t) for t in texts]
    single_rate = len(texts) / (time.perf_counter() - started)
    single_cpu = len(texts) / (time.process_time() - cpu)
    started, cpu = time.perf_counter(), time.process_time()
    batch = ours.analyse_many(texts * 5)
    batch_rate = len(batch) / (time.perf_counter() - started)
    batch_cpu = len(batch) / (time.process_time() - cpu)
    languages = [voice.detect_language(e.text) for e in test]

    ref = reference(train, test)
    ref_fr_en = {
        k: [p for p, e in zip(v, test, strict=True) if e.lang in ("fr", "en")]
        for k, v in ref.items()
    }

    rows = []

    def add(task: str, truth: list, mine: list, theirs: list) -> None:
        a, f = scores(truth, mine)
        ra, rf = scores(truth, theirs)
        rows.append((task, a, f, ra, rf))

    add("language (fr/en/other)", [e.lang for e in test], languages, ref["lang"])
    add(
        "sentiment (neg/neu/pos)",
        [e.sentiment for e in test_fr_en],
        [a.sentiment for a in one_by_one],
        ref_fr_en["sentiment"],
    )
    add(
        "topic (13)",
        [e.topic for e in test_fr_en],
        [a.topic for a in one_by_one],
        ref_fr_en["topic"],
    )
    churn_truth = [e.churn for e in test_fr_en]
    churn_mine = [a.churn_threat for a in one_by_one]
    churn_ref = [bool(p) for p in ref_fr_en["churn"]]
    add("churn threat (yes/no)", churn_truth, churn_mine, churn_ref)
    precision = precision_score(churn_truth, churn_mine, zero_division=0)
    recall = recall_score(churn_truth, churn_mine, zero_division=0)
    ref_precision = precision_score(churn_truth, churn_ref, zero_division=0)
    ref_recall = recall_score(churn_truth, churn_ref, zero_division=0)

    print(f"trained in {train_seconds:.2f} s on {ours.trained_on} messages")
    header = (
        "| task | Égards accuracy | Égards macro-F1 | reference accuracy | reference macro-F1 |"
    )
    print(header)
    print("| --- | ---: | ---: | ---: | ---: |")
    for task, a, f, ra, rf in rows:
        print(f"| {task} | {a:.3f} | {f:.3f} | {ra:.3f} | {rf:.3f} |")
    print(
        f"| churn threat precision / recall | {precision:.3f} / {recall:.3f} | |"
        f" {ref_precision:.3f} / {ref_recall:.3f} | |"
    )
    print(
        f"throughput, one core: {single_rate:,.0f} messages/s one by one"
        f" ({single_cpu:,.0f} per CPU second), {batch_rate:,.0f} messages/s in a batch"
        f" ({batch_cpu:,.0f} per CPU second); load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
