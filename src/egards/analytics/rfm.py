"""RFM scores (quintiles of recency, frequency and monetary value) and named segments.

Segments come from a rule table read top to bottom, first match wins, so that the marketing
team can change the vocabulary in settings without touching code. The default table follows
the widely used eleven-segment RFM grid (champions, loyal, at risk, hibernating, ...) and adds
the distinction the product cares about: a one-off buyer who is not recent is a *tourist*, not
a lost loyal customer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata

__all__ = [
    "DEFAULT_SEGMENT_RULES",
    "RFMScores",
    "SegmentRule",
    "assign_segments",
    "rfm_scores",
    "rules_from_mapping",
    "segment_labels",
]

UNSEGMENTED = "other"
UNSEGMENTED_LABELS = {"en": "Other", "fr": "Autres"}


@dataclass(frozen=True, slots=True)
class SegmentRule:
    """A segment: inclusive score ranges (1-5), optional bounds on the purchase count, and
    what people read instead of the code, by language (``{"en": ..., "fr": ...}``)."""

    name: str
    recency: tuple[int, int] = (1, 5)
    frequency: tuple[int, int] = (1, 5)
    monetary: tuple[int, int] = (1, 5)
    min_purchases: int | None = None
    max_purchases: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    def label(self, lang: str = "en") -> str:
        """The label in ``lang``, else in English, else the code made readable."""
        return self.labels.get(lang) or self.labels.get("en") or _readable(self.name)


def _readable(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _labels(en: str, fr: str) -> dict[str, str]:
    return {"en": en, "fr": fr}


DEFAULT_SEGMENT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule("new", recency=(4, 5), max_purchases=1, labels=_labels("New", "Nouveaux")),
    SegmentRule(
        "tourist", recency=(1, 3), max_purchases=1, labels=_labels("Tourists", "Touristes")
    ),
    SegmentRule(
        "champions",
        recency=(4, 5),
        frequency=(4, 5),
        monetary=(4, 5),
        labels=_labels("Champions", "Champions"),
    ),
    SegmentRule("loyal", recency=(3, 5), frequency=(4, 5), labels=_labels("Loyal", "Fidèles")),
    SegmentRule(
        "cannot_lose",
        recency=(1, 1),
        frequency=(4, 5),
        labels=_labels("Cannot lose them", "À ne pas perdre"),
    ),
    SegmentRule("at_risk", recency=(1, 2), frequency=(3, 5), labels=_labels("At risk", "À risque")),
    SegmentRule(
        "potential_loyalist",
        recency=(4, 5),
        frequency=(2, 3),
        labels=_labels("Potential loyalists", "Fidèles en devenir"),
    ),
    SegmentRule(
        "promising", recency=(4, 5), frequency=(1, 1), labels=_labels("Promising", "Prometteurs")
    ),
    SegmentRule(
        "needs_attention",
        recency=(3, 3),
        frequency=(2, 3),
        labels=_labels("Needs attention", "À surveiller"),
    ),
    SegmentRule(
        "about_to_sleep",
        recency=(3, 3),
        frequency=(1, 1),
        labels=_labels("About to sleep", "Sur le point de s'endormir"),
    ),
    SegmentRule(
        "hibernating",
        recency=(1, 2),
        frequency=(1, 2),
        labels=_labels("Hibernating", "En hibernation"),
    ),
)


@dataclass(frozen=True, slots=True)
class RFMScores:
    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray

    @property
    def code(self) -> np.ndarray:
        """The usual three-digit RFM cell, e.g. 545."""
        return 100 * self.recency + 10 * self.frequency + self.monetary


def _quantile_score(values: np.ndarray, bins: int) -> np.ndarray:
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    # Ties share a score: rank with the average method, then cut into equal-count bins.
    ranks = rankdata(values, method="average")
    return np.clip(np.ceil(ranks * bins / values.size), 1, bins).astype(np.int64)


def rfm_scores(
    *, days_since_last_purchase, purchase_count, monetary_value, bins: int = 5
) -> RFMScores:
    """Quintile scores, 5 being best: most recent, most frequent, highest spend."""
    recency = np.asarray(days_since_last_purchase, dtype=float)
    frequency = np.asarray(purchase_count, dtype=float)
    monetary = np.asarray(monetary_value, dtype=float)
    if not (recency.shape == frequency.shape == monetary.shape):
        raise ValueError("recency, frequency and monetary value must have the same length")
    return RFMScores(
        recency=_quantile_score(-recency, bins),
        frequency=_quantile_score(frequency, bins),
        monetary=_quantile_score(monetary, bins),
    )


def assign_segments(
    *,
    scores: RFMScores,
    purchase_count,
    rules: Sequence[SegmentRule] = DEFAULT_SEGMENT_RULES,
    default: str = UNSEGMENTED,
) -> np.ndarray:
    """Name each customer's segment with the first matching rule, ``default`` if none."""
    count = np.asarray(purchase_count)
    segment = np.full(scores.recency.shape, default, dtype=object)
    unassigned = np.ones(scores.recency.shape, dtype=bool)
    for rule in rules:
        match = unassigned.copy()
        for score, (low, high) in (
            (scores.recency, rule.recency),
            (scores.frequency, rule.frequency),
            (scores.monetary, rule.monetary),
        ):
            match &= (score >= low) & (score <= high)
        if rule.min_purchases is not None:
            match &= count >= rule.min_purchases
        if rule.max_purchases is not None:
            match &= count <= rule.max_purchases
        segment[match] = rule.name
        unassigned &= ~match
    return segment


