"""Training the linking model is deterministic: the same records give the same parameters,
whatever their order; the seed is what chooses the pairs chance agreement is counted on."""

from __future__ import annotations

import random

from egards.social import linking, synthetic


def _records() -> tuple[list[dict], list[dict]]:
    data = synthetic.social_set(1_000, 300)
    profiles = [linking.profile_record(p) for p in data.profiles]
    people = [linking.customer_record(c) for c in data.customers]
    return profiles, people


# max_pairs_u well under the 300,000 possible pairs: u is learnt on a sample.
SAMPLED = 50_000


def test_same_records_in_another_order_train_the_same_parameters():
    profiles, people = _records()
    first = linking.parameters(profiles, people, max_pairs_u=SAMPLED, seed=7)
    random.Random(3).shuffle(profiles)
    random.Random(4).shuffle(people)
    again = linking.parameters(profiles, people, max_pairs_u=SAMPLED, seed=7)
    assert again == first
    assert first["city"]["m"] == list(linking.M_PROBABILITIES["city"])
    assert 0 < first["city"]["u"][0] < first["city"]["u"][1] < 1


def test_another_seed_samples_other_pairs():
    profiles, people = _records()
    one = linking.parameters(profiles, people, max_pairs_u=SAMPLED, seed=7)
    other = linking.parameters(profiles, people, max_pairs_u=SAMPLED, seed=8)
    assert one["first_name"]["u"] != other["first_name"]["u"]


def test_same_records_score_the_same_pairs_with_the_same_weights():
    profiles, people = _records()
    runs = [
        sorted(
            (p.left_id, p.right_id, p.match_weight)
            for p in linking.score(profiles, people, max_pairs_u=SAMPLED, seed=7)
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert runs[0]
