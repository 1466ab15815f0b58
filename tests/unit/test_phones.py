"""The fast phone path (egards.customers.phones) answers only what `phonenumbers` answers: on
random numbers of every shape, for several regions, it gives the library's E.164 form or
leaves the number to the library; and it does take the common French shapes itself."""

from __future__ import annotations

import random

import phonenumbers
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata

from egards.customers.domain import normalise_phone
from egards.customers.phones import column_e164, fast_e164, library_e164
from egards.errors import InvalidInput

REGIONS = ("FR", "GB", "US", "DE", "BE", "IT", "ES", "CH", "RE", "NL")


def _library(value: str, region: str) -> str | None:
    try:
        return library_e164(value, region)
    except Exception:  # any refusal of the library's is "invalid" here
        return None


separator = st.sampled_from(["", "", " ", ".", "-", "  ", "/", "(", ")"])
digit_run = st.text(alphabet="0123456789", min_size=1, max_size=4)


@st.composite
def numbers(draw: st.DrawFn) -> str:
    start = draw(
        st.sampled_from(["", "", "0", "00", "+", "+33", "+33 ", "+44", "+1", "+ ", "0033"])
    )
    runs = draw(st.lists(st.tuples(separator, digit_run), min_size=1, max_size=6))
    tail = draw(st.sampled_from(["", "", "", " ", "x12", "#"]))
    return start + "".join(sep + run for sep, run in runs) + tail


@settings(max_examples=3000, deadline=None)
@given(numbers(), st.sampled_from(REGIONS))
def test_the_fast_path_gives_the_librarys_number_or_leaves_it_to_the_library(
    value: str, region: str
) -> None:
    fast = fast_e164(value, region)
    if fast is not None:
        assert fast == _library(value, region)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="0123456789 .-+", max_size=20), st.sampled_from(REGIONS))
def test_the_fast_path_on_any_digits_and_separators(value: str, region: str) -> None:
    fast = fast_e164(value, region)
    if fast is not None:
        assert fast == _library(value, region)


@given(st.integers(100_000_000, 999_999_999))
def test_every_valid_french_national_number_matches_the_library(n: int) -> None:
    national = f"0{n}"
    expected = _library(national, "FR")
    fast = fast_e164(national, "FR")
    assert fast == expected  # valid ones taken by the fast path, the rest left to the library
    spaced = " ".join(national[i : i + 2] for i in range(0, 10, 2))
    assert fast_e164(spaced, "FR") == expected
    assert fast_e164(f"+33{n}", "FR") == expected


@pytest.mark.parametrize(
    "value", ["06 12 34 56 78", "+33 6 12-34-56-78", "0612345678", "06.12.34.56.78", "612345678"]
)
def test_the_common_french_shapes_take_the_fast_path(value: str) -> None:
    assert fast_e164(value, "FR") == "+33612345678" == normalise_phone(value)


@pytest.mark.parametrize("value", ["0033 6 12 34 56 78", "+44 20 7946 0958", "(0)6 12 34 56 78"])
def test_other_shapes_still_normalise_through_the_library(value: str) -> None:
    assert fast_e164(value, "FR") is None
    assert normalise_phone(value).startswith("+")


def test_an_invalid_number_is_still_refused_with_the_librarys_reason() -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_phone("06 12")
    assert refused.value.field == "phone"


def _corpus(size_per_region: int) -> list[tuple[str, str]]:
    """Numbers as people type them, made from each region's example numbers of every type:
    digits changed at random, one digit more or fewer, written in E.164, nationally, with an
    international call prefix, grouped by spaces, dots or hyphens (seeded: the same corpus
    every run)."""
    rng = random.Random(15)
    corpus = []
    for region in REGIONS:
        metadata = PhoneMetadata.metadata_for_region(region)
        assert metadata is not None
        prefix = metadata.national_prefix or ""
        examples = [
            phonenumbers.national_significant_number(found)
            for kind in range(11)
            if (found := phonenumbers.example_number_for_type(region, kind)) is not None
        ]
        for _ in range(size_per_region):
            digits = list(rng.choice(examples))
            for _ in range(rng.randrange(4)):
                digits[rng.randrange(len(digits))] = rng.choice("0123456789")
            if rng.random() < 0.1:
                digits.append(rng.choice("0123456789"))
            elif rng.random() < 0.1:
                digits.pop()
            number = "".join(digits)
            written = rng.choice(
                [
                    f"+{metadata.country_code}{number}",
                    f"+{metadata.country_code} {number}",
                    f"{prefix}{number}",
                    number,
                    f"00{metadata.country_code}{number}",
                ]
            )
            separator = rng.choice(["", " ", ".", "-"])
            step = rng.choice([2, 3, 4])
            corpus.append(
                (
                    separator.join(written[i : i + step] for i in range(0, len(written), step)),
                    region,
                )
            )
    return corpus


def test_a_corpus_of_numbers_as_typed_gives_the_librarys_answer_on_the_fast_path() -> None:
    corpus = _corpus(2000)
    answered = 0
    for value, region in corpus:
        fast = fast_e164(value, region)
        if fast is not None:
            answered += 1
            assert fast == _library(value, region), (value, region)
    # The fast path does the common case itself (else it would prove nothing).
    assert answered > len(corpus) // 4


# Digits that begin as a country code does, written without its "+".
country_first = st.builds(
    str.__add__,
    st.sampled_from(["33", "41", "49", "31", "32", "34", "39", "262"]),
    st.text(alphabet="0123456789", min_size=5, max_size=10),
)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        numbers() | country_first | st.text(alphabet="0123456789 .-+", max_size=20), max_size=30
    ),
    st.sampled_from(REGIONS),
)
def test_the_column_path_decides_only_what_the_fast_path_answers(
    values: list[str], region: str
) -> None:
    column = pa.array([value or None for value in values], pa.string())
    decided, e164 = column_e164(column, region)
    for value, taken, found in zip(values, decided.to_pylist(), e164.to_pylist(), strict=True):
        assert (found if taken else None) == (fast_e164(value, region) if taken else None)
        assert taken == (found is not None)


def test_the_column_path_takes_what_the_fast_path_takes_on_the_corpus() -> None:
    """Every number of the corpus written without "+" that the fast path answers, the
    column path answers the same (it is the whole of the import's work on phones)."""
    for region in REGIONS:
        values = [value for value, where in _corpus(300) if where == region and "+" not in value]
        decided, e164 = column_e164(pa.array(values, pa.string()), region)
        expected = [fast_e164(value, region) for value in values]
        found = [
            e if taken else None
            for taken, e in zip(decided.to_pylist(), e164.to_pylist(), strict=True)
        ]
        assert found == expected, region
