"""Choosing the purchase model in settings, or by a holdout comparison, on both databases."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from egards.accounts.domain import SYSTEM, Role
from egards.analytics import service
from egards.analytics.models import ScoreRun
from egards.analytics.settings import AnalyticsSettings
from tests.conftest import login
from tests.integration.analytics.conftest import AS_OF


def _settings(monkeypatch, **values: str) -> AnalyticsSettings:
    for name, value in values.items():
        monkeypatch.setenv(f"EGARDS_ANALYTICS_{name.upper()}", value)
    return AnalyticsSettings()


def _parameters(db, run) -> dict:
    with db.unit_of_work() as session:
        stored = session.get(ScoreRun, run.run_id)
        assert stored is not None
        return dict(stored.parameters)


@pytest.mark.parametrize(
    ("setting", "params"),
    [("mbg_nbd", {"r", "alpha", "a", "b"}), ("pareto_nbd", {"r", "alpha", "s", "beta"})],
)
def test_the_setting_chooses_the_purchase_model(db, population, monkeypatch, setting, params):
    settings = _settings(monkeypatch, value_model=setting)
    run = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported", settings=settings)
    assert run.status == "succeeded", run.error
    assert _parameters(db, run)["purchase_model"] == setting
    assert set(_parameters(db, run)["bg_nbd"]) == params
    assert run.report["value_models"]["purchase_model"] == setting
    # A later run under the same setting reuses the fit; under another it fits again.
    again = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported", settings=settings)
    assert again.report["value_models"] == {"reused": True}
    other = _settings(monkeypatch, value_model="bg_nbd")
    switched = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported", settings=other)
    assert _parameters(db, switched)["purchase_model"] == "bg_nbd"
    assert set(_parameters(db, switched)["bg_nbd"]) == {"r", "alpha", "a", "b"}


def test_holdout_compares_the_three_models_and_the_run_reports_the_choice(
    client, make_person, population, monkeypatch
):
    db = client.app.state.db
    settings = _settings(monkeypatch, value_model="holdout", holdout_days="120")
    run = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported", settings=settings)
    assert run.status == "succeeded", run.error
    comparison = run.report["value_models"]["holdout_comparison"]
    candidates = comparison["candidates"]
    assert set(candidates) == {"bg_nbd", "mbg_nbd", "pareto_nbd"}
    errors = {k: c["mean_absolute_error"] for k, c in candidates.items() if "skipped" not in c}
    assert comparison["chosen"] == min(errors, key=errors.__getitem__)
    assert _parameters(db, run)["purchase_model"] == comparison["chosen"]
    assert _parameters(db, run)["chosen_by"] == "holdout"
    assert comparison["holdout_days"] == 120 and comparison["actual_purchases"] > 0
    supervisor = make_person(Role.SUPERVISOR)
    login(client, supervisor.email)
    page = client.get("/analytics").text
    table = page.split('id="holdout-comparison"')[1].split("</table>")[0]
    for label in ("BG/NBD", "MBG/NBD", "Pareto/NBD"):
        assert label in table


def test_an_unknown_model_is_refused_naming_the_setting(monkeypatch):
    with pytest.raises(ValidationError) as refused:
        _settings(monkeypatch, value_model="lifetimes")
    assert "value_model" in str(refused.value)
