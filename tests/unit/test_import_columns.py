"""The import checks a plain CSV file column by column (Arrow) and sends only the rows a
column check flags through the row model: on random files, with bad rows among good ones,
it gives the same rows (normalised identically) and the same rejects (line, field, reason)
as reading and validating every row one by one (issue 15 §5)."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import example, given, settings
from hypothesis import strategies as st

from egards.customers.imports import Reject, _columns, _read_rows, _Valid, _validate

COLUMNS = [
    "external_id",
    "first_name",
    "last_name",
    "preferred_language",
    "birth_date",
    "postal_code",
    "city",
    "country",
    "email",
    "phone",
    "loyalty_number",
    "extra",
]

value = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "Hélène",
            "Ÿvonne",
            " padded ",
            "\u00a0nbsp",
            "tab\tinside",
            "bell\x07",
            "x" * 101,
            "é" * 100,
            "fr",
            "en",
            "de",
            "FR",
            "fr ",
            "1984-02-29",
            "1985-02-29",
            "1899-12-31",
            "2001-13-01",
            "2100-01-01",
            "1984-2-3",
            "a@example.fr",
            "A.B@Example.FR",
            "not-an-email",
            "a..b@example.fr",
            "06 12 34 56 78",
            "+33 6 12-34-56-78",
            "12",
            "+44 20 7946 0958",
            "AB-1234",
            "ab",
            "75001",
            "Lyon\u2028",
        ]
    ),
    st.text(
        alphabet=st.characters(max_codepoint=0x17F, exclude_characters='",\r\n\x00'),
        max_size=12,
    ),
)


@st.composite
def files(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    extra = draw(st.lists(st.sampled_from(COLUMNS[3:]), unique=True, max_size=9))
    header = ["external_id", "first_name", "last_name", *extra]
    header = draw(st.permutations(header))
    ids = st.sampled_from(["K-1", "K-2", "K-3", "", " K-4", "K-5"])
    rows = draw(
        st.lists(
            st.fixed_dictionaries({n: ids if n == "external_id" else value for n in header}),
            min_size=1,
            max_size=12,
        )
    )
    return header, [[row[n] for n in header] for row in rows]


def _both(header: list[str], rows: list[list[str]], ending: str = "\n"):
    with TemporaryDirectory() as folder:
        path = Path(folder) / "customers.csv"
        path.write_text(ending.join([",".join(header), *(",".join(r) for r in rows)]) + ending)
        by_columns = _columns(path, "FR")
        assert by_columns is not None  # a plain file: no quote, no empty line
        found = list(by_columns)
        expected = [
            (n, raw if isinstance(raw, Reject) else _validate(n, raw, "FR"))
            for n, raw in _read_rows(path)
        ]
    return found, expected


def _comparable(item: _Valid | Reject):
    if isinstance(item, Reject):
        return ("reject", item.line, item.field, item.reason)
    return ("row", item.line, item.row.model_dump(), item.identities)


@settings(max_examples=200, deadline=None)
@given(files(), st.sampled_from(["\n", "\r\n"]))
@example((["external_id", "first_name", "last_name"], [["K-1", "A", "B"], [" ", "", " "]]), "\n")
def test_columns_give_the_rows_and_rejects_of_the_row_by_row_path(file, ending) -> None:
    header, rows = file
    found, expected = _both(header, rows, ending)
    assert [(n, _comparable(i)) for n, i in found] == [(n, _comparable(i)) for n, i in expected]


def test_a_file_with_quotes_or_empty_lines_is_left_to_the_row_path(tmp_path: Path) -> None:
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('external_id,first_name,last_name\nK-1,"Jean, dit",B\n')
    empty_line = tmp_path / "empty.csv"
    empty_line.write_text("external_id,first_name,last_name\n\nK-1,A,B\n")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("external_id,first_name,last_name\nK-1,A\n")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(b"external_id,first_name,last_name\nK-1,H\xe9l\xe8ne,B\n")
    assert [_columns(p, "FR") for p in (quoted, empty_line, ragged, latin1)] == [None] * 4
