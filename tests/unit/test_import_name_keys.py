"""An initial load computes the customers' search keys column by column (Arrow folds the
ASCII names, `name_keys` the others): on random names, the keys `name_keys` gives row by row
(issue 15 §5)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from egards.customers.domain import name_keys
from egards.customers.imports import _name_key_columns

# ASCII letters, case and the whitespace str.split() knows, some accents and ligatures.
name = st.text(
    alphabet=st.sampled_from(list("aZéÉœßİ- '\t\n\r\x0b\x0c\x1c\x1f\u00a0")),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(name, name), min_size=1, max_size=20))
def test_the_columns_give_the_keys_of_each_row(names: list[tuple[str, str]]) -> None:
    firsts, lasts = (pa.array(list(column), pa.string()) for column in zip(*names, strict=True))
    last_first, first_last = _name_key_columns(firsts, lasts)
    assert list(zip(last_first.to_pylist(), first_last.to_pylist(), strict=True)) == [
        name_keys(first, last) for first, last in names
    ]
