"""Benchmark: BG/NBD fit and 12-month CLV on a million synthetic customers.

    python bench/bench_btyd.py [--n 1000000] [--seed 7] [--skip-lifetimes] [--skip-pymc]

Customers are drawn from the BG/NBD generative process with the CDNOW estimates of Fader,
Hardie & Lee (2005) (r = 0.243, alpha = 4.414 per week, a = 0.793, b = 2.426): first purchases
spread over 12 weeks, a 39-week calibration window, purchase times recorded to the day (as
transaction dates are), times in weeks. The same data are fitted by egards, by ``lifetimes``
(BetaGeoFitter) and by pymc-marketing (MAP with flat priors) when they are importable; the
parameters must agree to 4 significant digits. Then 12-month discounted CLV is timed for every
customer, ours against lifetimes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from egards.analytics.btyd import (
    GammaGammaModel,
    customer_lifetime_value,
    fit_bg_nbd,
)
from egards.analytics.btyd.clv import WEEKS_PER_MONTH
from egards.analytics.summary import compress

TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
SPEND = GammaGammaModel(p=6.25, q=3.74, gamma=15.44)


def simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised BG/NBD draws: frequency, recency, T (weeks) and mean repeat spend."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    first_day = rng.integers(0, 84, n)
    big_t = (273 - first_day) / 7.0
    x = np.zeros(n)
    last = np.zeros(n)
    clock = np.zeros(n)
    active = np.flatnonzero(lam > 0)
    while active.size:
        clock[active] += rng.exponential(1.0 / lam[active])
        bought = clock[active] <= big_t[active]
        buyers = active[bought]
        x[buyers] += 1
        last[buyers] = np.floor(clock[buyers] * 7.0) / 7.0  # recorded to the day
        # Drop-out happens just after a purchase, with probability p.
        stays = rng.random(buyers.size) >= p[buyers]
        active = buyers[stays]
    nu = rng.gamma(SPEND.q, 1.0 / SPEND.gamma, n)
    spend = np.where(x > 0, rng.gamma(SPEND.p * np.maximum(x, 1), 1.0) / nu / np.maximum(x, 1), 0)
    return x, last, big_t, spend


def agree(a: dict[str, float], b: dict[str, float], digits: int = 4) -> bool:
    """Equal to ``digits`` significant digits: within half a unit of the last one.

    (Comparing rounded strings would call 0.807545 and 0.807554 different.)
    """
    for key in TRUE:
        unit = 10.0 ** (np.floor(np.log10(abs(a[key]))) - (digits - 1))
        if abs(a[key] - b[key]) > 0.5 * unit:
            return False
    return True


def fmt(params: dict[str, float] | None) -> str:
    if params is None:
        return "-"
    return ", ".join(f"{k}={params[k]:.5g}" for k in TRUE)


def run_lifetimes(x, t_x, big_t, weights=None):
    import lifetimes

    start = time.perf_counter()
    fitter = lifetimes.BetaGeoFitter().fit(x, t_x, big_t, weights=weights)
    seconds = time.perf_counter() - start
    return seconds, {k: float(fitter.params_[k]) for k in TRUE}, fitter


def run_pymc(x, t_x, big_t):
    import pandas as pd
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel

    data = pd.DataFrame(
        {"customer_id": np.arange(x.size), "frequency": x, "recency": t_x, "T": big_t}
    )
    flat = {k: Prior("HalfFlat") for k in TRUE}
    start = time.perf_counter()
    model = BetaGeoModel(data=data, model_config=flat)
    model.fit(method="map", progressbar=False)
    seconds = time.perf_counter() - start
    posterior = model.idata.posterior
    return seconds, {k: float(posterior[k].values.ravel()[0]) for k in TRUE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--skip-pymc", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    x, t_x, big_t, spend = simulate(args.n, args.seed)
    print(f"simulated {args.n:,} customers in {time.perf_counter() - start:.2f} s")

    # Ours takes well under a second, so one run is at the mercy of the scheduler on a busy
    # machine: report the median of three.
    compress_runs, fit_runs = [], []
    for _ in range(3):
        start = time.perf_counter()
        xu, tu, Tu, weights, _ = compress(frequency=x, recency=t_x, T=big_t)
        compress_runs.append(time.perf_counter() - start)
        start = time.perf_counter()
        fit = fit_bg_nbd(frequency=xu, recency=tu, T=Tu, weights=weights)
        fit_runs.append(time.perf_counter() - start)
    compress_s, fit_s = float(np.median(compress_runs)), float(np.median(fit_runs))
    ours_s = compress_s + fit_s
    ours = fit.model.params
    runs = ", ".join(f"{c + f:.2f}" for c, f in zip(compress_runs, fit_runs, strict=True))
    print(
        f"{xu.size:,} distinct histories; compress {compress_s:.3f} s, fit {fit_s:.3f} s"
        f" (median of 3; runs {runs})"
    )

    start = time.perf_counter()
    raw = fit_bg_nbd(frequency=x, recency=t_x, T=big_t)  # collapses duplicates itself
    raw_s = time.perf_counter() - start
    rows = [
        ("egards (compress + fit)", ours_s, 1.0, fmt(ours), "reference"),
        (
            "egards fit on raw rows",
            raw_s,
            raw_s / ours_s,
            fmt(raw.model.params),
            agree(ours, raw.model.params),
        ),
    ]
    lifetimes_fitter = None
    if args.skip_lifetimes:
        rows.append(("lifetimes BetaGeoFitter", None, None, "skipped", "-"))
    else:
        try:
            seconds, params, lifetimes_fitter = run_lifetimes(x, t_x, big_t)
            rows.append(
                (
                    "lifetimes BetaGeoFitter",
                    seconds,
                    seconds / ours_s,
                    fmt(params),
                    agree(ours, params),
                )
            )
        except ImportError:
            rows.append(("lifetimes BetaGeoFitter", None, None, "not installed", "-"))
        else:
            # Like for like: the same distinct rows, counted by weights=.
            seconds, params, _ = run_lifetimes(xu, tu, Tu, weights=weights)
            rows.append(
                (
                    "lifetimes, distinct rows + weights=",
                    seconds,
                    seconds / fit_s,
                    fmt(params),
                    agree(ours, params),
                )
            )
    if args.skip_pymc:
        rows.append(("pymc-marketing MAP, flat priors", None, None, "skipped", "-"))
    else:
        try:
            seconds, params = run_pymc(x, t_x, big_t)
            rows.append(
                (
                    "pymc-marketing MAP, flat priors",
                    seconds,
                    seconds / ours_s,
                    fmt(params),
                    agree(ours, params),
                )
            )
        except ImportError:
            rows.append(("pymc-marketing MAP, flat priors", None, None, "not installed", "-"))

    expected_spend = SPEND.conditional_expected_spend(frequency=x, monetary_value=spend)
    clv_runs = []
    for _ in range(3):
        start = time.perf_counter()
        clv = customer_lifetime_value(
            model=fit.model,
            frequency=x,
            recency=t_x,
            T=big_t,
            expected_spend=expected_spend,
            months=12,
            monthly_discount_rate=0.01,
            time_units_per_month=WEEKS_PER_MONTH,
        )
        clv_runs.append(time.perf_counter() - start)
    clv_s = float(np.median(clv_runs))
    rows.append(
        (f"egards 12-month CLV, {args.n:,} customers", clv_s, 1.0, f"total {clv.sum():,.0f}", "-")
    )
    if lifetimes_fitter is not None:
        import lifetimes
        import pandas as pd

        gg = lifetimes.GammaGammaFitter()
        gg.params_ = pd.Series({"p": SPEND.p, "q": SPEND.q, "v": SPEND.gamma})
        lifetimes_fitter.params_ = pd.Series(ours)  # same parameters: compare the arithmetic
        start = time.perf_counter()
        reference = gg.customer_lifetime_value(
            lifetimes_fitter,
            pd.Series(x),
            pd.Series(t_x),
            pd.Series(big_t),
            pd.Series(spend),
            time=12,
            discount_rate=0.01,
            freq="W",
        ).to_numpy()
        seconds = time.perf_counter() - start
        same = bool(np.allclose(clv, reference, rtol=1e-8, atol=1e-9))
        rows.append(
            (
                "lifetimes 12-month CLV",
                seconds,
                seconds / clv_s,
                f"total {reference.sum():,.0f}",
                same,
            )
        )
    _print_table(rows)


def _print_table(rows) -> None:
    header = ("method", "seconds", "speed-up", "parameters / result", "agrees (4 s.f.)")
    cells = [
        (
            name,
            "-" if seconds is None else f"{seconds:.3f}",
            "-" if ratio is None else f"{ratio:.1f}x",
            params,
            str(ok),
        )
        for name, seconds, ratio, params, ok in rows
    ]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
        for row in [header, *cells]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        return
    table = Table(title="BG/NBD benchmark (speed-up = their seconds / ours)")
    for column in header:
        table.add_column(column)
    for row in cells:
        table.add_row(*row)
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
