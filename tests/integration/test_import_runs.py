"""An import is one row and one audit record, not one timeline entry per customer (issue 15
§5): the customers it creates carry its id, and their timeline shows it when read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from egards.audit.models import AuditRecord
from egards.customers.imports import import_customers
from egards.customers.models import Customer, CustomerImport, TimelineEvent
from egards.errors import InvalidInput
from tests.conftest import login
from tests.integration.test_languages import _switch

HEADER = "external_id,first_name,last_name,email,phone,preferred_language,birth_date\n"


def _import(db, tmp_path: Path, lines: list[str], **options):
    source = tmp_path / "crm-export.csv"
    source.write_text(HEADER + "".join(lines))
    return import_customers(db, source, **options)


def _counts(db) -> tuple[int, int, int]:
    with db.unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(CustomerImport)) or 0,
            session.scalar(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.action == "customer.import")
            )
            or 0,
            session.scalar(select(func.count()).select_from(TimelineEvent)) or 0,
        )


def _customer_id(db, external_id: str) -> int:
    with db.unit_of_work() as session:
        found = session.scalar(select(Customer.id).where(Customer.external_id == external_id))
        assert found is not None
        return found


def test_an_import_writes_one_row_and_one_audit_record_and_no_entry_per_customer(
    db, tmp_path: Path
):
    lines = [f"R-{i},Prénom{i},Nom{i},r{i}@example.fr,,fr,\n" for i in range(7)]
    result = _import(db, tmp_path, [*lines, "R-9,Sans,,r9@example.fr,,fr,\n"], batch_size=3)
    assert (result.created, result.rejected) == (7, 1)
    assert _counts(db) == (1, 1, 0)
    with db.unit_of_work() as session:
        run = session.scalars(select(CustomerImport)).one()
        assert (run.file_name, run.created, run.rejected) == ("crm-export.csv", 7, 1)
        assert run.finished_at is not None
        audit = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "customer.import")
        ).one()
        assert audit.entity_id == str(run.id) and audit.customer_id is None
        owners = set(session.scalars(select(Customer.import_id)))
    assert owners == {run.id}


def test_an_update_by_import_is_on_the_customers_timeline(db, tmp_path: Path):
    _import(db, tmp_path, ["U-1,Marie,Curie,marie@example.fr,,fr,\n"])
    _import(db, tmp_path, ["U-1,Marie,Curie-Skłodowska,marie@example.fr,,fr,\n"])
    assert _counts(db) == (2, 2, 1)
    with db.unit_of_work() as session:
        entry = session.scalars(select(TimelineEvent)).one()
    assert entry.summary == "Customer file updated by the import of crm-export.csv"
    assert entry.kind == "customer.updated" and entry.ref_type == "customer_import"


def test_a_file_refused_whole_leaves_no_import_row(db, tmp_path: Path):
    source = tmp_path / "customers.csv"
    source.write_text("id,name\n1,Someone\n")
    with pytest.raises(InvalidInput):
        import_customers(db, source)
    assert _counts(db) == (0, 0, 0)


def test_the_360_shows_the_creation_by_import_in_the_readers_language(
    client, agent, admin, db, tmp_path: Path
):
    _import(db, tmp_path, ["V-1,Hélène,Import,helene.import@example.fr,,fr,\n"])
    customer_id = _customer_id(db, "V-1")
    csrf = login(client, agent.email)
    _switch(client, csrf, "fr")
    page = client.get(f"/customers/{customer_id}").text
    assert "Créé par l&#39;import de crm-export.csv le" in page, page
    _switch(client, csrf, "en")
    page = client.get(f"/customers/{customer_id}").text
    assert "Created by the import of crm-export.csv on" in page
    timeline = client.get(f"/api/v1/customers/{customer_id}/timeline", headers=agent.headers).json()
    assert [(e["kind"], e["ref_type"]) for e in timeline] == [
        ("customer.imported", "customer_import")
    ]
    # the support silo and the API channel, as the stored entries were; not another silo
    assert not client.get(
        f"/api/v1/customers/{customer_id}/timeline",
        params={"silo": "loyalty"},
        headers=agent.headers,
    ).json()
    bundle = client.get(f"/api/v1/customers/{customer_id}/export", headers=admin.headers).json()
    assert bundle["created_by_import"]["file_name"] == "crm-export.csv"


def test_an_erased_customer_leaves_the_import_row_naming_no_one(client, admin, db, tmp_path):
    _import(db, tmp_path, ["E-1,Zéphyrine,Effacée,zephyrine@example.fr,06 12 34 56 78,fr,\n"])
    customer_id = _customer_id(db, "E-1")
    erased = client.post(
        f"/api/v1/customers/{customer_id}/erase",
        json={"reason": "by letter"},
        headers=admin.headers,
    )
    assert erased.status_code == 200
    with db.unit_of_work() as session:
        row = session.execute(select(CustomerImport.__table__)).one()
        audit = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "customer.import")
        ).one()
    said = str(tuple(row)) + str(audit.after)
    assert "Zéphyrine" not in said and "zephyrine" not in said and "0612345678" not in said
