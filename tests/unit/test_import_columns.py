"""The import checks a plain CSV file column by column (Arrow) and sends only the rows a
column check flags through the row model: on random files, with bad rows among good ones,
it gives the same rows (normalised identically) and the same rejects (line, field, reason)
as reading and validating every row one by one (issue 15 §5)."""

from __future__ import annotations

import csv
import io
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


# Values a CSV writer must quote: a comma, a quote, line breaks (LF and CRLF) inside.
quoted = st.sampled_from(["Jean, dit", 'dit "Jo"', '"', "rue\nbis", "a\r\nb", "\n", ", "])
# Lines that are not rows of the file: empty, more or fewer values, an unclosed quote, bytes
# that are not UTF-8. From the first one Arrow cannot read, the row path reads on.
odd_line = st.sampled_from(
    [b"", b"  ", b",,", b"K-9,A", b'K-9,"A,B', b"K-9,\xff\xfe,B", b"K-9,A,B,C,D"]
)


@st.composite
def files(draw: st.DrawFn) -> tuple[list[str], list[list[str] | bytes], bool]:
    extra = draw(st.lists(st.sampled_from(COLUMNS[3:]), unique=True, max_size=9))
    header = ["external_id", "first_name", "last_name", *extra]
    header = draw(st.permutations(header))
    ids = st.sampled_from(["K-1", "K-2", "K-3", "", " K-4", "K-5"])
    with_quotes = draw(st.booleans())
    cell = value | quoted if with_quotes else value
    row = st.fixed_dictionaries({n: ids if n == "external_id" else cell for n in header})
    rows = draw(
        st.lists(
            row.map(lambda r: [r[n] for n in header]) | odd_line
            if draw(st.booleans())
            else row.map(lambda r: [r[n] for n in header]),
            min_size=1,
            max_size=12,
        )
    )
    return header, rows, draw(st.booleans())


def _write(
    path: Path, header: list[str], rows: list[list[str] | bytes], ending: str, quote_all: bool
) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(
        out, lineterminator=ending, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    )
    writer.writerow(header)
    data = out.getvalue().encode()
    for row in rows:
        if isinstance(row, bytes):
            data += row + ending.encode()
        else:
            out.seek(0)
            out.truncate()
            writer.writerow(row)
            data += out.getvalue().encode()
    path.write_bytes(data)


def _both(path: Path, block_size: int = 1 << 22):
    by_columns = _columns(path, "FR", block_size)
    assert by_columns is not None  # no NUL, no bare CR, a plain header
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


def _same(found, expected) -> None:
    assert [(n, _comparable(i)) for n, i in found] == [(n, _comparable(i)) for n, i in expected]


@settings(max_examples=200, deadline=None)
@given(files(), st.sampled_from(["\n", "\r\n"]), st.sampled_from([1 << 22, 64, 7]))
@example(
    (["external_id", "first_name", "last_name"], [["K-1", "A", "B"], [" ", "", " "]], False),
    "\n",
    1 << 22,
)
def test_columns_give_the_rows_and_rejects_of_the_row_by_row_path(file, ending, block_size) -> None:
    header, rows, quote_all = file
    with TemporaryDirectory() as folder:
        path = Path(folder) / "customers.csv"
        _write(path, header, rows, ending, quote_all)
        _same(*_both(path, block_size))


def test_a_quoted_value_over_two_lines_keeps_the_line_numbers_right(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text(
        "external_id,first_name,last_name,city\n"
        'K-1,"Jean, dit",B,"rue\nbis"\n'
        "\n"
        "K-2,A,,Lyon\n"
        'K-3,"dit ""Jo""",B,Paris\n'
    )
    found, expected = _both(path)
    _same(found, expected)
    assert [(n, getattr(i, "field", None)) for n, i in found] == [
        (3, None),
        (5, "last_name"),
        (6, None),
    ]
    assert found[0][1].row.city == "rue\nbis"  # pyright: ignore[reportAttributeAccessIssue]


def test_a_file_the_csv_module_reads_otherwise_is_left_to_the_row_path(tmp_path: Path) -> None:
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"external_id,first_name,last_name\nK-1,A\x00,B\n")
    bare_cr = tmp_path / "cr.csv"
    bare_cr.write_bytes(b"external_id,first_name,last_name\nK-1,A,B\rK-2,C,D\n")
    quoted_header = tmp_path / "header.csv"
    quoted_header.write_text('"external_id","first_name\n",last_name\nK-1,A,B\n')
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(b"external_id,first_name,last_name,pr\xe9nom\nK-1,A,B,C\n")
    assert [_columns(p, "FR") for p in (nul, bare_cr, quoted_header, latin1)] == [None] * 4


def test_a_carriage_return_and_its_line_feed_across_two_blocks_are_one_line_end(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"external_id,first_name,last_name\r\nK-1,A,B\r\nK-2,C,D\r\n")
    for size in range(1, 20):
        found, expected = _both(path, size)
        _same(found, expected)


def test_a_quoted_crlf_split_by_two_blocks_keeps_its_line_feed(tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(
        b"external_id,first_name,last_name\n"
        + b"".join(b'K-%d,"A\r\nB",%s\n' % (i, b"x" * (i % 7 + 1)) for i in range(40))
    )
    for size in range(120, 260):
        found, expected = _both(path, size)
        _same(found, expected)
        assert all(isinstance(i, _Valid) and i.row.first_name == "A\r\nB" for _, i in found)
