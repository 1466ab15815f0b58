"""Rules of the customer file, without a database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egards.accounts.domain import Actor, Permission, Role
from egards.customers.domain import (
    IdentityKind,
    fold,
    interpret_search,
    name_keys,
    normalise_identity,
    normalise_phone,
)
from egards.errors import InvalidInput, PermissionDenied


def test_folding_ignores_accents_case_and_spacing():
    assert fold("  Hélène   LEFÈVRE ") == "helene lefevre"
    assert fold("Œdipe Ærø Straße") == "oedipe aero strasse"


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=30))
def test_folding_ascii_takes_a_shortcut_to_the_same_result(text):
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    assert fold(text) == " ".join(unicodedata.normalize("NFKC", stripped).casefold().split())


def test_a_person_is_found_by_first_or_last_name():
    assert name_keys("Hélène", "Dupont") == ("dupont helene", "helene dupont")


@pytest.mark.parametrize(
    "typed",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "+33 6 12 34 56 78",
        "+33 (0)6 12-34-56-78",
        "0033612345678",
    ],
)
def test_french_phones_in_any_common_format_become_e164(typed):
    assert normalise_phone(typed) == "+33612345678"


def test_a_foreign_number_keeps_its_country():
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("bad", ["12", "hello", "+33 1", "06 12 34"])
def test_an_invalid_phone_is_refused_with_its_field(bad):
    with pytest.raises(InvalidInput) as error:
        normalise_phone(bad)
    assert error.value.field == "phone"


def test_handles_and_loyalty_numbers_are_canonical():
    assert normalise_identity(IdentityKind.SOCIAL, "@Fred_Kahane") == "fred_kahane"
    assert normalise_identity(IdentityKind.LOYALTY_NUMBER, "fb-1234-5678") == "FB12345678"
    with pytest.raises(InvalidInput):
        normalise_identity(IdentityKind.SOURCE_ID, "no-system-prefix")


@pytest.mark.parametrize(
    ("typed", "kind", "value"),
    [
        ("Jean.Dupont@Example.fr", IdentityKind.EMAIL, "jean.dupont@example.fr"),
        ("06 12 34 56 78", IdentityKind.PHONE, "+33612345678"),
        ("@someone", IdentityKind.SOCIAL, "someone"),
        ("FB00001234", IdentityKind.LOYALTY_NUMBER, "FB00001234"),
        ("Hélène Dup", None, "helene dup"),
    ],
)
def test_the_search_box_understands_what_is_typed(typed, kind, value):
    query = interpret_search(typed)
    assert (query.kind, query.value) == (kind, value)


def test_a_token_never_exceeds_its_owner_role():
    analyst = Actor(label="a", role=Role.ANALYST, scopes=frozenset(Permission))
    assert Permission.CUSTOMERS_WRITE not in analyst.permissions
    assert Permission.CUSTOMERS_READ in analyst.permissions
    with pytest.raises(PermissionDenied):
        analyst.require(Permission.CUSTOMERS_WRITE)


names = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "Zs", "Pd"]), max_size=40)


@given(names)
def test_folding_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(names)
def test_folding_ignores_case(text):
    assert fold(text.upper()) == fold(text.lower()) == fold(text)


@given(st.text(alphabet="aeiouceyn", min_size=1, max_size=20))
def test_accented_and_plain_spellings_fold_alike(plain):
    accented = plain.translate(str.maketrans("aeiouceyn", "àéîöûçèÿñ"))
    assert fold(accented) == fold(plain)


@given(st.integers(min_value=0, max_value=999_999))
def test_every_spacing_of_a_mobile_number_gives_one_identity(digits):
    national = f"0612{digits:06d}"
    spaced = " ".join(national[i : i + 2] for i in range(0, 10, 2))
    dotted = spaced.replace(" ", ".")
    international = "+33 " + national[1:]
    assert (
        normalise_phone(national)
        == normalise_phone(spaced)
        == normalise_phone(dotted)
        == normalise_phone(international)
    )