def rules_from_mapping(
    mapping: Mapping[str, Mapping[str, Any]],
) -> tuple[SegmentRule, ...]:
    """Build a rule table from settings: ``{"champions": {"recency": [4, 5], ...}, ...}``.

    Order is preserved (first match wins); keys are ``recency``, ``frequency``, ``monetary``
    (two-element ranges), ``min_purchases``, ``max_purchases`` and ``label`` (one text, or
    ``{"en": ..., "fr": ...}``). A default segment keeps its labels unless given new ones.
    """
    allowed = {"recency", "frequency", "monetary", "min_purchases", "max_purchases", "label"}
    defaults = {rule.name: rule.labels for rule in DEFAULT_SEGMENT_RULES}
    rules = []
    for name, spec in mapping.items():
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"segment {name!r}: unknown keys {sorted(unknown)}")
        kwargs: dict = {}
        for key in ("recency", "frequency", "monetary"):
            if key in spec:
                low, high = spec[key]
                if not 1 <= int(low) <= int(high):
                    raise ValueError(f"segment {name!r}: bad {key} range")
                kwargs[key] = (int(low), int(high))
        for key in ("min_purchases", "max_purchases"):
            if spec.get(key) is not None:
                kwargs[key] = int(spec[key])
        label = spec.get("label")
        if isinstance(label, str):
            kwargs["labels"] = {"en": label, "fr": label}
        elif isinstance(label, Mapping):
            kwargs["labels"] = {str(k): str(v) for k, v in label.items()}
        elif label is not None:
            raise ValueError(f"segment {name!r}: label must be a text or a mapping by language")
        elif name in defaults:
            kwargs["labels"] = dict(defaults[name])
        rules.append(SegmentRule(name, **kwargs))
    return tuple(rules)


def segment_labels(
    rules: Sequence[SegmentRule] = DEFAULT_SEGMENT_RULES, lang: str = "en"
) -> dict[str, str]:
    """Segment code to label in ``lang``, for every segment of ``rules`` and the default one."""
    labels = {rule.name: rule.label(lang) for rule in rules}
    labels.setdefault(UNSEGMENTED, UNSEGMENTED_LABELS.get(lang, UNSEGMENTED_LABELS["en"]))
    return labels
