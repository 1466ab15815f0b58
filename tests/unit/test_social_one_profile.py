"""One new profile scored against a trained model (``linking.Model``): its candidates come
from the key table (``blocking_keys``) and its scores from SQL made once, and both must be
what Splink finds itself, blocking the whole customer table at each call."""

from __future__ import annotations

import pytest

from egards.social import linking, synthetic


@pytest.fixture(scope="module")
def trained():
    data = synthetic.social_set(400, 10, seed=5)
    model = linking.Model([linking.customer_record(c) for c in data.customers])
    profiles = [linking.profile_record({**p, "id": f"p{p['id']}"}) for p in data.profiles]
    return model, profiles


def _splink_between(model, record):
    """Splink's own way: ``predict_between`` with the model's blocking rules on the whole
    customer table (the bench's earlier design)."""
    one = model._db_api.register(linking._frame(model._pa, [record]))
    everyone = model._db_api.register("customer_records")
    predicted = model._linker.inference.predict_between(
        one, everyone, threshold_match_weight=-100, warning_mode="never"
    )
    return linking._pairs(predicted, right_name=everyone.dataset_display_name)


def _seen(pairs):
    return sorted((p.right_id, round(p.match_weight, 9), sorted(p.levels.items())) for p in pairs)


def test_one_profile_gets_the_candidates_pairs_weights_and_levels_splink_finds_alone(trained):
    model, profiles = trained
    scored = 0
    for record in profiles:
        splink = _splink_between(model, record)
        # The key table and Splink's blocking rules are made from one rule.
        candidates = model.candidates(record).column("unique_id").to_pylist()
        assert set(candidates) == {p.right_id for p in splink}, record["unique_id"]
        mine = model.score_one(record, min_weight=-100)
        assert _seen(mine) == _seen(splink), record["unique_id"]
        scored += len(mine)
    assert scored >= len(profiles) // 2  # profiles have candidates: the check is not vacuous


def test_a_pair_under_the_lower_weight_is_left_out(trained):
    model, profiles = trained
    every = [p for r in profiles for p in model.score_one(r, min_weight=-100)]
    cut = sorted(p.match_weight for p in every)[len(every) // 2]
    kept = [p for r in profiles for p in model.score_one(r, min_weight=cut)]
    assert kept and all(p.match_weight >= cut for p in kept) and len(kept) < len(every)


def test_a_record_without_keys_has_no_candidates(trained):
    model, _ = trained
    assert linking.blocking_keys({"unique_id": "x"}) == []
    assert model.score_one({"unique_id": "x"}) == []


def test_blocking_keys_name_their_rule_and_skip_a_missing_value():
    record = {"first_name": "zoe", "last_name": "thomas", "city": None, "initial": "t",
              "birth_year": "1990", "handle_keys": ["zoetho"]}  # fmt: skip
    assert linking.blocking_keys(record) == ["0|zoe|thomas", "5|zoe|t|1990", "h|zoetho"]


def test_customers_added_after_training_are_candidates_scored_as_given():
    data = synthetic.social_set(400, 10, seed=5)
    records = [linking.customer_record(c) for c in data.customers]
    whole = linking.Model(records)
    model = linking.Model(records[:200])
    model.add(records[200:])
    profiles = [linking.profile_record({**p, "id": f"p{p['id']}"}) for p in data.profiles]
    found = 0
    for record in profiles:
        ids = model.candidate_ids(record)
        assert ids == whole.candidate_ids(record), record["unique_id"]
        found += any(int(i) > 200 for i in ids)
        # Scored against the records given (the customer file's current ones), not the kept.
        among = [r for r in records if r["unique_id"] in ids]
        assert _seen(model.score_one(record, min_weight=-100, among=among)) == _seen(
            model.score_one(record, min_weight=-100)
        )
    assert found  # some candidates came in after training: the check is not vacuous
