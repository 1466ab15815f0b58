"""Identity linking on Spark gives exactly the links and review proposals of the single-machine
job, on the same profiles and customers: the same candidate pairs with the same comparison
levels, match weights within 1e-9 relative (they come out bit-identical), so the same pairs
above each threshold; and a run that fails half-way leaves the links and the queue as they
were."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from egards.accounts.domain import SYSTEM, Actor, Role
from egards.batch import service
from egards.batch.models import BatchRun
from egards.customers.models import Identity
from egards.errors import PermissionDenied
from egards.i18n import render_message
from egards.social import linking, synthetic
from egards.social.models import SocialLink, SocialProfile
from egards.social.service import probabilistic
from egards.social.settings import SocialSettings
from tests.integration.social import add_drawn_customers, add_drawn_profiles
from tests.integration.social.test_probabilistic import NOW


@pytest.fixture
def social_file(db) -> int:
    """150 customers and 200 profiles (60% theirs, the rest strangers, a third of those
    namesakes of a customer), the social set the linking benchmark draws."""
    drawn = synthetic.social_set(150, 200, seed=21)
    with db.unit_of_work() as session:
        fields = ("email", "phone", "city", "preferred_language", "birth_date")
        add_drawn_customers(session, drawn.customers, *fields)
        add_drawn_profiles(session, drawn.profiles, now=NOW)
    return len(drawn.profiles)


def _outcome(db) -> dict[str, Any]:
    """What a run left: every link and proposal (without ids and clock readings) and the
    customer each profile is linked to."""
    with db.unit_of_work() as session:
        links = sorted(
            (row[0], row[1], row[2], row[3], repr(row[4]), row[5], row[6])
            for row in session.execute(
                select(
                    SocialLink.profile_id,
                    SocialLink.customer_id,
                    SocialLink.status,
                    SocialLink.method,
                    SocialLink.evidence,
                    SocialLink.score,
                    SocialLink.reason,
                )
            )
        )
        owners = dict(session.execute(select(SocialProfile.id, SocialProfile.customer_id)).all())
    return {"links": links, "owners": owners}


def _restore(db) -> None:
    with db.unit_of_work() as session:
        session.execute(delete(SocialLink))
        session.execute(delete(Identity).where(Identity.kind == "social"))
        session.execute(update(SocialProfile).values(customer_id=None, link_method=None))


def test_spark_links_every_profile_exactly_as_the_single_machine_job(
    db, spark, social_file, monkeypatch
):
    scored: list[list[linking.ScoredPair]] = []
    score = linking.score

    def recorded(*args: Any, **kwargs: Any) -> list[linking.ScoredPair]:
        scored.append(pairs := score(*args, **kwargs))
        return pairs

    monkeypatch.setattr(linking, "score", recorded)
    before = _outcome(db)
    local = service.run(db, actor=SYSTEM, job="link", engine="local")
    on_one_machine = _outcome(db)
    _restore(db)
    assert _outcome(db) == before
    on_spark = service.run(db, actor=SYSTEM, job="link", engine="spark", spark=spark)

    assert on_spark.counts == local.counts
    assert local.counts["profiles"] == sum(owner is None for owner in before["owners"].values())
    assert local.counts["linked"] > 0 and local.counts["to_review"] > 0
    assert _outcome(db) == on_one_machine

    local_pairs, spark_pairs = ({(p.left_id, p.right_id): p for p in run} for run in scored)
    assert local_pairs.keys() == spark_pairs.keys()
    options = SocialSettings()
    side = partial(linking.decide, upper=options.link_upper, lower=options.link_lower)
    for key, here in local_pairs.items():
        there = spark_pairs[key]
        assert here.levels == there.levels, key
        assert math.isclose(here.match_weight, there.match_weight, rel_tol=1e-9), key
        assert math.isclose(here.match_probability, there.match_probability, rel_tol=1e-9), key
        assert side(here.match_weight) == side(there.match_weight), key
    # Both sides of the upper threshold are exercised; under the lower one no pair is returned.
    assert {side(pair.match_weight) for pair in local_pairs.values()} == {"link", "review"}
    with db.unit_of_work() as session:
        runs = session.scalars(select(BatchRun).order_by(BatchRun.id)).all()
    assert [(r.job, r.engine, r.status) for r in runs[-2:]] == [
        ("link", "local", "succeeded"),
        ("link", "spark", "succeeded"),
    ]


def test_a_linking_run_that_fails_half_way_leaves_the_links_and_the_queue_as_they_were(
    db, social_file, monkeypatch
):
    service.run(db, actor=SYSTEM, job="link", engine="local")
    before = _outcome(db)
    with db.unit_of_work() as session:  # half the profiles come back to be linked again
        half = select(SocialProfile.id).order_by(SocialProfile.id).limit(100)
        session.execute(delete(SocialLink).where(SocialLink.profile_id.in_(half)))
        session.execute(
            update(SocialProfile).where(SocialProfile.id.in_(half)).values(customer_id=None)
        )
    unlinked = _outcome(db)
    assert unlinked != before
    calls = 0

    def failing_on_the_third_write(write: Any) -> Any:
        def written(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise RuntimeError("the database went away half-way")
            return write(*args, **kwargs)

        return written

    # The third write, link or proposal, whichever comes: two have been made before it.
    for name in ("_link", "propose_link"):
        monkeypatch.setattr(
            probabilistic, name, failing_on_the_third_write(getattr(probabilistic, name))
        )
    with pytest.raises(RuntimeError, match="half-way"):
        service.run(db, actor=SYSTEM, job="link", engine="local")
    assert calls == 3
    assert _outcome(db) == unlinked
    with db.unit_of_work() as session:
        last = session.scalars(select(BatchRun).order_by(BatchRun.id.desc())).first()
    assert last is not None and (last.job, last.status) == ("link", "failed")
    assert last.reason_code == "batch_run_failed"  # not one of ours: its text is the cause
    assert render_message("fr", last.reason_message) == (
        "échec : RuntimeError: the database went away half-way"
    )


def test_linking_is_refused_to_who_may_not_change_customers(db):
    analyst = Actor(label="analyst@example.fr", role=Role.ANALYST)
    with pytest.raises(PermissionDenied):
        service.run(db, actor=analyst, job="link", engine="local")
    with db.unit_of_work() as session:
        assert session.scalars(select(BatchRun)).first() is None
