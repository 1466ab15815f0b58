"""Requalification on Spark ends exactly where the single-machine job does, on the same
generated members and activities: the same tiers and tier states, the same tier changes and
timeline entries, the same ledger; a Spark run that fails leaves every member as it was; and
an activity posted between the read and the write is never overwritten, on either engine."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from egards.accounts.domain import SYSTEM
from egards.batch import service
from egards.batch import spark as spark_engine
from egards.batch.errors import SparkJobFailed
from egards.batch.models import BatchRun
from egards.customers.models import TimelineEvent
from egards.errors import InvalidInput
from egards.i18n import render_message
from egards.loyalty import codec, domain
from egards.loyalty import service as loyalty
from egards.loyalty.domain import Activity
from egards.loyalty.models import Entry, Member, TierChange
from egards.loyalty.schemas import ActivityCreate
from egards.loyalty.service import period_ends
from tests.integration.loyalty import enrolled

TODAY = date.today()
AS_OF = TODAY + timedelta(days=400)  # every generated period has ended
STATE = ("tier", "tier_since", "period_end", "counter", "tier_state")


@pytest.fixture
def members(db) -> list[int]:
    """60 Flying Blue members enrolled over three years, a third raised by exception, most with
    a few seeded random flights: every kind of period end (kept, lowered, raised, soft landing)."""
    rng = random.Random(21)
    with db.unit_of_work() as session:
        rows = [
            enrolled(session, "Req", f"M{n}", on=TODAY - timedelta(days=rng.randint(30, 1100)))
            for n in range(60)
        ]
        ids = [m.id for m in rows]
        for member_id in ids[::3]:
            loyalty.change_tier_by_exception(
                session,
                actor=SYSTEM,
                member_id=member_id,
                tier=rng.choice(["silver", "gold", "platinum"]),
                justification="generated start",
            )
        histories = {
            m.id: [
                Activity(
                    key=f"R{m.id}-{k}",
                    kind="flight",
                    on=max(m.enrolled_on, TODAY - timedelta(days=rng.randint(1, 700))),
                    amounts={"fare": rng.randint(5_000, 400_000)},
                    attributes={
                        "cabin": rng.choice(["economy", "premium", "business"]),
                        "distance_miles": rng.randint(200, 7000),
                        "domestic": rng.random() < 0.3,
                    },
                )
                for k in range(rng.randint(0, 6))
            ]
            for m in rows
            if rng.random() < 0.8
        }
        loyalty.record_histories(session, actor=SYSTEM, histories=histories)
    return ids


def _marks(db) -> tuple[int, int]:
    with db.unit_of_work() as session:
        return (
            session.scalar(select(func.coalesce(func.max(TierChange.id), 0))) or 0,
            session.scalar(select(func.coalesce(func.max(TimelineEvent.id), 0))) or 0,
        )


def _outcome(db, marks: tuple[int, int]) -> dict[str, Any]:
    """What a run left: member states, the tier changes and timeline entries it added (without
    ids and clock readings), and the ledger."""
    with db.unit_of_work() as session:
        states = {
            row[0]: tuple(row[1:])
            for row in session.execute(select(Member.id, *(getattr(Member, c) for c in STATE)))
        }
        changes = sorted(
            (*row[:5], str(row[5]), *row[6:])
            for row in session.execute(
                select(
                    TierChange.member_id,
                    TierChange.on,
                    TierChange.kind,
                    TierChange.from_tier,
                    TierChange.to_tier,
                    TierChange.message,
                    TierChange.source,
                    TierChange.actor_label,
                ).where(TierChange.id > marks[0])
            )
        )
        timeline = sorted(
            (row[0], row[1], row[2], row[3], str(row[4]))
            for row in session.execute(
                select(
                    TimelineEvent.customer_id,
                    TimelineEvent.kind,
                    TimelineEvent.summary,
                    TimelineEvent.ref_id,
                    TimelineEvent.message,
                ).where(TimelineEvent.id > marks[1])
            )
        )
        ledger = sorted(
            session.execute(
                select(
                    Entry.member_id, Entry.currency, func.sum(Entry.amount), func.count()
                ).group_by(Entry.member_id, Entry.currency)
            ).all()
        )
    return {"states": states, "changes": changes, "timeline": timeline, "ledger": ledger}


def _restore(db, before: dict[str, Any], marks: tuple[int, int]) -> None:
    with db.unit_of_work() as session:
        for member_id, values in before["states"].items():
            session.execute(
                update(Member)
                .where(Member.id == member_id)
                .values(dict(zip(STATE, values, strict=True)))
            )
        session.execute(delete(TierChange).where(TierChange.id > marks[0]))
        session.execute(delete(TimelineEvent).where(TimelineEvent.id > marks[1]))


def test_spark_requalifies_every_member_exactly_as_the_single_machine_job(db, spark, members):
    marks = _marks(db)
    before = _outcome(db, marks)
    local = service.run(db, actor=SYSTEM, job="requalify", engine="local", as_of=AS_OF)
    on_one_machine = _outcome(db, marks)
    _restore(db, before, marks)
    assert _outcome(db, marks) == before
    on_spark = service.run(
        db, actor=SYSTEM, job="requalify", engine="spark", as_of=AS_OF, spark=spark
    )
    assert on_spark.counts == local.counts
    assert local.counts["members"] == len(members) and local.counts["changed"] > 0
    on_spark_outcome = _outcome(db, marks)
    assert on_spark_outcome == on_one_machine
    assert on_one_machine["states"] != before["states"]  # the runs did change something
    assert "downgraded" in {change[2] for change in on_one_machine["changes"]}
    assert on_one_machine["ledger"] == before["ledger"]  # a period end moves no point
    with db.unit_of_work() as session:
        runs = session.scalars(select(BatchRun).order_by(BatchRun.id)).all()
    assert [(r.job, r.engine, r.status) for r in runs[-2:]] == [
        ("requalify", "local", "succeeded"),
        ("requalify", "spark", "succeeded"),
    ]


def test_a_requalification_spark_cannot_finish_leaves_every_member_as_it_was(
    db, spark, members, monkeypatch
):
    marks = _marks(db)
    before = _outcome(db, marks)
    batches = spark_engine.requalified

    def fails_after_the_first_batch(*args: Any, **kwargs: Any):
        yield next(iter(batches(*args, **{**kwargs, "batch_size": 10})))
        raise SparkJobFailed("executor lost half-way", field="parquet")

    monkeypatch.setattr(spark_engine, "requalified", fails_after_the_first_batch)
    with pytest.raises(SparkJobFailed, match="half-way"):
        service.run(db, actor=SYSTEM, job="requalify", engine="spark", as_of=AS_OF, spark=spark)
    assert _outcome(db, marks) == before
    with db.unit_of_work() as session:
        last = session.scalars(select(BatchRun).order_by(BatchRun.id.desc())).first()
    assert last is not None and (last.job, last.status) == ("requalify", "failed")
    assert last.reason_code == "spark_job_failed"
    assert render_message("en", last.reason_message) == "executor lost half-way"


def test_requalification_refuses_an_old_export(db, tmp_path):
    with pytest.raises(InvalidInput, match="current state of the database") as refused:
        service.run(db, actor=SYSTEM, job="requalify", engine="spark", parquet=tmp_path)
    assert refused.value.field == "parquet"


def _fly_first_class(session, member_id: int) -> dict[str, Any]:
    """Six first-class long hauls posted today (360 XP: an upgrade to Platinum at once), as
    an agent or a feed would post them; the member's tier state afterwards."""
    member = session.get_one(Member, member_id)
    for n in range(6):
        loyalty.record_activity(
            session,
            actor=SYSTEM,
            programme_code="flying_blue",
            data=ActivityCreate(
                key=f"race-{member_id}-{n}",
                customer_id=member.customer_id,
                kind="flight",
                on=TODAY,
                amounts={"fare": 300_000},
                attributes={"cabin": "first", "distance_miles": 6000, "domestic": False},
            ),
        )
    session.flush()
    session.refresh(member)
    return dict(member.tier_state)


