"""The import's COPY text is built column by column with Arrow (`bulk.prepare_copy_columns`):
on random rows of the tables it writes, text with backslashes, tabs, newlines and carriage
returns included, the bytes are those `bulk.prepare_copy` makes of the same rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from egards.bulk import prepare_copy, prepare_copy_columns
from egards.customers.models import Customer, Identity

words = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["\\", "a\tb", "\n", "\r\n", "\\N", "Hélène", "O'Neil", "é\\t"]),
)
text = st.none() | words
NOW = datetime(2026, 12, 4, 18, 30, 1, 123456, tzinfo=UTC)


@st.composite
def customers(draw: st.DrawFn) -> list[dict[str, Any]]:
    row = st.fixed_dictionaries(
        {
            "id": st.integers(1, 2**62),
            "first_name": words,
            "last_name": words,
            "birth_date": st.none() | st.dates(date(1900, 1, 1), date(2026, 1, 1)),
            "city": text,
            "country": st.none() | st.sampled_from(["FR", "GB"]),
        }
    )
    return draw(st.lists(row, min_size=1, max_size=8))


@settings(max_examples=150, deadline=None)
@given(customers(), st.integers(0, 2))
def test_columns_give_the_bytes_of_the_rows(rows, shared: int) -> None:
    same = {"status": "active", "created_at": NOW, "import_id": 7}
    same = dict(list(same.items())[:shared] or [("erased_at", None)])
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    expected = prepare_copy(Customer.__table__, [{**row, **same} for row in rows])
    assert prepare_copy_columns(Customer.__table__, columns, same=same) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**9), text, st.booleans()), min_size=1, max_size=8))
def test_identity_lines_with_shared_values(rows) -> None:
    columns = {
        "customer_id": [r[0] for r in rows],
        "value": [r[1] or "" for r in rows],
        "is_primary": [r[2] for r in rows],
    }
    same = {"kind": "phone", "network": "", "verified": False, "created_at": NOW}
    made = prepare_copy_columns(Identity.__table__, columns, same=same)
    as_rows = [
        dict(zip(columns, values, strict=True)) | same
        for values in zip(*columns.values(), strict=True)
    ]
    assert made == prepare_copy(Identity.__table__, as_rows)
    assert made.data.count(b"\n") == len(rows)


def test_no_rows_make_no_copy() -> None:
    assert prepare_copy_columns(Identity.__table__, {"value": []}).columns == ()
