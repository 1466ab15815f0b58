"""Bulk import of customers from CSV or JSON Lines: validated per row, upserted per batch.

Each batch is one transaction, so an interrupted import can simply be run again: rows are
matched by external id, unchanged rows are left alone, and the end state is the same.
Rejected rows go to a report with their line number, the field and the reason.

An import is one ``customer_imports`` row (file, who, when, counts) and one audit record;
the customers it creates carry its id, and their timeline shows their creation from that row
when it is read. A customer it updates gets a timeline entry of its own.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any, BinaryIO, Self, TypeVar

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import (
    Select,
    String,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM
from egards.audit import service as audit
from egards.bulk import (
    BackgroundWriter,
    array_of,
    bulk_insert,
    paused_gc,
    prepare_copy_columns,
    reserve_ids,
    write_prepared_copy,
)
from egards.customers.domain import (
    ASCII_EMAIL,
    LOYALTY_NUMBER,
    IdentityKind,
    fold,
    name_keys,
    normalise_identity,
)
from egards.customers.models import Customer, CustomerImport, Identity, TimelineEvent
from egards.customers.phones import column_e164
from egards.customers.service import PROFILE_FIELDS
from egards.db import Database, utcnow
from egards.errors import InvalidInput
from egards.i18n import N_, message, render_message
from egards.schemas import CONTROL_CHARACTER, Input, refuse_control_characters

REQUIRED_COLUMNS = ("external_id", "first_name", "last_name")
PROFILE = PROFILE_FIELDS
IDENTITY_COLUMNS = {
    "email": IdentityKind.EMAIL,
    "phone": IdentityKind.PHONE,
    "loyalty_number": IdentityKind.LOYALTY_NUMBER,
}


class ImportRow(Input):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    external_id: str = Field(min_length=1, max_length=100)
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    preferred_language: str = Field(default="fr", pattern="^(fr|en)$")
    birth_date: date | None = None
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    email: str | None = None
    phone: str | None = None
    loyalty_number: str | None = None

    # An empty value is no value: the rows are given to the model through `_row_input`, which
    # makes "" None (one dict comprehension, not a Python validator per field and row).

    @model_validator(mode="after")
    def _no_control_characters(self) -> Self:
        # Replaces Input's check: all the fields are flat text or dates, so one search over
        # their text joined by tabs (allowed) tells whether the field-by-field pass is needed.
        values = self.__dict__.values()
        if CONTROL_CHARACTER.search("\t".join(v for v in values if type(v) is str)):
            refuse_control_characters(self)
        return self

    @field_validator("birth_date")
    @classmethod
    def _plausible(cls, value: date | None) -> date | None:
        if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
            raise ValueError("must be between 1900-01-01 and today")
        return value


@dataclass
class Reject:
    line: int
    field: str
    reason: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    removed_rejects: bool = False  # an earlier run's reject report was removed
    initial_load: bool = False  # into an empty file, in one transaction, indexes rebuilt after


@dataclass
class _Valid:
    line: int
    row: ImportRow
    identities: list[tuple[str, str, str]]  # kind, value, display


def _json_lines(path: Path) -> bool:
    """Whether the file is read as JSON Lines (by its name), not as CSV."""
    return path.suffix.lower() in (".jsonl", ".ndjson", ".json")


def _read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | Reject]]:
    """(line number, raw row or a reject) for each data line; encoding errors are per line."""
    with path.open("rb") as handle:
        if _json_lines(path):
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    yield (
                        number,
                        Reject(
                            number, "line", f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
                        ),
                    )
                    continue
                except json.JSONDecodeError as exc:
                    yield (
                        number,
                        Reject(number, "line", f"not valid JSON: {exc.msg} at column {exc.colno}"),
                    )
                    continue
                if not isinstance(row, dict):
                    yield number, Reject(number, "line", "each line must be a JSON object")
                    continue
                yield number, row
            return
        yield from read_csv(handle, required=REQUIRED_COLUMNS)


# What `surrogateescape` made of bytes that are not UTF-8.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def read_csv(
    handle: BinaryIO, *, required: Sequence[str]
) -> Iterator[tuple[int, dict[str, str] | Reject]]:
    """(line number, row by column name, or a reject) for each data line of a CSV file.

    Whatever a line holds (bytes that are not UTF-8, a bare carriage return, an unclosed
    quote, a field beyond the csv module's limit), it costs that line a reject, not the file;
    control characters are the schemas' to refuse, by field.
    """
    lines = (raw.decode("utf-8", errors="surrogateescape") for raw in handle)
    reader = csv.reader(lines)
    try:
        header = [name.strip().lstrip("\ufeff") for name in next(reader)]
    except StopIteration:
        raise InvalidInput("the file is empty", field="file") from None
    except csv.Error as exc:
        raise InvalidInput(f"the header line cannot be read: {exc}", field="header") from None
    missing = [name for name in required if name not in header]
    if missing:
        raise InvalidInput(f"missing required column(s): {', '.join(missing)}", field="header")
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, Reject(reader.line_num, "line", f"not valid CSV: {exc}")
            continue
        number = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if _NOT_UTF8.search("".join(values)):
            yield number, Reject(number, "line", "not valid UTF-8")
            continue
        if len(values) != len(header):
            yield (
                number,
                Reject(number, "line", f"{len(values)} values for {len(header)} columns"),
            )
            continue
        yield number, dict(zip(header, values, strict=True))


def _row_input(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: None if value == "" else value for key, value in raw.items()}


def _validate(number: int, raw: dict[str, Any], region: str) -> _Valid | Reject:
    try:
        row = ImportRow.model_validate(_row_input(raw))
    except ValidationError as exc:
        error = exc.errors()[0]
        return Reject(number, ".".join(str(p) for p in error["loc"]) or "line", error["msg"])
    identities = []
    for column, kind in IDENTITY_COLUMNS.items():
        value = getattr(row, column)
        if value:
            try:
                identities.append(
                    (str(kind), normalise_identity(kind, value, region=region), value)
                )
            except InvalidInput as exc:
                return Reject(number, column, exc.message)
    return _Valid(number, row, identities)


def _row_path(path: Path, region: str, after: int = 0) -> Iterator[tuple[int, _Valid | Reject]]:
    """(line number, valid row or reject) for each data line after line ``after``, read
    and checked row by row (:func:`_read_rows`, :func:`_validate`)."""
    for number, raw in _read_rows(path):
        if number > after:
            yield number, (raw if isinstance(raw, Reject) else _validate(number, raw, region))


def _validated_rows(path: Path, region: str) -> Iterator[tuple[int, _Valid | Reject]]:
    """(line number, valid row or reject) for each data line: column by column with Arrow
    for a plain CSV file (:func:`_columns`), else row by row (:func:`_row_path`)."""
    by_columns = None if _json_lines(path) else _columns(path, region)
    yield from _row_path(path, region) if by_columns is None else by_columns


# Python's str.strip() removes these; a value starting or ending with one takes the row path.
_EDGE_SPACE = (
    r"[\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)
# ... and one with a control character (CONTROL_CHARACTER, written for RE2).
_ROW_PATH_IF = (
    rf"^{_EDGE_SPACE}|{_EDGE_SPACE}$|[\x{{00}}-\x{{08}}\x{{0b}}\x{{0c}}\x{{0e}}-\x{{1f}}]"
)
_BLOCK = 1 << 22  # bytes of the file Arrow reads at a time (about 50,000 rows)


def _max_length(name: str) -> int | None:
    for rule in ImportRow.model_fields[name].metadata:
        if getattr(rule, "max_length", None) is not None:
            return rule.max_length
    return None


def _arrow_header(path: Path, block_size: int) -> tuple[list[str], bool] | None:
    """The header of a CSV file that Arrow can read as the csv module does, and whether the
    file quotes any value; None for any other file (the row path reads it): a header that
    is not one whole line of UTF-8, or without distinct names including the required ones; a NUL
    or a carriage return that does not end a line anywhere in the file (the csv module
    refuses those lines where Arrow would read on). Read block by block."""
    with path.open("rb") as handle:
        first = handle.readline()
        if not first.strip():
            return None
        try:  # strict: a quote left open (the header going on to the next line) is refused
            names = next(csv.reader([first.decode("utf-8")], strict=True))
        except (UnicodeDecodeError, csv.Error):
            return None
        header = [name.strip().lstrip("\ufeff") for name in names]
        if len(set(header)) != len(header) or any(n not in header for n in REQUIRED_COLUMNS):
            return None
        quoted = b'"' in first
        carriage_returns, line_ends, last = first.count(b"\r"), first.count(b"\r\n"), b""
        while block := handle.read(block_size):
            if b"\x00" in block:
                return None
            quoted = quoted or b'"' in block
            carriage_returns += block.count(b"\r")
            line_ends += (last + block).count(b"\r\n")  # a CR ending one block, its LF next
            last = block[-1:]
    return (header, quoted) if carriage_returns == line_ends else None


def _columns(
    path: Path, region: str, block_size: int = _BLOCK
) -> Iterator[tuple[int, _Valid | Reject]] | None:
    """The rows of a CSV file Arrow can read (:func:`_arrow_header`; else None) as
    :func:`_validate` gives them, in the file's order: :func:`_column_blocks`, row by row."""
    found = _arrow_header(path, block_size)
    if found is None:
        return None
    blocks = _column_blocks(path, *found, region, block_size)
    return (pair for checked in blocks for pair in _items(checked))


def _checked_blocks(path: Path, region: str) -> Iterator[_Checked]:
    """The file's rows, checked, block by block: by columns (:func:`_column_blocks`) when
    Arrow can read it, else as :func:`_validate` gives them one by one."""
    found = None if _json_lines(path) else _arrow_header(path, _BLOCK)
    if found is None:
        yield from _in_blocks(_row_path(path, region))
    else:
        yield from _column_blocks(path, *found, region, _BLOCK)


def _in_blocks(items: Iterable[tuple[int, _Valid | Reject]]) -> Iterator[_Checked]:
    block: list[tuple[int, _Valid | Reject]] = []
    for pair in items:
        block.append(pair)
        if len(block) == _ROWS_PER_BLOCK:
            yield _checked_of(block)
            block = []
    if block:
        yield _checked_of(block)


def _column_blocks(
    path: Path, header: list[str], quoted: bool, region: str, block_size: int
) -> Iterator[_Checked]:
    """The file streamed block by block and checked column by column (:func:`_check_block`).
    Quoted values may hold commas, quotes and line breaks: a row's line number is the one its
    record ends on, as the csv module counts. From a block Arrow cannot parse (a line with
    more or fewer values, an unclosed quote, bytes that are not UTF-8), the row path reads
    the rest of the file, so that those lines get their rejects."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    pc: Any = import_module("pyarrow.compute")
    options = {
        "read_options": pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=block_size),
        "parse_options": pacsv.ParseOptions(
            quote_char='"' if quoted else False,
            newlines_in_values=quoted,
            ignore_empty_lines=False,  # an empty line is a blank row, and counts
        ),
        "convert_options": pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    }
    line = 1  # the last line given: the header's
    for block in _arrow_blocks(path, options):
        if block is None:  # Arrow cannot read on: the row path gives the lines after `line`
            yield from _in_blocks(_row_path(path, region, after=line))
            return
        if not block.num_rows:
            continue
        spans: Any = pa.array([1] * block.num_rows, pa.int64())
        if quoted:  # a record spans one line more per line break in its values
            for name in header:
                spans = pc.add(spans, pc.count_substring(block[name], "\n"))
        ends = pc.add(pc.cumulative_sum(spans), line)
        yield _check_block(block, ends, header, region)
        line = ends[-1].as_py()


def _arrow_blocks(path: Path, options: dict[str, Any]) -> Iterator[Any]:
    """Arrow's record batches of the file, then None if it stopped at a block it could not
    parse (only reading is caught here, not what the caller does with a block)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with path.open("rb") as handle:
        try:
            yield from pacsv.open_csv(_WholeLineEnds(handle), **options)
        except pa.ArrowInvalid:
            yield None


class _WholeLineEnds(io.RawIOBase):
    """A file read so that no read ends between a carriage return and what follows: Arrow's
    streaming CSV reader (pyarrow 26) drops the line feed of a quoted value's CRLF when its
    blocks split the pair (found by the property test in tests/unit/test_import_columns.py)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._held = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._held + self._handle.read(len(buffer) - len(self._held))
        self._held = b""
        if len(data) > 1 and data.endswith(b"\r"):
            data, self._held = data[:-1], b"\r"
        buffer[: len(data)] = data
        return len(data)


def _checked_row(values: dict[str, Any], given: set[str]) -> ImportRow:
    """An ImportRow of values the column checks passed, as ``model_construct`` makes it (the
    same four attributes) without its per-field default lookups: a tenth of its cost."""
    row = ImportRow.__new__(ImportRow)
    object.__setattr__(row, "__dict__", values)
    object.__setattr__(row, "__pydantic_fields_set__", given)
    object.__setattr__(row, "__pydantic_extra__", None)
    object.__setattr__(row, "__pydantic_private__", None)
    return row


_ROWS_PER_BLOCK = 50_000  # rows of a file read row by row per checked block


def _normalised(column: str) -> str:
    """The column of a checked block with ``column``'s identities in their normal form."""
    return f"{column} (normalised)"


@cache
def _schema() -> Any:
    import pyarrow as pa

    fields = [
        (n, pa.date32() if n == "birth_date" else pa.string()) for n in ImportRow.model_fields
    ]
    fields += [(_normalised(column), pa.string()) for column in IDENTITY_COLUMNS]
    return pa.schema([*fields, ("line", pa.int64())])


@dataclass
class _Checked:
    """A block of the file once checked: its valid rows as Arrow columns, in the file's
    order (the fields of :class:`ImportRow` as the model leaves them, each identity
    column's value normalised, the line number), and its rejects."""

    rows: Any  # a pyarrow Table of _schema()
    rejects: list[Reject]


def _checked_of(items: Sequence[tuple[int, _Valid | Reject]]) -> _Checked:
    """Rows validated one by one, as a checked block."""
    import pyarrow as pa

    valid = [item for _, item in items if isinstance(item, _Valid)]
    columns: dict[str, list[Any]] = {
        name: [item.row.__dict__[name] for item in valid] for name in ImportRow.model_fields
    }
    normal_forms = [{kind: value for kind, value, _ in item.identities} for item in valid]
    for column, kind in IDENTITY_COLUMNS.items():
        columns[_normalised(column)] = [found.get(str(kind)) for found in normal_forms]
    columns["line"] = [item.line for item in valid]
    rows = pa.Table.from_pydict(columns, schema=_schema())
    return _Checked(rows, [item for _, item in items if isinstance(item, Reject)])


def _valid_items(rows: Any) -> list[_Valid]:
    """Checked rows as the batch path takes them, one :class:`_Valid` each."""
    values = {name: rows[name].to_pylist() for name in rows.column_names}
    normal_forms = [
        (column, str(kind), values[_normalised(column)])
        for column, kind in IDENTITY_COLUMNS.items()
    ]
    items = []
    for index, line in enumerate(values["line"]):
        row = {name: values[name][index] for name in ImportRow.model_fields}
        identities = [
            (kind, normal[index], row[column])
            for column, kind, normal in normal_forms
            if normal[index] is not None
        ]
        given = {name for name, value in row.items() if value is not None}
        items.append(_Valid(line, _checked_row(row, given), identities))
    return items


def _items(checked: _Checked) -> list[tuple[int, _Valid | Reject]]:
    """A checked block's rows and rejects, in the file's order (one of them per line)."""
    found: list[tuple[int, _Valid | Reject]] = [(i.line, i) for i in _valid_items(checked.rows)]
    found += [(reject.line, reject) for reject in checked.rejects]
    return sorted(found, key=lambda pair: pair[0])


def _plausible_day(text: str) -> date | None:
    """The date of a value shaped YYYY-MM-DD, when it is one the model accepts."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if date(1900, 1, 1) <= day <= date.today() else None


def _check_block(table: Any, lines: Any, header: list[str], region: str) -> _Checked:
    """The rows of one block (``lines``: each row's line number), checked column by column:
    a row that any check flags (a value to trim, a control character, an empty or too long
    required value, a length, a language, a country or a date to look at) goes through
    :func:`_validate`, so that its reject names the same line, field and reason. The
    identities of the others are normalised by Arrow where a column-wise rule decides
    (:func:`_normal_forms`), by :func:`normalise_identity` one by one elsewhere."""
    import pyarrow as pa

    pc: Any = import_module("pyarrow.compute")  # its functions are made at run time
    blank = pa.array([True] * table.num_rows)
    for name in header:
        blank = pc.and_(blank, pc.equal(pc.utf8_trim_whitespace(table[name]), ""))
    flagged = pa.array([False] * table.num_rows)
    for name in [name for name in ImportRow.model_fields if name in header]:
        column = table[name]
        checks = [pc.match_substring_regex(column, _ROW_PATH_IF)]
        if ImportRow.model_fields[name].is_required():
            checks.append(pc.equal(column, ""))
        limit = _max_length(name)
        if limit is not None:
            checks.append(pc.greater(pc.utf8_length(column), limit))
        if name == "preferred_language":
            # an empty value is None, which the model refuses (the default is for no column)
            checks.append(pc.invert(pc.is_in(column, pa.array(["fr", "en"]))))
        elif name == "country":
            checks.append(pc.invert(pc.match_substring_regex(column, "^([A-Z]{2})?$")))
        elif name == "birth_date":
            checks.append(
                pc.invert(pc.match_substring_regex(column, "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"))
            )
        for check in checks:
            flagged = pc.or_(flagged, check)
    days = None
    if "birth_date" in header:  # turned into dates one by one; a wrong one flags its row
        given = pc.indices_nonzero(
            pc.and_(pc.invert(pc.or_(blank, flagged)), pc.not_equal(table["birth_date"], ""))
        )
        found = [None] * table.num_rows
        slow = flagged.to_pylist()
        texts = table["birth_date"].take(given).to_pylist()
        for index, text in zip(given.to_pylist(), texts, strict=True):
            found[index] = _plausible_day(text)
            slow[index] = slow[index] or found[index] is None
        flagged, days = pa.array(slow), pa.array(found, pa.date32())
    looked_at = pc.indices_nonzero(pc.and_(flagged, pc.invert(blank)))
    checked = [
        (number, _validate(number, raw, region))
        for number, raw in zip(
            lines.take(looked_at).to_pylist(), table.take(looked_at).to_pylist(), strict=True
        )
    ]
    fast = pc.invert(pc.or_(blank, flagged))
    if days is not None:
        days = days.filter(fast)
    rows, rejects = _normal_forms(table.filter(fast), lines.filter(fast), header, region, days)
    if not checked:
        return _Checked(rows, rejects)
    by_rows = _checked_of(checked)
    rows = pa.concat_tables([rows, by_rows.rows])
    return _Checked(rows.take(pc.sort_indices(rows["line"])), rejects + by_rows.rejects)


def _normal_forms(
    table: Any, lines: Any, header: list[str], region: str, days: Any
) -> tuple[Any, list[Reject]]:
    """Rows the column checks passed as a checked block's rows (empty values None, the
    default language where the file has no column for it) and the rejects of the rows with
    an identity :func:`normalise_identity` refuses (the first identity column's reason)."""
    import pyarrow as pa

    pc: Any = import_module("pyarrow.compute")
    count = table.num_rows
    none = pa.scalar(None, pa.string())
    columns: dict[str, Any] = {}
    for name in ImportRow.model_fields:
        if name == "birth_date":
            columns[name] = pa.nulls(count, pa.date32()) if days is None else days
        elif name in header:
            columns[name] = pc.if_else(pc.equal(table[name], ""), none, table[name])
        elif name == "preferred_language":
            columns[name] = pa.repeat(pa.scalar("fr"), count)
        else:
            columns[name] = pa.nulls(count, pa.string())
    refused: dict[int, Reject] = {}
    for column, kind in IDENTITY_COLUMNS.items():
        values = columns[column]
        decided, normal = _normal_form(kind, values, region)
        left = pc.and_(pc.is_valid(values), pc.invert(decided))
        indexes = pc.indices_nonzero(left)
        if len(indexes):
            found: list[str | None] = []
            texts = values.take(indexes).to_pylist()
            for index, value in zip(indexes.to_pylist(), texts, strict=True):
                try:
                    found.append(normalise_identity(kind, value, region=region))
                except InvalidInput as exc:
                    found.append(None)
                    line = lines[index].as_py()
                    refused.setdefault(index, Reject(line, column, exc.message))
            normal = pc.replace_with_mask(normal, left, pa.array(found, pa.string()))
        columns[_normalised(column)] = normal
    columns["line"] = lines
    rows = pa.Table.from_pydict(columns, schema=_schema())
    if refused:
        rows = rows.filter(pa.array([index not in refused for index in range(count)]))
    return rows, sorted(refused.values(), key=lambda reject: reject.line)


def _normal_form(kind: IdentityKind, values: Any, region: str) -> tuple[Any, Any]:
    """Where a column-wise rule decides the normal form of ``kind`` (a plain ASCII e-mail
    address, a loyalty number, a phone number of the region's common shapes: what
    :func:`normalise_identity` tests first), and that form (None elsewhere); the values are
    stripped and not empty."""
    import pyarrow as pa

    pc: Any = import_module("pyarrow.compute")
    if kind is IdentityKind.EMAIL:
        decided = pc.and_(
            pc.match_substring_regex(values, ASCII_EMAIL),
            pc.invert(pc.or_(pc.match_substring(values, ".."), pc.starts_with(values, "."))),
        )
        normal = pc.utf8_lower(values)
    elif kind is IdentityKind.LOYALTY_NUMBER:
        decided = pc.match_substring_regex(values, LOYALTY_NUMBER)
        normal = pc.replace_substring(pc.utf8_upper(values), "-", "")
    elif kind is IdentityKind.PHONE:
        return column_e164(values, region)
    else:
        return pa.repeat(pa.scalar(False), len(values)), pa.nulls(len(values), pa.string())
    decided = pc.fill_null(decided, False)
    return decided, pc.if_else(decided, normal, pa.scalar(None, pa.string()))


_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


def _where_in(session: Session, query: _Query, column: Any, values: list[str]) -> _Query:
    """``query`` restricted to ``column IN values``, for thousands of values.

    On PostgreSQL the values come as one array, unnested and joined to the column: the join is
    driven from the (small) list through the index, whatever the planner believes about a
    freshly loaded table. A plain IN list, or IN (unnest ...), gets planned as a scan with a
    per-row comparison against every value when statistics lag behind a bulk load.
    """
    if session.get_bind().dialect.name != "postgresql":
        return query.where(column.in_(values))
    wanted = (
        func.unnest(array_of(session, values, String()))
        .table_valued("value")
        .render_derived("wanted")
    )
    return query.join_from(wanted, column.table, column == wanted.c.value)


@dataclass(frozen=True)
class _Run:
    """The ``customer_imports`` row of the import under way."""

    id: int
    file_name: str
    actor_label: str


def _open_run(session: Session, file_name: str) -> _Run:
    row = CustomerImport(file_name=file_name[:255], actor_label=SYSTEM.label, started_at=utcnow())
    session.add(row)
    session.flush()
    return _Run(row.id, row.file_name, row.actor_label)


def _close_run(session: Session, run: _Run, result: ImportResult) -> None:
    """The import's counts and end on its row, and its one audit record."""
    counts = {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": len(result.rejects),
    }
    session.execute(
        update(CustomerImport)
        .where(CustomerImport.id == run.id)
        .values(finished_at=utcnow(), **counts)
    )
    audit.record(
        session,
        actor=SYSTEM,
        action="customer.import",
        entity_type="customer_import",
        entity_id=run.id,
        after={"file": run.file_name, **counts},
    )


class _Ids:
    """Customer ids reserved ahead, many batches' worth at a time, on a connection of their
    own: a sequence is outside transactions, so it may hand them out while the load's
    connection is busy with a COPY. The next block is asked for as soon as one is handed
    out, by a thread of its own (the driver waits for the server without the interpreter),
    so that the batches do not wait for it (50,000 ids took 0.15 s, twenty times a
    million). The ids left over at the end are a gap, as a rolled-back insert leaves."""

    def __init__(self, session: Session, ahead: int = 50_000) -> None:
        self._session = session
        self._ahead = ahead
        self._ready: list[int] = []
        self._next = 0
        self._asking = ThreadPoolExecutor(1, thread_name_prefix="customer-ids")
        self._coming = self._asking.submit(self._reserve, ahead)

    def _reserve(self, count: int) -> list[int]:
        return reserve_ids(self._session, Customer.__table__, count)

    def take(self, count: int) -> list[int]:
        while self._next + count > len(self._ready):
            self._ready = self._ready[self._next :] + self._coming.result()
            self._next = 0
            self._coming = self._asking.submit(self._reserve, max(count, self._ahead))
        taken = self._ready[self._next : self._next + count]
        self._next += count
        return taken

    def close(self) -> None:
        """Wait for the block asked for last (the session is not to be used after)."""
        self._asking.shutdown(wait=True)


@contextmanager
def _ids_ahead(db: Database) -> Iterator[_Ids | None]:
    """Customer ids taken ahead on a connection of their own (:class:`_Ids`); None for a
    Database bound to one connection (the tests'), which takes them on that one, between
    the writes."""
    if db.bind is not db.engine:
        yield None
        return
    with db.unit_of_work() as session:
        ids = _Ids(session)
        try:
            yield ids
        finally:
            ids.close()


@dataclass
class _Known:
    """What an initial load has written so far (the file was empty when it began): only what
    is in here can already exist, so the batch asks the database (whose indexes are dropped
    for the load) only about those."""

    external_ids: set[str] = field(default_factory=set)
    identities: dict[str, set[str]] = field(default_factory=dict)  # values by kind


def _apply_batch(
    session: Session,
    batch: list[_Valid],
    result: ImportResult,
    run: _Run,
    known: _Known | None = None,
    *,
    writer: BackgroundWriter | None = None,
    ids: _Ids | None = None,
    now: datetime | None = None,
) -> None:
    """Work out what a batch creates and changes, then write it: through ``writer`` when
    given (the writes run in its thread while the caller reads and checks the next batch;
    the batch's reads, if it needs any, wait for the writes before them), with ids taken
    from ``ids`` when given, its rows stamped ``now`` (else the time it is applied)."""
    now = now or utcnow()

    def reading() -> Session:
        if writer is not None:
            writer.wait()  # the connection is the writer's until the last batch is written
        return session

    # Within a file the last line for an external id wins, as a re-run would make it.
    by_external = {item.row.external_id: item for item in batch}
    looked_up = [e for e in by_external if known is None or e in known.external_ids]
    existing = {
        row.external_id: row
        for row in (
            reading().execute(
                _where_in(
                    session,
                    select(
                        Customer.id,
                        Customer.external_id,
                        Customer.status,
                        *(getattr(Customer, name) for name in PROFILE),
                    ),
                    Customer.external_id,
                    looked_up,
                )
            )
            if looked_up
            else ()
        )
    }
    wanted = {(kind, value) for item in by_external.values() for kind, value, _ in item.identities}
    if known is not None:
        wanted = {(k, v) for k, v in wanted if v in known.identities.get(k, ())}
    owners: dict[tuple[str, str], int] = {}
    for kind in {kind for kind, _ in wanted}:
        values = [value for k, value in wanted if k == kind]
        owners.update(
            ((kind, value), customer_id)
            for value, customer_id in reading().execute(
                _where_in(
                    session,
                    select(Identity.value, Identity.customer_id),
                    Identity.value,
                    values,
                ).where(Identity.kind == kind, Identity.network == "")
            )
        )
    claimed: dict[tuple[str, str], str] = {}
    to_create: list[_Valid] = []
    to_update: list[tuple[int, _Valid, bool]] = []
    new_identities: list[tuple[str, _Valid, tuple[str, str, str]]] = []
    for external_id, item in by_external.items():
        current = existing.get(external_id)
        if current is not None and current.status != "active":
            result.rejects.append(
                Reject(item.line, "external_id", f"customer {current.id} is {current.status}")
            )
            continue
        conflict = None
        for kind, value, _display in item.identities:
            owner = owners.get((kind, value))
            other_line = claimed.get((kind, value))
            if owner is not None and (current is None or owner != current.id):
                conflict = Reject(item.line, kind, f"{value} already belongs to customer {owner}")
            elif other_line is not None and other_line != external_id:
                conflict = Reject(
                    item.line, kind, f"{value} is also given for external id {other_line}"
                )
            if conflict:
                break
        if conflict:
            result.rejects.append(conflict)
            continue
        for kind, value, display in item.identities:
            claimed[(kind, value)] = external_id
            if owners.get((kind, value)) is None:
                new_identities.append((external_id, item, (kind, value, display)))
        if current is None:
            to_create.append(item)
            continue
        profile_changed = any(getattr(current, n) != getattr(item.row, n) for n in PROFILE)
        adds_identity = any(owners.get((k, v)) is None for k, v, _ in item.identities)
        if profile_changed or adds_identity:
            to_update.append((current.id, item, profile_changed))
        else:
            result.unchanged += 1

    writes: list[Callable[[], object]] = []
    id_of: dict[str, int] = {ext: row.id for ext, row in existing.items()}
    if to_create:
        created = _customer_columns([item.row for item in to_create])
        created["id"] = (
            ids.take(len(to_create))
            if ids is not None
            else reserve_ids(reading(), Customer.__table__, len(to_create))
        )
        created["external_id"] = [item.row.external_id for item in to_create]
        id_of.update(zip(created["external_id"], created["id"], strict=True))
        _copy_in(
            writes,
            session,
            Customer.__table__,
            created,
            {"status": "active", "created_at": now, "updated_at": now, "import_id": run.id},
        )
    changed = [(cid, item.row) for cid, item, profile_changed in to_update if profile_changed]
    if changed:
        columns = _customer_columns([row for _, row in changed])
        profile_updates = [
            {"_id": cid, **values, "updated_at": now}
            for (cid, _), values in zip(changed, _rows(columns), strict=True)
        ]
        statement = update(Customer.__table__).where(Customer.__table__.c.id == bindparam("_id"))
        writes.append(lambda: session.connection().execute(statement, profile_updates))
    if new_identities:
        primary_taken = set()
        if existing:
            primary_taken = set(
                reading()
                .execute(
                    select(Identity.customer_id, Identity.kind).where(
                        Identity.customer_id.in_([id_of[e] for e in existing]),
                        Identity.is_primary.is_(True),
                    )
                )
                .tuples()
            )
        written = [
            (id_of[ext], kind, value, display) for ext, _, (kind, value, display) in new_identities
        ]
        is_primary = []
        for customer_id, kind, _, _ in written:
            is_primary.append((customer_id, kind) not in primary_taken)
            primary_taken.add((customer_id, kind))
        customer_ids, kinds, values, displays = (
            list(column) for column in zip(*written, strict=True)
        )
        _copy_in(
            writes,
            session,
            Identity.__table__,
            {
                "customer_id": customer_ids,
                "kind": kinds,
                "value": values,
                "display_value": displays,
                "is_primary": is_primary,
            },
            {"network": "", "verified": False, "created_at": now},
        )
    if to_update:
        updated = message(N_("Customer file updated by the import of {file}"), file=run.file_name)
        summary = render_message("en", updated)
        _copy_in(
            writes,
            session,
            TimelineEvent.__table__,
            {"customer_id": [cid for cid, _, _ in to_update]},
            {
                "occurred_at": now,
                "kind": "customer.updated",
                "channel": "api",
                "silo": "support",
                "summary": summary,
                "message": updated,
                "actor_label": run.actor_label,
                "ref_type": "customer_import",
                "ref_id": str(run.id),
            },
        )

    _write(writes, writer)
    result.created += len(to_create)
    result.updated += len(to_update)
    if known is not None:
        known.external_ids.update(item.row.external_id for item in to_create)
        for _, _, (kind, value, _) in new_identities:
            known.identities.setdefault(kind, set()).add(value)


def _write(writes: list[Callable[[], object]], writer: BackgroundWriter | None) -> None:
    """Run a batch's writes, in the writer's thread when there is one."""

    def write() -> None:
        for step in writes:
            step()

    if writer is None:
        write()
    else:
        writer.submit(write)


def _create_new(
    session: Session,
    rows: Any,
    result: ImportResult,
    known: _Known,
    *,
    writer: BackgroundWriter,
    ids: _Ids | None,
) -> bool:
    """A batch of an initial load (checked rows, :class:`_Checked`) whose external ids and
    identities are all new, none given twice in it nor written before: created from its
    columns, as :func:`_apply_batch` creates such rows one by one (each a new customer, each
    identity its customer's primary one of its kind), the columns all its rows share left to
    the defaults the load set (:func:`_shared_defaults`). False, having done nothing, for
    any other batch."""
    import pyarrow as pa

    pc: Any = import_module("pyarrow.compute")
    external_ids = set(rows["external_id"].to_pylist())
    if len(external_ids) < rows.num_rows or not known.external_ids.isdisjoint(external_ids):
        return False
    given = {}
    for column, kind in IDENTITY_COLUMNS.items():
        values = rows[_normalised(column)].drop_null().to_pylist()
        distinct = set(values)
        if len(distinct) < len(values) or not distinct.isdisjoint(known.identities.get(kind, ())):
            return False
        given[str(kind)] = distinct
    known.external_ids |= external_ids
    for kind, values in given.items():
        known.identities.setdefault(kind, set()).update(values)
    rows = rows.combine_chunks()
    if ids is None:
        writer.wait()  # the connection is the writer's until the last batch is written
    taken = (
        ids.take(rows.num_rows)
        if ids is not None
        else reserve_ids(session, Customer.__table__, rows.num_rows)
    )
    column = {name: rows[name].combine_chunks() for name in rows.column_names}
    last_first, first_last = _name_key_columns(column["first_name"], column["last_name"])
    writes: list[Callable[[], object]] = []
    _copy_in(
        writes,
        session,
        Customer.__table__,
        {
            **{name: column[name] for name in PROFILE},
            "search_last_first": last_first,
            "search_first_last": first_last,
            "id": taken,
            "external_id": column["external_id"],
        },
        {},
    )
    customer_ids = pa.array(taken, pa.int64())
    identities: dict[str, list[Any]] = {
        name: [] for name in ("customer_id", "kind", "value", "display_value")
    }
    for name, kind in IDENTITY_COLUMNS.items():
        normal = column[_normalised(name)]
        held = pc.is_valid(normal)
        identities["customer_id"].append(customer_ids.filter(held))
        identities["kind"].append(pa.repeat(pa.scalar(str(kind)), len(normal) - normal.null_count))
        identities["value"].append(normal.filter(held))
        identities["display_value"].append(column[name].filter(held))
    if any(len(values) for values in identities["value"]):
        _copy_in(
            writes,
            session,
            Identity.__table__,
            {name: pa.concat_arrays(parts) for name, parts in identities.items()},
            {},
        )
    _write(writes, writer)
    result.created += rows.num_rows
    return True


def _name_key_columns(first: Any, last: Any) -> tuple[Any, Any]:
    """:func:`name_keys` over two columns of names: ASCII names folded by Arrow (lower case,
    runs of whitespace as one space), each distinct other name once by :func:`fold`."""
    import pyarrow as pa

    pc: Any = import_module("pyarrow.compute")

    def folded(names: Any) -> Any:
        spaced = pc.replace_substring_regex(pc.ascii_lower(names), _ASCII_SPACES, " ")
        forms = pc.utf8_trim(spaced, " ")
        others = pc.invert(pc.string_is_ascii(names))
        at = pc.indices_nonzero(others)
        if len(at):  # the same first and last names come again and again
            distinct = names.take(at).dictionary_encode()
            found = pa.array([fold(n) for n in distinct.dictionary.to_pylist()], pa.string())
            forms = pc.replace_with_mask(forms, others, found.take(distinct.indices))
        return forms

    first_folded, last_folded = folded(first), folded(last)
    last_first = pc.utf8_trim(pc.binary_join_element_wise(last_folded, first_folded, " "), " ")
    first_last = pc.utf8_trim(pc.binary_join_element_wise(first_folded, last_folded, " "), " ")
    return last_first, first_last


# What Python's str.split() splits an ASCII text on.
_ASCII_SPACES = r"[\t\n\x0b\x0c\r\x1c-\x1f ]+"


def _copy_in(
    writes: list[Callable[[], object]],
    session: Session,
    table: Any,
    columns: dict[str, Any],
    same: dict[str, Any],
) -> None:
    """Rows given column by column (``same``: what every row holds), added to ``writes``:
    on PostgreSQL as COPY text built by Arrow, elsewhere one executemany. The lists must not
    change until the writes have run."""
    if session.get_bind().dialect.name == "postgresql":
        # Made by the writer too: Arrow's kernels run without the GIL, beside the checks.
        writes.append(
            lambda: write_prepared_copy(session, prepare_copy_columns(table, columns, same=same))
        )
    else:
        rows = [row | same for row in _rows(columns)]
        writes.append(lambda: bulk_insert(session, table, rows))


def _rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def _customer_columns(rows: Sequence[ImportRow]) -> dict[str, list[Any]]:
    """The customers' profile fields and search keys, column by column."""
    columns = {name: [row.__dict__[name] for row in rows] for name in PROFILE}
    keys = [name_keys(row.first_name, row.last_name) for row in rows]
    columns["search_last_first"] = [last_first for last_first, _ in keys]
    columns["search_first_last"] = [first_last for _, first_last in keys]
    return columns


def import_customers(
    db: Database,
    path: Path,
    *,
    rejects_path: Path | None = None,
    batch_size: int = 5000,
    region: str = "FR",
    console: Console | None = None,
    initial_load: bool = True,
) -> ImportResult:
    """Import a file of customers (see the module's docstring). Into an empty customer file
    on PostgreSQL, the whole file is one initial load (:func:`_initial_load`) unless
    ``initial_load`` is False."""
    result = ImportResult()
    progress = Progress(
        TextColumn("[bold]Importing[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeRemainingColumn(),
        console=console,
        disable=console is None,
        transient=False,
    )
    # No cyclic garbage collection while rows are read (each pass would walk every row held
    # so far, a third of the import's Python time); the young generations are collected
    # after each batch instead, so cycles made per batch still go.
    with progress, paused_gc():
        task = progress.add_task(path.name, total=None)
        if initial_load and _initial_load(db, path, result, batch_size, region, progress, task):
            return _finish(result, rejects_path)
        batch: list[_Valid] = []
        seen = 0

        batches_done = 0
        analysed: set[int] = set()
        # The import's row is written with its first batch (a file refused whole leaves none).
        run: _Run | None = None

        def flush() -> None:
            nonlocal batches_done, run
            with db.unit_of_work() as session:
                run = run or _open_run(session, path.name)
                _apply_batch(session, batch, result, run)
            batch.clear()
            gc.collect(1)
            batches_done += 1

        for _number, item in _validated_rows(path, region):
            if (
                batches_done in (1, 10, 100)
                and db.dialect == "postgresql"
                and batches_done not in analysed
            ):
                # Fresh statistics after the first batches, so that lookups use the indexes.
                with db.unit_of_work() as session:
                    session.execute(text("ANALYZE customers, identities"))
                analysed.add(batches_done)
            seen += 1
            if isinstance(item, Reject):
                result.rejects.append(item)
            else:
                batch.append(item)
            if len(batch) >= batch_size:
                flush()
                progress.update(task, completed=seen)
        if batch:
            flush()
        with db.unit_of_work() as session:
            _close_run(session, run or _open_run(session, path.name), result)
        progress.update(task, completed=seen, total=seen)
    return _finish(result, rejects_path)


def _finish(result: ImportResult, rejects_path: Path | None) -> ImportResult:
    result.rejects.sort(key=lambda r: r.line)
    result.rejected = len(result.rejects)
    result.removed_rejects = write_rejects(rejects_path, result.rejects)
    return result


def _batches(blocks: Iterable[_Checked], size: int, rejects: list[Reject]) -> Iterator[Any]:
    """The checked blocks' rows in tables of ``size`` rows (the last one fewer), as the batch
    path cuts the file's valid rows; their rejects added to ``rejects``."""
    import pyarrow as pa

    held: list[Any] = []
    count = 0
    for checked in blocks:
        rejects += checked.rejects
        held.append(checked.rows)
        count += checked.rows.num_rows
        while count >= size:
            rows = pa.concat_tables(held)
            yield rows.slice(0, size)
            held, count = [rows.slice(size)], count - size
    if count:
        yield pa.concat_tables(held)


_LOADED = ("customers", "identities", "timeline_events")


class _NotEmpty(Exception):
    pass


def _initial_load(
    db: Database,
    path: Path,
    result: ImportResult,
    batch_size: int,
    region: str,
    progress: Progress,
    task: Any,
) -> bool:
    """An import into an empty customer file on PostgreSQL, in one transaction: the tables
    locked, their secondary indexes, unique constraints and foreign keys dropped, the rows
    copied in, then every index and constraint rebuilt as it was (each checked once over the
    whole table instead of per row). What the batches need to know about earlier lines comes
    from memory (:class:`_Known`). False, having changed nothing, when the file is not empty
    or the database is not PostgreSQL: the import then runs batch by batch."""
    if db.dialect != "postgresql":
        return False
    anyone = select(select(Customer.id).exists())
    with db.unit_of_work() as session:
        if session.scalar(anyone):  # no lock taken on a file in use
            return False
    try:
        with db.unit_of_work() as session:
            session.execute(text(f"LOCK TABLE {', '.join(_LOADED)} IN ACCESS EXCLUSIVE MODE"))
            if session.scalar(anyone):  # filled meanwhile
                raise _NotEmpty
            rebuild = _drop_indexes(session)
            run = _open_run(session, path.name)
            now = utcnow()  # the load's one time, on every row it writes
            rebuild[:0] = _shared_defaults(session, run, now)
            known = _Known()
            seen = 0
            # Batch N is copied in by the writer's thread while this one reads and checks
            # batch N+1: PostgreSQL and Python work at the same time, on the two cores. Ids
            # come from a connection of their own (:func:`_ids_ahead`).
            with _ids_ahead(db) as ids, BackgroundWriter(session) as writer:
                for rows in _batches(_checked_blocks(path, region), batch_size, result.rejects):
                    if not _create_new(session, rows, result, known, writer=writer, ids=ids):
                        batch = _valid_items(rows)
                        _apply_batch(
                            session, batch, result, run, known, writer=writer, ids=ids, now=now
                        )
                    gc.collect(1)
                    seen += rows.num_rows
                    progress.update(task, completed=seen + len(result.rejects))
            seen += len(result.rejects)
            _close_run(session, run, result)
            # Each index sorted in memory (the default 64 MB spills a million keys to disk),
            # for this transaction only.
            session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            for statement in rebuild:
                session.execute(text(statement))
            progress.update(task, completed=seen, total=seen)
    except _NotEmpty:
        return False
    with db.unit_of_work() as session:
        session.execute(text(f"ANALYZE {', '.join(_LOADED)}"))
    result.initial_load = True
    return True


def _shared_defaults(session: Session, run: _Run, now: datetime) -> list[str]:
    """Make what every new customer and identity of the load holds (status, import, the
    load's time...) the defaults of those columns, so that the COPYs of :func:`_create_new`
    leave them out: PostgreSQL then takes one constant per row instead of reading the same
    text again (four of these columns were a quarter of the COPYs' CPU). The statements that
    give the columns their own defaults back."""
    shared = {
        "customers": {
            "status": "active",
            "created_at": now,
            "updated_at": now,
            "import_id": run.id,
        },
        "identities": {"is_primary": True, "network": "", "verified": False, "created_at": now},
    }
    restore = []
    for table, columns in shared.items():
        rows = session.execute(
            text(
                "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a"
                " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                " WHERE a.attrelid = CAST(:table AS regclass) AND a.attname = ANY(:names)"
            ),
            {"table": table, "names": list(columns)},
        ).all()
        found = {name: default for name, default in rows}
        given = ", ".join(f'ALTER "{c}" SET DEFAULT {_literal(v)}' for c, v in columns.items())
        session.execute(text(f"ALTER TABLE {table} {given}"))
        back = ", ".join(
            f'ALTER "{c}" DROP DEFAULT'
            if found[c] is None
            else f'ALTER "{c}" SET DEFAULT {found[c]}'
            for c in columns
        )
        restore.append(f"ALTER TABLE {table} {back}")
    return restore


def _literal(value: bool | int | str | datetime) -> str:
    """SQL for one of the import's own values (no file's value is ever written this way)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    return "'" + value.replace("'", "''") + "'"


def _drop_indexes(session: Session) -> list[str]:
    """Drop the loaded tables' secondary indexes, unique constraints and foreign keys; the
    statements that make them again, in order (indexes, unique constraints, foreign keys)."""
    tables = ", ".join(f"'{name}'::regclass" for name in _LOADED)
    constraints = session.execute(
        text(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)"
            f" FROM pg_constraint WHERE conrelid IN ({tables}) AND contype IN ('u', 'f')"
            " ORDER BY contype, conname"
        )
    ).all()
    indexes = session.execute(
        text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
            f" FROM pg_index i WHERE i.indrelid IN ({tables})"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid"
            " AND c.conrelid = i.indrelid) ORDER BY 1"
        )
    ).all()
    for table, name, _kind, _ in constraints:  # foreign keys ('f') first
        session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        session.execute(text(f"DROP INDEX {name}"))
    rebuild = [definition for _, definition in indexes]
    rebuild += [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, _kind, definition in reversed(constraints)  # unique ones first
    ]
    return rebuild


def write_rejects(path: Path | None, rejects: Sequence[Any]) -> bool:
    """Write the reject report (line, field, reason); when nothing was rejected, remove the
    report an earlier run left, so that it is never taken for this run's. True when an
    earlier report was removed."""
    if path is None:
        return False
    if not rejects:
        earlier = path.exists()
        path.unlink(missing_ok=True)
        return earlier
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "field", "reason"])
        writer.writerows((r.line, r.field, r.reason) for r in rejects)
    return False
