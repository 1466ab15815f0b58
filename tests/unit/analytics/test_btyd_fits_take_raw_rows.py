"""Every fit takes one row per customer: duplicates are collapsed inside, nothing to call first."""

import numpy as np
import pytest

from egards.analytics.btyd import fit_bg_bb, fit_bg_nbd, fit_gamma_gamma, fit_pareto_nbd
from egards.analytics.btyd._rows import collapse_duplicates
from egards.analytics.datasets import (
    load_cdnow_summary,
    load_cdnow_summary_with_spend,
    load_donations,
)
from egards.analytics.summary import compress


def test_collapsing_sums_the_weights_of_identical_rows():
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 2.0] * 3)
    t = np.array([0.0, 5.0, 0.0, 5.0, 0.0, 7.0] * 3)
    w = np.arange(1.0, 19.0)
    collapsed_w, (cx, ct) = collapse_duplicates(w, x, t)
    assert cx.size == 3
    assert collapsed_w.sum() == pytest.approx(w.sum())
    for value, weight in zip(cx, collapsed_w, strict=True):
        assert weight == pytest.approx(w[x == value].sum())
    assert dict(zip(cx, ct, strict=True)) == {0.0: 0.0, 1.0: 5.0, 2.0: 7.0}


def test_rows_that_hardly_repeat_are_left_as_they_are():
    x = np.arange(10.0)
    w = np.ones(10)
    same_w, (same_x,) = collapse_duplicates(w, x)
    assert same_x is x and same_w is w


@pytest.mark.parametrize("fit", [fit_bg_nbd, fit_pareto_nbd], ids=["bg_nbd", "pareto_nbd"])
def test_a_fit_on_raw_rows_equals_the_fit_on_distinct_rows_with_their_counts(fit):
    data = load_cdnow_summary()
    x, t_x, big_t = data["frequency"], data["recency"], data["T"]
    xu, tu, Tu, w, _ = compress(frequency=x, recency=t_x, T=big_t)
    assert xu.size < 0.9 * x.size  # the data do repeat
    raw = fit(frequency=x, recency=t_x, T=big_t)
    weighted = fit(frequency=xu, recency=tu, T=Tu, weights=w)
    assert raw.log_likelihood == pytest.approx(weighted.log_likelihood, abs=1e-6)
    for name, value in raw.model.params.items():
        assert value == pytest.approx(weighted.model.params[name], rel=1e-5)
    assert raw.diagnostics.n_observations == x.size


def test_bg_bb_on_one_row_per_donor_equals_the_published_aggregated_fit():
    data = load_donations()
    counts = data["weights"].astype(int)
    aggregated = fit_bg_bb(
        frequency=data["frequency"],
        recency=data["recency"],
        n_periods=data["periods"],
        weights=data["weights"],
    )
    raw = fit_bg_bb(
        frequency=np.repeat(data["frequency"], counts),
        recency=np.repeat(data["recency"], counts),
        n_periods=np.repeat(data["periods"], counts),
    )
    assert raw.diagnostics.n_observations == counts.sum() == 11_104
    assert raw.log_likelihood == pytest.approx(aggregated.log_likelihood, abs=1e-6)
    for name, value in raw.model.params.items():
        assert value == pytest.approx(aggregated.model.params[name], rel=1e-5)


def test_gamma_gamma_collapses_repeated_spend_rows_and_keeps_given_weights():
    data = load_cdnow_summary_with_spend()
    repeat = data["x"] > 0
    x, zbar = data["x"][repeat], data["zbar"][repeat]
    once = fit_gamma_gamma(frequency=x, monetary_value=zbar)
    # Every customer twice, or once with weight 2: the same estimates, twice the likelihood.
    doubled = fit_gamma_gamma(frequency=np.tile(x, 2), monetary_value=np.tile(zbar, 2))
    weighted = fit_gamma_gamma(frequency=x, monetary_value=zbar, weights=np.full(x.size, 2.0))
    assert doubled.log_likelihood == pytest.approx(2 * once.log_likelihood, rel=1e-9)
    assert doubled.log_likelihood == pytest.approx(weighted.log_likelihood, rel=1e-9)
    for name, value in once.model.params.items():
        assert doubled.model.params[name] == pytest.approx(value, rel=1e-5)
