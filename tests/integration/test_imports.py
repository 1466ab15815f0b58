"""Customer imports: line-numbered rejects, idempotent re-runs, atomic batches."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from egards.customers import imports
from egards.customers.imports import import_customers
from egards.customers.models import Customer, CustomerImport, Identity, TimelineEvent
from egards.errors import InvalidInput
from tests.conftest import own_database

HEADER = "external_id,first_name,last_name,email,phone,preferred_language,birth_date\n"


def _count(db, model):
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_an_import_reports_rejected_rows_with_line_field_and_reason(db, tmp_path: Path):
    source = tmp_path / "customers.csv"
    source.write_bytes(
        (
            HEADER
            + "CRM-1,Hélène,Dupont,helene@example.fr,06 12 34 56 78,fr,1980-02-03\n"
            + "CRM-2,Jean,,jean@example.fr,,fr,\n"
            + "CRM-3,Paul,Martin,not-an-email,,fr,\n"
            + "CRM-4,Zoé,Faure,zoe@example.fr,12,fr,\n"
            + "CRM-5,Anne,Roy,HELENE@example.fr,,fr,\n"
            + "CRM-6,Léa,Caron,lea@example.fr,,de,\n"
        ).encode()
        + b"CRM-7,Bad,\xff\xfeEncoding,bad@example.fr,,fr,\n"
        + b"CRM-8,Ok,Row,ok@example.fr,,en,\n"
    )
    rejects = tmp_path / "rejects.csv"
    result = import_customers(db, source, rejects_path=rejects)
    assert (result.created, result.rejected) == (2, 6)
    assert [(r.line, r.field) for r in result.rejects] == [
        (3, "last_name"),
        (4, "email"),
        (5, "phone"),
        (6, "email"),
        (7, "preferred_language"),
        (8, "line"),
    ]
    assert "also given for external id CRM-1" in result.rejects[3].reason
    assert rejects.read_text().splitlines()[0] == "line,field,reason"


def test_importing_the_same_file_twice_changes_nothing(db, tmp_path: Path):
    source = tmp_path / "customers.jsonl"
    source.write_text(
        '{"external_id": "X-1", "first_name": "Ana", "last_name": "Lyste",'
        ' "email": "ana@example.fr"}\n'
        '{"external_id": "X-2", "first_name": "Bob", "last_name": "Rivière",'
        ' "phone": "+33 6 11 22 33 44"}\n'
    )
    first = import_customers(db, source, batch_size=1)
    counts = [_count(db, m) for m in (Customer, Identity, TimelineEvent)]
    second = import_customers(db, source, batch_size=1)
    assert (first.created, second.created, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert [_count(db, m) for m in (Customer, Identity, TimelineEvent)] == counts


def test_a_changed_row_updates_the_customer_by_external_id(db, tmp_path: Path):
    source = tmp_path / "customers.csv"
    source.write_text(HEADER + "U-1,Marie,Curie,marie@example.fr,,fr,\n")
    import_customers(db, source)
    source.write_text(HEADER + "U-1,Marie,Curie-Skłodowska,marie@example.fr,06 11 22 33 45,fr,\n")
    result = import_customers(db, source)
    assert result.updated == 1
    with db.unit_of_work() as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == "U-1"))
        phones = session.scalars(
            select(Identity.value).where(
                Identity.customer_id == customer.id, Identity.kind == "phone"
            )
        ).all()
    assert customer.last_name == "Curie-Skłodowska" and phones == ["+33611223345"]


def test_a_file_without_the_required_columns_is_refused_whole(db, tmp_path: Path):
    source = tmp_path / "customers.csv"
    source.write_text("id,name\n1,Someone\n")
    with pytest.raises(InvalidInput, match="external_id, first_name, last_name"):
        import_customers(db, source)
    assert _count(db, Customer) == 0


def test_broken_json_lines_are_rejected_one_by_one(db, tmp_path: Path):
    source = tmp_path / "customers.jsonl"
    source.write_text(
        '{"external_id": "J-1", "first_name": "A", "last_name": "B"}\n{broken\n[1, 2]\n'
    )
    result = import_customers(db, source)
    assert result.created == 1 and [(r.line, r.field) for r in result.rejects] == [
        (2, "line"),
        (3, "line"),
    ]


@pytest.fixture
def two_pg_files(tmp_path: Path):
    made = [own_database("postgresql", tmp_path, name) for name in ("initial", "batches")]
    yield [next(found) for found in made]
    for found in made:
        next(found, None)


def _file_contents(db) -> dict[str, list]:
    """Everything the import writes, by external id (ids and times differ between files),
    and the tables' indexes, constraints and column defaults."""
    queries = {
        "customers": "SELECT external_id, first_name, last_name, search_last_first,"
        " search_first_last, preferred_language, birth_date, city, status FROM customers",
        "identities": "SELECT c.external_id, i.kind, i.network, i.value, i.display_value,"
        " i.is_primary, i.verified FROM identities i JOIN customers c ON c.id = i.customer_id",
        "timeline": "SELECT c.external_id, t.kind, t.summary FROM timeline_events t"
        " JOIN customers c ON c.id = t.customer_id",
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename IN"
        " ('customers', 'identities', 'timeline_events')",
        "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
        " FROM pg_constraint WHERE conrelid IN ('customers'::regclass,"
        " 'identities'::regclass, 'timeline_events'::regclass)",
        "defaults": "SELECT table_name, column_name, column_default FROM information_schema.columns"
        " WHERE table_name IN ('customers', 'identities', 'timeline_events')",
    }
    with db.engine.connect() as connection:
        return {
            name: sorted(tuple(row) for row in connection.exec_driver_sql(query))
            for name, query in queries.items()
        }


