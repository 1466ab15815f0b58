"""Each model reproduces the estimates its authors published on the reference data sets."""

import numpy as np
import pytest

from egards.analytics.btyd import (
    fit_bg_bb,
    fit_bg_nbd,
    fit_gamma_gamma,
    fit_mbg_nbd,
    fit_pareto_nbd,
    fit_sbg,
)
from egards.analytics.datasets import (
    load_cdnow_summary,
    load_cdnow_summary_with_spend,
    load_donations,
)
from egards.analytics.summary import compress

# Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1):
# customers surviving out of 1000 over 12 renewal years, two segments.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


@pytest.fixture(scope="module")
def cdnow():
    data = load_cdnow_summary()
    return data["frequency"], data["recency"], data["T"]


@pytest.fixture(scope="module")
def bg_nbd(cdnow):
    x, t_x, T = cdnow
    return fit_bg_nbd(frequency=x, recency=t_x, T=T)


def test_bgnbd_reproduces_fader_hardie_lee_2005_cdnow_estimates(bg_nbd):
    """FHL (2005), Marketing Science 24(2), section 4: r = 0.243, alpha = 4.414, a = 0.793,
    b = 2.426, LL = -9582.4 on the 2,357 CDNOW sample customers, 39-week calibration."""
    m = bg_nbd.model
    assert (round(m.r, 3), round(m.alpha, 3), round(m.a, 3), round(m.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert round(bg_nbd.log_likelihood, 1) == -9582.4
    assert bg_nbd.diagnostics.converged
    assert all(0 < se < np.inf for se in bg_nbd.standard_errors.values())


def test_bgnbd_expected_purchases_match_hardie_spreadsheet(bg_nbd):
    """E[X(t)] from the FHL (2005) Excel implementation, as asserted in the lifetimes tests."""
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    expected = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    np.testing.assert_allclose(bg_nbd.model.expected_purchases(times), expected, atol=6e-4)


def test_bgnbd_conditional_expectation_matches_the_paper_worked_example(bg_nbd):
    """FHL (2005), section 4: a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make
    1.226 purchases in the next 39 weeks."""
    value = bg_nbd.model.conditional_expected_purchases(
        t=39.0, frequency=[2], recency=[30.43], T=[38.86]
    )
    assert round(float(value[0]), 3) == 1.226


def test_fitting_compressed_rows_with_weights_gives_the_same_estimates(cdnow, bg_nbd):
    x, t_x, T = cdnow
    xu, tu, Tu, w, _ = compress(frequency=x, recency=t_x, T=T)
    assert len(xu) < len(x)
    compressed = fit_bg_nbd(frequency=xu, recency=tu, T=Tu, weights=w)
    assert compressed.log_likelihood == pytest.approx(bg_nbd.log_likelihood, abs=1e-6)
    assert compressed.model.r == pytest.approx(bg_nbd.model.r, rel=1e-5)


def test_pareto_nbd_reproduces_the_published_cdnow_estimates(cdnow):
    """Fader, Hardie & Lee (2005), "A note on implementing the Pareto/NBD model in MATLAB"
    (brucehardie.com/notes/008) and FHL (2005) Marketing Science: r = 0.553, alpha = 10.578,
    s = 0.606, beta = 11.669, LL = -9595.0 (values also asserted by lifetimes'
    test_params_out_is_close_to_Hardie_paper). beta is weakly identified (s.e. about 6), so it
    is checked to 0.005."""
    fit = fit_pareto_nbd(frequency=cdnow[0], recency=cdnow[1], T=cdnow[2])
    m = fit.model
    assert (round(m.r, 3), round(m.alpha, 3), round(m.s, 3)) == (0.553, 10.578, 0.606)
    assert m.beta == pytest.approx(11.669, abs=5e-3)
    assert round(fit.log_likelihood, 1) == -9595.0


def test_mbgnbd_matches_the_btydplus_reference_implementation_on_cdnow(cdnow):
    """MBG/NBD (Batislam et al. 2007) on CDNOW as estimated by the BTYDplus R package
    (M. Platzer) and asserted in lifetimes' test_params_out_is_close_to_BTYDplus:
    r = 0.525, alpha = 6.183, a = 0.891, b = 1.614. Not a value from the paper itself."""
    m = fit_mbg_nbd(frequency=cdnow[0], recency=cdnow[1], T=cdnow[2]).model
    assert (round(m.r, 3), round(m.alpha, 3), round(m.a, 3), round(m.b, 3)) == (
        0.525,
        6.183,
        0.891,
        1.614,
    )


def test_gamma_gamma_reproduces_the_published_spend_estimates_on_946_repeat_buyers():
    """Fader, Hardie & Lee (2005), "RFM and CLV", JMR 42(4), and Fader & Hardie (2013), "The
    Gamma-Gamma model of monetary value" (brucehardie.com/notes/025): p = 6.25, q = 3.74,
    gamma = 15.44. Our maximum is at gamma = 15.448 (the surface is flat: s.e. about 4), so
    gamma is checked to 0.01, as the lifetimes test suite does (2 decimals)."""
    data = load_cdnow_summary_with_spend()
    repeat = data["x"] > 0
    assert repeat.sum() == 946
    m = fit_gamma_gamma(frequency=data["x"][repeat], monetary_value=data["zbar"][repeat]).model
    assert (round(m.p, 2), round(m.q, 2)) == (6.25, 3.74)
    assert m.gamma == pytest.approx(15.44, abs=0.01)


def test_bgbb_reproduces_fader_hardie_shang_2010_donation_estimates():
    """FHS (2010), Marketing Science 29(6), table 2: alpha = 1.204, beta = 0.750,
    gamma = 0.657, delta = 2.783, LL = -33225.6 on 11,104 donors over 6 annual periods."""
    data = load_donations()
    fit = fit_bg_bb(
        frequency=data["frequency"],
        recency=data["recency"],
        n_periods=data["periods"],
        weights=data["weights"],
    )
    m = fit.model
    assert (round(m.alpha, 3), round(m.beta, 3), round(m.gamma, 3), round(m.delta, 3)) == (
        1.204,
        0.750,
        0.657,
        2.783,
    )
    assert round(fit.log_likelihood, 1) == -33225.6
    assert fit.diagnostics.n_observations == 11104


def test_sbg_reproduces_fader_hardie_2007_regular_segment_from_seven_years():
    """Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing
    21(1), 76-90: fitted on years 0-7 of the regular segment, gamma = 0.704, delta = 1.182."""
    m = fit_sbg(survivors=REGULAR[:8]).model
    assert (round(m.gamma, 3), round(m.delta, 3)) == (0.704, 1.182)


def test_sbg_reproduces_fader_hardie_2007_high_end_segment_from_seven_years():
    """Same paper, high-end segment (1000, 869, 743, 653, 593, 551, 517, 491):
    gamma = 0.668, delta = 3.806."""
    m = fit_sbg(survivors=HIGH_END[:8]).model
    assert (round(m.gamma, 3), round(m.delta, 3)) == (0.668, 3.806)


def test_sbg_projection_tracks_the_five_holdout_years_of_the_high_end_segment():
    m = fit_sbg(survivors=HIGH_END[:8]).model
    projected = m.expected_survivors(cohort_size=1000, periods=np.arange(8, 13))
    np.testing.assert_allclose(projected, HIGH_END[8:], rtol=0.05)


def test_sbg_fits_several_cohorts_by_pooling_their_likelihoods():
    single = fit_sbg(survivors=HIGH_END[:8])
    pooled = fit_sbg(survivors=[HIGH_END[:8], HIGH_END[:8]])
    assert pooled.model.gamma == pytest.approx(single.model.gamma, rel=1e-5)
    assert pooled.log_likelihood == pytest.approx(2 * single.log_likelihood, rel=1e-9)
    assert pooled.diagnostics.n_observations == 2000
    younger = fit_sbg(survivors=[HIGH_END[:8], HIGH_END[:5]])
    assert younger.diagnostics.converged
