"""The command line on a fresh data directory."""

from __future__ import annotations

from typer.testing import CliRunner

from egards.cli import app
from egards.config import get_settings


def run(args, data_dir, env=None):
    get_settings.cache_clear()
    result = CliRunner().invoke(
        app, args, env={"EGARDS_DATA_DIR": str(data_dir), "COLUMNS": "200", **(env or {})}
    )
    get_settings.cache_clear()
    return result


def test_init_creates_the_database_and_one_admin(tmp_path):
    first = run(["init"], tmp_path)
    assert first.exit_code == 0, first.output
    assert "Password (shown once)" in first.output
    second = run(["init"], tmp_path)
    assert second.exit_code == 0 and "no admin created" in second.output
    listed = run(["user", "list"], tmp_path)
    assert "admin@egards.example.com" in listed.output


def test_user_commands_report_errors_without_a_traceback(tmp_path):
    run(["init"], tmp_path)
    created = run(["user", "create", "rachel@example.fr", "--role", "agent"], tmp_path)
    assert created.exit_code == 0, created.output
    duplicate = run(["user", "create", "rachel@example.fr", "--role", "agent"], tmp_path)
    assert duplicate.exit_code == 2 and "exists" in duplicate.output
    disabled = run(["user", "disable", "rachel@example.fr"], tmp_path)
    assert disabled.exit_code == 0


def test_demo_builds_a_deterministic_population(tmp_path):
    result = run(["demo", "--customers", "40", "--no-serve"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "rachel@demo.egards.fr" in result.output and "40 customers" in result.output
    # Two namesakes; the one who e-mailed three hours before the post is linked on that contact.
    said = " ".join(result.output.split())
    assert "one of two namesakes of whom one e-mailed three hours before the post: linked" in said
    again = run(["demo", "--customers", "40", "--no-serve"], tmp_path / "other")
    events = [line for line in result.output.splitlines() if "timeline events" in line]
    assert events == [line for line in again.output.splitlines() if "timeline events" in line]


def test_import_command_writes_a_reject_report_and_fails(tmp_path):
    run(["init"], tmp_path)
    source = tmp_path / "in.csv"
    source.write_text(
        "external_id,first_name,last_name,email\nA-1,Ann,Lee,ann@example.fr\nA-2,,Lee,\n"
    )
    result = run(["import", "customers", str(source)], tmp_path)
    assert result.exit_code == 1 and "1 created" in result.output and "1 rejected" in result.output
    assert (tmp_path / "in.csv.rejects.csv").read_text().splitlines()[1].startswith("3,first_name")


def test_loyalty_verify_finds_the_demo_ledgers_whole_and_names_a_tampered_balance(tmp_path):
    import sqlite3

    built = run(["demo", "--customers", "40", "--no-serve"], tmp_path)
    assert built.exit_code == 0, built.output
    verified = run(["loyalty", "verify"], tmp_path)
    assert verified.exit_code == 0, verified.output
    assert "The stored state is the ledger's." in verified.output
    with sqlite3.connect(tmp_path / "egards.db") as connection:
        (member_id,) = connection.execute(
            "SELECT member_id FROM loyalty_balances WHERE currency = 'MILES' AND balance > 0"
            " ORDER BY member_id LIMIT 1"
        ).fetchone()
        connection.execute(
            "UPDATE loyalty_balances SET balance = balance + 7, available = available + 7"
            " WHERE member_id = ? AND currency = 'MILES'",
            (member_id,),
        )
    tampered = run(["loyalty", "verify", "--member", str(member_id)], tmp_path)
    assert tampered.exit_code == 1, tampered.output
    assert f"member {member_id}: balance MILES" in tampered.output
    assert "1 difference" in tampered.output and "1 differences" not in tampered.output
