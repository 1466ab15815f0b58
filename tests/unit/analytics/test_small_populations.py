"""A small or unusual population gets scores, or one clear "not enough data", never a crash."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.unit.analytics.test_batch_scoring import _daily

from egards.analytics.batch import BatchInput, BatchSettings, run_batch
from egards.analytics.btyd import fit_bg_nbd
from egards.analytics.errors import ModelDidNotConverge
from egards.analytics.scoring import _BOUND, fit_value_models, window
from egards.analytics.summary import compress
from egards.i18n import render_message

AS_OF = 20_000


def _regular_buyers(customers: int, every: int = 40) -> list[tuple[int, int, int]]:
    """Everybody buys on the same rhythm: no heterogeneity for BG/NBD to estimate."""
    return [
        (customer, AS_OF - day, 1000 + day)
        for customer in range(1, customers + 1)
        for day in range(5, 400, every)
    ]


def test_two_clockwork_buyers_run_plain_bg_nbd_to_its_bounds_and_get_shrunk_scores():
    win = window(_daily(_regular_buyers(2)), cutoff=AS_OF)
    x, t_x, big_t, weights, _ = compress(frequency=win.frequency, recency=win.recency, T=win.T)
    plain = fit_bg_nbd(frequency=x, recency=t_x, T=big_t, weights=weights)
    assert np.max(np.abs(np.log(list(plain.model.params.values())))) > _BOUND

    models, report = fit_value_models(win)
    assert "ran to its bound" in render_message("en", report["bg_nbd"]["shrinkage"]["because"])
    alive = models.bg_nbd.probability_alive(frequency=x, recency=t_x, T=big_t)
    assert np.all((alive > 0.5) & (alive <= 1.0))


def test_a_population_of_three_is_scored_with_a_top_decile():
    rows = [*_regular_buyers(2), (3, AS_OF - 300, 500), (3, AS_OF - 20, 700)]
    ids, days, amounts = (np.array(column) for column in zip(*rows, strict=True))
    result = run_batch(
        BatchInput(customer_id=ids, day=days, amount_cents=amounts, as_of=AS_OF),
        BatchSettings(),
    )
    assert result.counts["customers_scored"] == 3
    assert result.report["top_decile_clv_cents"] == result.columns["clv_cents"].max()


def test_nobody_buying_twice_is_reported_as_not_enough_data():
    win = window(_daily([(c, AS_OF - 10 * c, 1000) for c in range(1, 20)]), cutoff=AS_OF)
    with pytest.raises(ModelDidNotConverge, match="none of the 19 customers bought twice"):
        fit_value_models(win)


def test_the_reasons_a_small_population_is_shrunk_or_skipped_read_in_the_readers_language():
    _, report = fit_value_models(window(_daily(_regular_buyers(2)), cutoff=AS_OF))
    because = report["bg_nbd"]["shrinkage"]["because"]
    assert "ran to its bound" in render_message("en", because)
    assert render_message("fr", because).startswith(
        "BG/NBD n’a pas convergé sur 2 clients : un paramètre a atteint sa borne ("
    )
    skipped = report["gamma_gamma"]["skipped"]
    assert render_message("fr", skipped) == (
        "2 clients ont racheté, il en faut 30 ; la dépense moyenne par achat est utilisée pour"
        " tout le monde"
    )
    assert render_message("en", skipped).startswith("2 repeat buyers, 30 needed; the mean")
    json.dumps(report["bg_nbd"]["shrinkage"])  # stored as it is, in the run's JSON report