@pytest.mark.postgres
def test_an_initial_load_writes_what_the_batches_write(two_pg_files, tmp_path: Path):
    lines = [f"K-{i},Prénom{i},Nom{i},p{i}@example.fr,06 12 34 56 {i:02d},fr,\n" for i in range(14)]
    lines += [
        "K-3,Prénom3,Changé,p3@example.fr,06 12 34 56 03,en,1990-05-06\n",  # a later line wins
        "K-20,Autre,Personne,p5@example.fr,,fr,\n",  # an e-mail another customer holds
        "K-21,Mauvais,Numéro,k21@example.fr,12,fr,\n",
        "K-22,Tel,Repris,k22@example.fr,06 12 34 56 07,fr,\n",
        "K-4,Prénom4,Nom4,p4@example.fr,06 12 34 56 04,fr,\n",  # unchanged
    ]
    source = tmp_path / "customers.csv"
    source.write_text(HEADER + "".join(lines))
    initial_db, batches_db = two_pg_files
    initial = import_customers(initial_db, source, batch_size=4)
    batches = import_customers(batches_db, source, batch_size=4, initial_load=False)
    assert initial.initial_load and not batches.initial_load
    assert (initial.created, initial.updated, initial.unchanged) == (
        batches.created,
        batches.updated,
        batches.unchanged,
    )
    assert initial.rejects == batches.rejects and len(initial.rejects) == 3
    assert _file_contents(initial_db) == _file_contents(batches_db)
    again = import_customers(initial_db, source, batch_size=4)  # no longer empty: by batches
    assert not again.initial_load and again.created == 0


@pytest.mark.postgres
def test_customer_ids_taken_ahead_are_each_given_once_in_order(two_pg_files) -> None:
    loaded, _ = two_pg_files
    with loaded.unit_of_work() as session:
        ids = imports._Ids(session, ahead=3)
        taken = [ids.take(count) for count in (2, 2, 5, 1, 3)]
    assert [len(some) for some in taken] == [2, 2, 5, 1, 3]
    given = [one for some in taken for one in some]
    assert given == sorted(given) and len(set(given)) == len(given)


@pytest.mark.postgres
@pytest.mark.parametrize("failing_copy", [15, 20], ids=["batch 8 of 10", "the last batch"])
def test_an_error_in_a_late_batch_of_an_initial_load_leaves_nothing(
    two_pg_files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_copy: int
):
    """The writes run in a thread while the next batch is checked: an error there still
    ends the one transaction, with no row written and every index and constraint back."""
    loaded, _ = two_pg_files
    before = _file_contents(loaded)
    lines = [f"L-{i},Prénom{i},Nom{i},l{i}@example.fr,06 12 34 57 {i:02d},fr,\n" for i in range(40)]
    source = tmp_path / "customers.csv"
    source.write_text(HEADER + "".join(lines))
    copies: list[str] = []
    write = imports.write_prepared_copy

    def failing(session, copy) -> None:  # two copies per batch: customers, identities
        copies.append(copy.table)
        if len(copies) == failing_copy:
            raise OSError("no space left on device")
        write(session, copy)

    monkeypatch.setattr(imports, "write_prepared_copy", failing)
    with pytest.raises(OSError, match="no space left"):
        import_customers(loaded, source, batch_size=4)
    assert len(copies) == failing_copy
    assert _file_contents(loaded) == before
    assert _count(loaded, CustomerImport) == 0
    monkeypatch.undo()
    assert import_customers(loaded, source, batch_size=4).created == 40


def test_a_quoted_file_keeps_its_commas_line_breaks_and_reject_lines(db, tmp_path: Path):
    source = tmp_path / "quoted.csv"
    source.write_text(
        '"external_id","first_name","last_name","city","email"\r\n'
        '"Q-1","Jean, dit ""Jo""","Martin","Lyon\r\nCedex","jo@example.fr"\r\n'
        '"Q-2","Anne","","Paris",""\r\n'
        '"Q-3","Léa","Roy","Nice","lea@example.fr"\r\n',
        newline="",
    )
    result = import_customers(db, source)
    assert (result.created, [(r.line, r.field) for r in result.rejects]) == (2, [(4, "last_name")])
    with db.unit_of_work() as session:
        first = session.scalars(select(Customer).where(Customer.external_id == "Q-1")).one()
        assert (first.first_name, first.city) == ('Jean, dit "Jo"', "Lyon\r\nCedex")
