"""How well a purchase model fits: the checks of the buy-till-you-die literature as tables.

* :func:`period_transactions`: customers by number of repeat purchases in the calibration
  window, actual against the model (``lifetimes``' ``plot_period_transactions``);
* :func:`holdout_by_frequency`: holdout purchases by calibration frequency, actual against
  predicted (FHL 2005, figure 4: on CDNOW 1,882 made against 1,653 predicted by BG/NBD);
* :func:`frequency_recency_matrix`: expected purchases and P(alive) over a grid of frequency
  and recency at a given T;
* :func:`spend_frequency_correlation`: the Gamma-Gamma model assumes spend independent of
  frequency; their correlation among repeat buyers should be close to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from egards.analytics.btyd import BetaGeoModel, ParetoNBDModel
from egards.analytics.btyd.distributions import probability_of_purchases, simulate_pareto_nbd

__all__ = [
    "Comparison",
    "frequency_recency_matrix",
    "holdout_by_frequency",
    "period_transactions",
    "spend_frequency_correlation",
]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Actual against model, per row label ("0", "1", ..., "7+")."""

    labels: list[str]
    actual: np.ndarray
    model: np.ndarray

    def rows(self) -> list[tuple[str, float, float]]:
        return [
            (label, float(a), float(m))
            for label, a, m in zip(self.labels, self.actual, self.model, strict=True)
        ]


def _labels(top: int) -> list[str]:
    return [str(k) for k in range(top)] + [f"{top}+"]


def period_transactions(
    model: BetaGeoModel | ParetoNBDModel,
    *,
    frequency,
    T,
    weights=None,
    top: int = 7,
    seed: int = 0,
) -> Comparison:
    """Number of customers with 0, 1, ..., ``top``+ repeat purchases: actual and expected.
    ``weights``, when given, says how many customers each row stands for (distinct rows).

    For BG/NBD and MBG/NBD the expectation is exact (P(X(T) = n) summed over the customers'
    T); for Pareto/NBD it is the mean of a simulation of the same customers (ten draws).
    """
    x = np.minimum(np.asarray(frequency, dtype=float), top).astype(np.int64)
    big_t = np.asarray(T, dtype=float)
    weights = np.ones(x.size) if weights is None else np.asarray(weights, dtype=float)
    actual = np.bincount(x, weights=weights, minlength=top + 1)[: top + 1]
    expected = np.zeros(top + 1)
    if isinstance(model, BetaGeoModel):
        values, inverse = np.unique(big_t, return_inverse=True)
        counts = np.bincount(inverse.reshape(-1), weights=weights, minlength=values.size)
        n = np.arange(top, dtype=float)
        for t, count in zip(values, counts, strict=True):
            p = probability_of_purchases(model, t=float(t), n=n)
            expected[:top] += count * p
            expected[top] += count * max(0.0, 1.0 - float(p.sum()))
    else:
        rng = np.random.default_rng(seed)
        draws = 10
        customers_t = np.repeat(big_t, weights.astype(np.int64))
        for _ in range(draws):
            simulated, _, _ = simulate_pareto_nbd(model, T=customers_t, rng=rng)
            k = np.minimum(simulated, top).astype(np.int64)
            expected += np.bincount(k, minlength=top + 1)[: top + 1] / draws
    return Comparison(_labels(top), actual, expected)


def holdout_by_frequency(
    *, frequency, holdout_actual, holdout_expected, top: int = 7
) -> Comparison:
    """Mean holdout purchases per customer by calibration frequency, actual and predicted."""
    x = np.minimum(np.asarray(frequency, dtype=float), top).astype(np.int64)
    size = np.bincount(x, minlength=top + 1)[: top + 1].astype(float)
    actual = np.bincount(x, weights=np.asarray(holdout_actual, float), minlength=top + 1)
    expected = np.bincount(x, weights=np.asarray(holdout_expected, float), minlength=top + 1)
    safe = np.maximum(size, 1.0)
    return Comparison(_labels(top), actual[: top + 1] / safe, expected[: top + 1] / safe)


def frequency_recency_matrix(
    model, *, T: float, t: float, max_frequency: int = 20, recency_steps: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frequencies, recencies, expected purchases over ``t`` and P(alive), on a grid at ``T``.

    Rows are frequencies 0..``max_frequency``, columns recencies from 0 to T; a customer
    with no repeat purchase has recency 0, so the cells of frequency 0 and positive recency
    are NaN.
    """
    frequencies = np.arange(max_frequency + 1, dtype=float)
    recencies = np.linspace(0.0, T, recency_steps + 1)
    x, t_x = np.meshgrid(frequencies, recencies, indexing="ij")
    possible = (x > 0) | (t_x == 0)
    xs, ts = x[possible], t_x[possible]
    big_t = np.full(xs.size, float(T))
    expected = np.full(x.shape, np.nan)
    alive = np.full(x.shape, np.nan)
    expected[possible] = model.conditional_expected_purchases(
        t=t, frequency=xs, recency=ts, T=big_t
    )
    alive[possible] = model.probability_alive(frequency=xs, recency=ts, T=big_t)
    return frequencies, recencies, expected, alive


def spend_frequency_correlation(*, frequency, monetary_value) -> float:
    """Pearson correlation of mean spend and frequency among repeat buyers (NaN if fewer
    than three)."""
    x = np.asarray(frequency, dtype=float)
    spend = np.asarray(monetary_value, dtype=float)
    repeat = x > 0
    if np.count_nonzero(repeat) < 3 or np.ptp(x[repeat]) == 0 or np.ptp(spend[repeat]) == 0:
        return float("nan")
    return float(np.corrcoef(x[repeat], spend[repeat])[0, 1])


def comparison_svg(
    comparison: Comparison,
    *,
    title: str,
    y_label: str,
    actual_label: str = "actual",
    model_label: str = "model",
    number=None,
) -> str:
    """A grouped bar chart (actual dark, model light) as a standalone SVG document.

    ``number`` writes the axis values (for example :func:`egards.formats.format_number` in
    the reader's locale); the legend's words are given already translated."""
    from xml.sax.saxutils import escape

    width, height, left, bottom, top = 560, 320, 56, 40, 36
    plot_w, plot_h = width - left - 16, height - bottom - top
    peak = float(max(comparison.actual.max(initial=0.0), comparison.model.max(initial=0.0)))
    peak = peak if peak > 0 else 1.0
    group = plot_w / max(len(comparison.labels), 1)
    bar = group * 0.36
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="20" font-size="13">{escape(title)}</text>',
        f'<text x="12" y="{top + plot_h / 2:.0f}" transform="rotate(-90 12 '
        f'{top + plot_h / 2:.0f})" text-anchor="middle">{escape(y_label)}</text>',
    ]
    for k in range(5):
        value = peak * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(number(value) if number else f'{value:.3g}')}</text>"
        )
    for i, (label, actual, model) in enumerate(comparison.rows()):
        x0 = left + i * group + group * 0.12
        for j, (value, colour) in enumerate(((actual, "#1f4e79"), (model, "#9dc3e6"))):
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(label)}: '
                f"{value:.4g}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + bar:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    legend_x = left + plot_w - 150
    parts.append(
        f'<rect x="{legend_x}" y="8" width="10" height="10" fill="#1f4e79"/>'
        f'<text x="{legend_x + 14}" y="17">{escape(actual_label)}</text>'
        f'<rect x="{legend_x + 70}" y="8" width="10" height="10" fill="#9dc3e6"/>'
        f'<text x="{legend_x + 84}" y="17">{escape(model_label)}</text></svg>'
    )
    return "".join(parts)
