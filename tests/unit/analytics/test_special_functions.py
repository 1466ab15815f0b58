"""The log-space 2F1(1, d; c; z) against an arbitrary-precision reference."""

import numpy as np
import pytest

from egards.analytics.btyd._special import expm1_ratio, log1mexp, log_hyp2f1_one

mpmath = pytest.importorskip("mpmath")

CASES = [
    (0.5, 1.7, 0.3),
    (3.3, 4.1, 0.9),
    (0.2, 0.9, 0.99),
    (150.0, 170.0, 0.999),
    (758.166, 1601.36, 0.8069),
    (1.0, 500.0, 0.9),
    (28.6, 28.7, 1 - 1e-6),
]


@pytest.mark.parametrize(("d", "c", "z"), CASES)
def test_log_hyp2f1_one_matches_the_series_summed_in_high_precision(d, c, z):
    md, mc, mz = mpmath.mpf(d), mpmath.mpf(c), mpmath.mpf(z)
    with mpmath.workdps(60):
        if z < 0.99:  # the plain series converges quickly; mpmath's hyp2f1 can be wrong here
            reference = mpmath.log(
                mpmath.nsum(lambda n: mpmath.rf(md, n) / mpmath.rf(mc, n) * mz**n, [0, mpmath.inf])
            )
        else:  # near z = 1 nsum stalls, mpmath's transformations are reliable
            reference = mpmath.log(mpmath.hyp2f1(1, md, mc, mz))
    assert log_hyp2f1_one(d, c, z).value == pytest.approx(float(mpmath.re(reference)), rel=1e-9)


def test_log_hyp2f1_one_derivatives_match_finite_differences():
    d = np.array([3.3, 0.2, 150.0, 1.0])
    c = np.array([4.1, 0.9, 170.0, 500.0])
    z = np.array([0.5, 0.99, 0.999, 0.9])
    exact = log_hyp2f1_one(d, c, z, derivatives=True)
    h = 1e-7
    for name, shifted in (
        ("d", (d + h, c, z)),
        ("c", (d, c + h, z)),
        ("z", (d, c, z + h * 1e-3)),
    ):
        step = h * 1e-3 if name == "z" else h
        numeric = (log_hyp2f1_one(*shifted).value - exact.value) / step
        np.testing.assert_allclose(getattr(exact, f"d_{name}"), numeric, rtol=1e-4)


def test_log1mexp_is_accurate_at_both_ends():
    assert log1mexp(-1e-20) == pytest.approx(np.log(1e-20))
    assert log1mexp(-50.0) == pytest.approx(-np.exp(-50.0), rel=1e-12)


def test_expm1_ratio_tends_to_the_length_as_k_vanishes():
    assert expm1_ratio(0.0, 3.0) == 3.0
    assert expm1_ratio(1e-12, 3.0) == pytest.approx(3.0)


def test_near_z_one_the_function_and_its_derivatives_match_60_digit_arithmetic():
    """Extreme alpha / beta push z within 1e-9 of 1, where the continued fraction, capped at
    its maximal depth, used to be wrong in the third digit (and took seconds); huge d and c
    (r and alpha running away together) defeat SciPy and are deepened until settled."""
    import mpmath as mp

    from egards.analytics.btyd._special import log_hyp2f1_one

    mp.mp.dps = 60
    rng = np.random.default_rng(4)
    d = np.concatenate([rng.uniform(0.1, 50.0, 12), [2.86616561e4, 3.59744450e4]])
    c = np.concatenate([d[:12] + rng.uniform(0.05, 60.0, 12), [2.86629878e4, 3.59747711e4]])
    z = np.concatenate([1.0 - 10.0 ** rng.uniform(-9.0, -5.0, 12), [1 - 1.1197e-4, 1 - 1.5357e-4]])
    got = log_hyp2f1_one(d, c, z, derivatives=True)

    def f(a, b, x):
        return mp.log(mp.hyp2f1(1, a, b, x))

    for i in range(d.size):
        di, ci, zi = mp.mpf(d[i]), mp.mpf(c[i]), mp.mpf(z[i])
        assert got.value[i] == pytest.approx(float(f(di, ci, zi)), rel=1e-11, abs=1e-11)
        for mine, exact in (
            (got.d_d[i], mp.diff(lambda a, b=ci, x=zi: f(a, b, x), di)),
            (got.d_c[i], mp.diff(lambda b, a=di, x=zi: f(a, b, x), ci)),
            (got.d_z[i], mp.diff(lambda x, a=di, b=ci: f(a, b, x), zi)),
        ):
            assert mine == pytest.approx(float(exact), rel=1e-6, abs=1e-6)


def test_the_element_by_element_fraction_takes_the_same_steps_as_the_array_one():
    """A few deep fractions (extreme parameters) run in plain floats: same values, bit for bit
    up to rounding, as the array loop, derivatives included."""
    from egards.analytics.btyd._special import _cf_block, _cf_scalar

    rng = np.random.default_rng(5)
    for _ in range(60):
        d = float(np.exp(rng.uniform(-4.0, 7.0)))
        c = d + float(np.exp(rng.uniform(-4.0, 5.0)))
        z = float(rng.choice([rng.uniform(0.0, 1.0 - 1e-6), -np.exp(rng.uniform(-3.0, 12.0))]))
        depth = int(rng.integers(1, 600))
        block = _cf_block(np.array([d]), np.array([c]), np.array([z]), depth, True)
        np.testing.assert_allclose(
            _cf_scalar(d, c, z, depth), [part[0] for part in block], rtol=1e-14, atol=0.0
        )


def test_a_customer_whose_fraction_must_run_30000_steps_matches_60_digit_arithmetic():
    """x = 300 repeat purchases, the last at time 0, alpha / beta = 1e7: SciPy gives up and the
    fraction is deepened to 32,768 steps (element by element: a fraction of a second)."""
    d, c, z = 300.55, 302.16, 1.0 - 1e-7
    got = log_hyp2f1_one(d, c, z, derivatives=True)
    with mpmath.workdps(40):
        reference = mpmath.log(mpmath.hyp2f1(1, mpmath.mpf(d), mpmath.mpf(c), mpmath.mpf(z)))
    assert float(got.value) == pytest.approx(float(reference), rel=1e-10)
