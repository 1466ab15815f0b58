"""Property: merging then unmerging gives back exactly what each file had."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from egards.accounts.domain import SYSTEM
from egards.customers import service
from egards.customers.models import ConsentEvent, Identity, Note, TimelineEvent
from egards.customers.schemas import ConsentCreate, CustomerCreate


def _state(session, customer_id):
    return {
        model.__tablename__: sorted(
            session.scalars(select(model.id).where(model.customer_id == customer_id))
        )
        for model in (Identity, ConsentEvent, TimelineEvent, Note)
    }


files = st.fixed_dictionaries(
    {
        "emails": st.integers(0, 2),
        "phones": st.integers(0, 2),
        "notes": st.integers(0, 3),
        "consents": st.integers(0, 2),
    }
)


_serials = itertools.count(1)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=files, b=files)
def test_unmerge_restores_both_files_exactly(db, a, b):
    serial = next(_serials)  # examples share one transaction: values must stay unique
    with db.unit_of_work() as session:
        ids = []
        for tag, spec in (("a", a), ("b", b)):
            customer = service.create_customer(
                session,
                actor=SYSTEM,
                data=CustomerCreate(
                    first_name="Prop",
                    last_name=tag,
                    emails=[f"{tag}{i}.{serial}@example.fr" for i in range(spec["emails"])],
                    phones=[
                        f"+33612{serial:04d}{i}{0 if tag == 'a' else 5}"
                        for i in range(spec["phones"])
                    ],
                ),
            )
            for n in range(spec["notes"]):
                service.add_note(session, actor=SYSTEM, customer_id=customer.id, body=f"note {n}")
            for n in range(spec["consents"]):
                service.record_consent(
                    session,
                    actor=SYSTEM,
                    customer_id=customer.id,
                    data=ConsentCreate(
                        purpose="marketing", channel="email", granted=n % 2 == 0, source="test"
                    ),
                )
            ids.append(customer.id)
        before = {cid: _state(session, cid) for cid in ids}
        merge = service.merge_customers(
            session, actor=SYSTEM, survivor_id=ids[0], merged_id=ids[1], reason=None
        )
        merged = _state(session, ids[1])
        assert all(not rows for rows in merged.values())
        service.unmerge(session, actor=SYSTEM, merge_id=merge.id, reason=None)
        after = {cid: _state(session, cid) for cid in ids}
        # Merge and unmerge leave timeline entries on the survivor; nothing else moves.
        after[ids[0]]["timeline_events"] = [
            e for e in after[ids[0]]["timeline_events"] if e in before[ids[0]]["timeline_events"]
        ]
        assert after == before
        primaries = session.execute(
            select(Identity.customer_id, Identity.kind).where(
                Identity.is_primary.is_(True), Identity.customer_id.in_(ids)
            )
        ).all()
        assert len(primaries) == len(set(primaries))
