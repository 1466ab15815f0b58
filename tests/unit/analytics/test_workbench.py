"""`egards analytics fit`: each model on the analyst's own file, saved and loaded again."""

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from egards.analytics.datasets import (
    load_cdnow_sample_transactions,
    load_cdnow_summary,
    load_donations,
)
from egards.cli import app

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["analytics", "fit", *args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    # The table's borders out, the words and numbers in order.
    text = "".join(" " if 0x2500 <= ord(c) <= 0x257F else c for c in result.output)
    return " ".join(text.split())


def _rows(path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def transactions(tmp_path_factory):
    tx = load_cdnow_sample_transactions()
    path = tmp_path_factory.mktemp("workbench") / "cdnow.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "date", "amount"])
        writer.writerows(zip(tx.customer_id, tx.date.astype(str), tx.monetary_value, strict=True))
    return path


def test_bg_nbd_on_cdnow_transactions_reproduces_the_paper_and_the_holdout(transactions):
    output = _run(
        str(transactions),
        "--model",
        "bg-nbd",
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
    )
    # FHL (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426; LL -9582.4.
    assert "r 0.242595 0.0126" in output and "alpha 4.4136 0.378" in output
    assert "log-likelihood -9,582.43 on 2,357 observations; converged" in output
    assert "1,882 purchases made, 1,653 expected by the model" in output
    scores = _rows(transactions.with_name("cdnow.scores.csv"))
    assert len(scores) == 2357
    first = scores[0]
    assert first["customer_id"] == "1"
    assert {"p_alive", "expected_purchases_12m", "expected_spend", "clv_12m"} <= set(first)
    assert float(first["p_alive"]) == pytest.approx(0.7266, abs=1e-4)


@pytest.mark.parametrize("model", ["mbg-nbd", "pareto-nbd"])
def test_a_model_saved_and_loaded_scores_exactly_as_the_fit(transactions, tmp_path, model):
    saved = tmp_path / "model.json"
    fitted_scores, loaded_scores = tmp_path / "fitted.csv", tmp_path / "loaded.csv"
    output = _run(
        str(transactions), "--model", model, "--save", str(saved), "--scores", str(fitted_scores)
    )
    assert "converged" in output
    document = json.loads(saved.read_text())
    assert document["model"] == model and document["converged"] is True
    assert set(document["standard_errors"]) == set(document["params"])
    output = _run(
        str(transactions),
        "--model",
        model,
        "--model-file",
        str(saved),
        "--scores",
        str(loaded_scores),
    )
    assert "(loaded model)" in output and "log-likelihood" not in output
    assert _rows(fitted_scores) == _rows(loaded_scores)


def test_ready_summaries_in_parquet_fit_without_transactions(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = load_cdnow_summary()
    path = tmp_path / "summary.parquet"
    pq.write_table(
        pa.table({"frequency": data["frequency"], "recency": data["recency"], "T": data["T"]}),
        path,
    )
    output = _run(str(path), "--model", "pareto-nbd")
    # Fader, Hardie & Lee (2005) MATLAB note: r 0.55, alpha 10.58, s 0.61, beta 11.67.
    assert "r 0.55" in output and "alpha 10.5" in output and "s 0.60" in output
    assert len(_rows(tmp_path / "summary.scores.csv")) == 2357


def test_gamma_gamma_bg_bb_and_sbg_fit_their_own_summaries(tmp_path, transactions):
    calibration = ("--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30")
    output = _run(str(transactions), "--model", "gamma-gamma", *calibration)
    assert "p 6.2" in output and "q 3.7" in output  # FHL 2005: 6.25, 3.74, 15.44
    donations = load_donations()
    path = tmp_path / "donations.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frequency", "recency", "n_periods", "weights"])
        writer.writerows(
            zip(
                *(donations[k].astype(int) for k in ("frequency", "recency", "periods", "weights")),
                strict=True,
            )
        )
    output = _run(str(path), "--model", "bg-bb")
    assert "alpha 1.20" in output and "11,104 observations" in output  # FHS 2010: 1.204
    survivors = tmp_path / "cohort.csv"
    survivors.write_text(
        "survivors\n" + "\n".join(map(str, [1000, 869, 743, 653, 593, 551, 517, 491]))
    )
    output = _run(str(survivors), "--model", "sbg")
    assert "gamma" in output and "delta" in output and "converged" in output
    assert np.isclose(float(_rows(tmp_path / "cohort.scores.csv")[0]["survival"]), 0.869, atol=0.02)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("customer_id,date,amount\n1,2020-01-01,3\n1,2020-13-01,4\n", "line 3: date is not a date"),
        (
            "customer_id,date,amount\n1,2020-01-01,3\n1,2020-02-01,lots\n",
            "line 3: amount is not a number",
        ),
        ("frequency,recency\n1,2\n", "no T column"),
        ("frequency,recency,T\n2,5,3\n", "recency <= T"),
    ],
)
def test_bad_files_are_refused_with_the_line_and_the_field(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    output = _run(str(path), "--model", "bg-nbd", code=2)
    assert message in output
    assert not (tmp_path / "bad.scores.csv").exists()


def test_a_saved_model_of_another_kind_is_refused(tmp_path, transactions):
    saved = tmp_path / "gg.json"
    _run(str(transactions), "--model", "gamma-gamma", "--save", str(saved))
    output = _run(str(transactions), "--model", "bg-nbd", "--model-file", str(saved), code=2)
    assert "holds a gamma-gamma model, not bg-nbd" in output


def test_diagnostics_are_written_as_tables_and_charts(transactions, tmp_path):
    output = _run(
        str(transactions),
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--diagnostics",
        str(tmp_path / "diagnostics"),
    )
    assert "correlation of spend and frequency among repeat buyers: 0.11" in output
    assert "6 diagnostics files written" in output
    holdout = _rows(tmp_path / "diagnostics" / "holdout_by_frequency.csv")
    assert [row["calibration_frequency"] for row in holdout][-1] == "7+"
    assert (tmp_path / "diagnostics" / "period_transactions.svg").read_text().startswith("<svg")