def _closed(state: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The tier state the period-end rule makes of ``state`` on ``AS_OF``, and its events."""
    programme = loyalty.get_programme("flying_blue")
    outcome = domain.close_periods(programme, codec.state_from_json(state), as_of=AS_OF)
    return codec.state_to_json(outcome.state), [event.kind for event in outcome.events]


def _stored_state(db, member_id: int) -> dict[str, Any]:
    with db.unit_of_work() as session:
        return dict(session.get_one(Member, member_id).tier_state)


@pytest.mark.parametrize("on", ["local", "spark"])
def test_an_activity_posted_between_the_read_and_the_write_is_kept(
    db, spark, members, monkeypatch, on
):
    """On Spark the members are read in one transaction (the export) and written minutes
    later; on one machine a batch is read, computed, then written. Flights posted in between
    move the member's tier state: the write leaves that member, who is requalified again from
    the state the flights made, with the others written as usual."""
    target = members[1]  # not raised by exception: without the flights, no Platinum
    with db.unit_of_work() as session:
        exported = dict(session.get_one(Member, target).tier_state)
    posted: dict[str, Any] = {}
    if on == "spark":
        export = service.export_members

        def export_then_fly(*args: Any, **kwargs: Any) -> int:
            written = export(*args, **kwargs)
            with db.unit_of_work() as session:
                posted.update(_fly_first_class(session, target))
            return written

        monkeypatch.setattr(service, "export_members", export_then_fly)
    else:
        read = period_ends.members_due
        calls: list[int] = []

        def fly_before_the_first_write(session, **kwargs: Any):
            calls.append(1)
            if len(calls) == 2:  # the first batch is computed, not yet written
                posted.update(_fly_first_class(session, target))
            return read(session, **kwargs)

        monkeypatch.setattr(period_ends, "members_due", fly_before_the_first_write)

    done = service.run(db, actor=SYSTEM, job="requalify", engine=on, as_of=AS_OF, spark=spark)

    assert posted and posted != exported
    assert _closed(posted) != _closed(exported)  # overwriting would show
    state, events = _closed(posted)
    assert _stored_state(db, target) == state
    assert done.counts["moved"] == 1 and done.counts["left"] == 0
    assert done.counts["members"] == len(members)
    with db.unit_of_work() as session:  # the events of the state read first were not written
        written = session.scalars(
            select(TierChange.kind)
            .where(TierChange.member_id == target, TierChange.source == "batch")
            .order_by(TierChange.id)
        ).all()
    assert written == events and "downgraded" in events  # Platinum lost at the period's end
