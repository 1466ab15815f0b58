"""Every command of `egards`, run as a real process on a fresh data directory.

A command imports only the modules it needs, so a process of its own is the only way to see
what a user sees (an in-process runner inherits whatever earlier tests imported). The
commands share one fresh data directory (and database) per module and database kind; each
case below says what it runs and what the user must read. A command added to the CLI without
a case here fails ``test_every_command_has_a_case``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import typer.main

from egards.cli import app
from tests.conftest import drop_scratch_database, scratch_database_url


@dataclass
class Workspace:
    kind: str
    root: Path
    database_url: str | None

    def env(self, data_dir: Path | None = None, database_url: str | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EGARDS_")}
        env.update(EGARDS_DATA_DIR=str(data_dir or self.root / "data"), COLUMNS="200")
        if database_url or self.database_url:
            env["EGARDS_DATABASE_URL"] = database_url or self.database_url
        return env

    def run(self, *args: str, code: int = 0, **env_options) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "egards", *args],
            env=self.env(**env_options),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = done.stdout + done.stderr
        assert "Traceback" not in output, output
        assert done.returncode == code, output
        return " ".join(output.split())  # rich wraps long lines

    def file(self, name: str, content: str) -> str:
        path = self.root / name
        path.write_text(content)
        return str(path)


@pytest.fixture(scope="module")
def sqlite_workspace(tmp_path_factory) -> Workspace:
    return _workspace("sqlite", tmp_path_factory)


@pytest.fixture(scope="module")
def postgresql_workspace(tmp_path_factory) -> Iterator[Workspace]:
    space = _workspace("postgresql", tmp_path_factory)
    yield space
    assert space.database_url is not None
    drop_scratch_database(space.database_url)


def _workspace(kind: str, tmp_path_factory) -> Workspace:
    """A fresh data directory, initialised and given three customers by the CLI itself."""
    url = scratch_database_url("cli") if kind == "postgresql" else None
    space = Workspace(kind, tmp_path_factory.mktemp(f"cli-{kind}"), url)
    space.init_output = space.run("init")
    space.run(
        "import",
        "customers",
        space.file(
            "seed.csv",
            "external_id,first_name,last_name,email\n"
            "C1,Jean,Dupont,jean@example.fr\nC2,Zoé,Martin,zoe@example.fr\n"
            "C3,Ali,Ben,ali@example.fr\n",
        ),
    )
    return space


CASES: dict[str, Callable[[Workspace], None]] = {}


def case(path: str):
    def register(check: Callable[[Workspace], None]) -> Callable[[Workspace], None]:
        CASES[path] = check
        return check

    return register


def _commands(group, prefix: str = "") -> list[str]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            found += _commands(command, path + " ")
        else:
            found.append(path)
    return found


COMMANDS = _commands(typer.main.get_command(app))


@case("init")
def _init(space):
    assert "Database ready" in space.init_output
    assert "Password (shown once)" in space.init_output
    assert "no admin created" in space.run("init")


@case("serve")
def _serve(space):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "egards", "serve", "--port", str(port)],
        env=space.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the server did not answer in 90 s"
                time.sleep(0.2)
        assert health.status_code == 200, health.text
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Traceback" not in output, output


@case("demo")
def _demo(space):
    url = scratch_database_url("cli_demo") if space.kind == "postgresql" else None
    try:
        output = space.run(
            "demo",
            "--customers",
            "10",
            "--no-serve",
            data_dir=space.root / "demo",
            database_url=url,
        )
    finally:
        if url is not None:
            drop_scratch_database(url)
    assert "10 customers" in output and "rachel@demo.egards.fr" in output


@case("worker")
def _worker(space):
    output = space.run("worker", "--once")
    assert "outbox" in output


@case("user create")
def _user_create(space):
    output = space.run("user", "create", "rachel@example.fr", "--role", "agent")
    assert "Password (shown once)" in output
    assert "exists" in space.run("user", "create", "rachel@example.fr", "--role", "agent", code=2)


@case("user list")
def _user_list(space):
    assert "admin@egards.example.com" in space.run("user", "list")


@case("user disable")
def _user_disable(space):
    space.run("user", "create", "leaving@example.fr", "--role", "analyst")
    assert "disabled" in space.run("user", "disable", "leaving@example.fr")


@case("import customers")
def _import_customers(space):
    source = space.file(
        "customers.csv", "external_id,first_name,last_name\nA1,Jean,Dupont\nA2,,Nom\n"
    )
    output = space.run("import", "customers", source, code=1)
    assert "1 created" in output and "1 rejected" in output
    report = space.root / "customers.csv.rejects.csv"
    assert report.read_text().splitlines()[1].startswith("3,first_name")
    # The file corrected and run again: the report of the first run must not outlive it.
    space.file("customers.csv", "external_id,first_name,last_name\nA1,Jean,Dupont\nA2,Ann,Nom\n")
    output = space.run("import", "customers", source)
    assert "1 created, 0 updated, 1 unchanged" in output and "0 rejected" in output
    assert f"earlier {report} removed" in output and not report.exists()


@case("import subscriptions")
def _import_subscriptions(space):
    header = (
        "customer_external_id,reference,offer,line_numbers,start_date,notice_days,price_cents\n"
    )
    source = space.file(
        "subscriptions.csv",
        header + "C1,FX-1,Fibre,0144556677,2025-01-01,10,3999\n"
        "C2,FX-2,Fibre,,2025-01-01,10,-1\nC9,FX-3,Mobile,,2025-01-01,0,999\n",
    )
    output = space.run("import", "subscriptions", source, code=1)
    assert "0 created" in output and "2 rejected" in output
    report = (space.root / "subscriptions.csv.rejects.csv").read_text().splitlines()
    assert report[1].startswith("3,price_cents") and report[2].startswith("4,customer_external_id")
    space.file(
        "subscriptions.csv",
        header + "C1,FX-1,Fibre,0144556677;0611223344,2025-01-01,10,3999\n"
        "C2,FX-2,Fibre,,2025-01-01,10,2999\n",
    )
    output = space.run("import", "subscriptions", source)
    assert "2 created" in output and "0 rejected" in output


ACTIVITIES = (
    "key,member_number,kind,on,amount.fare,attr.cabin,attr.distance_miles,attr.domestic\n"
    "{key},FB00000001,flight,{day},10000,economy,400,true\n"
)


@case("import activities")
def _import_activities(space):
    day = (date.today() - timedelta(days=3)).isoformat()
    source = space.file("activities.csv", ACTIVITIES.format(key="CLI-A", day=day))
    output = space.run("import", "activities", source, "--programme", "flying_blue")
    assert "1 parked" in output and "0 rejected" in output


@case("social import")
def _social_import(space):
    lines = [
        '{"network": "x", "handle": "@zoem", "text": "Merci !", "external_id": "S1",'
        ' "followers": 120, "verified": true, "email": "zoe@example.fr"}',
        '{"network": "instagram", "handle": "loud", "text": "Toujours en panne",'
        ' "external_id": "S2", "followers": 50000, "needs_answer": true}',
        '{"network": "x", "handle": "bad", "text": "?", "external_id": "S3", "followers": -5}',
        "not json",
    ]
    source = space.file("mentions.jsonl", "\n".join(lines) + "\n")
    output = space.run("social", "import", source, code=1)
    assert "4 read, 2 imported, 1 cases opened, 1 linked" in output, output
    assert "line 3: followers" in output and "line 4: not valid JSON" in output
    # Run again: the posts are recognised, no second case.
    again = space.run("social", "import", source, code=1)
    assert "0 cases opened" in again


@case("social link")
def _social_link(space):
    output = space.run("social", "link")
    assert "profiles against" in output and "to review" in output


@case("social duplicates")
def _social_duplicates(space):
    assert "possible duplicates queued" in space.run("social", "duplicates")


@case("social retrain")
def _social_retrain(space):
    output = space.run("social", "retrain", code=2)
    assert "review" in output.lower()


@case("loyalty import-activities")
def _loyalty_import_activities(space):
    day = (date.today() - timedelta(days=3)).isoformat()
    source = space.file("activities-2.csv", ACTIVITIES.format(key="CLI-B", day=day))
    output = space.run("loyalty", "import-activities", source, "--programme", "flying_blue")
    assert "1 parked" in output


@case("loyalty requalify")
def _requalify(space):
    output = space.run("loyalty", "requalify", "--as-of", date.today().isoformat())
    assert "members evaluated" in output


@case("loyalty expire")
def _expire(space):
    assert "points expired" in space.run("loyalty", "expire", "--as-of", "2024-01-01")


@case("loyalty verify")
def _verify(space):
    assert "The stored state is the ledger's." in space.run("loyalty", "verify")
    assert "not found" in space.run("loyalty", "verify", "--member", "999999", code=2)


@case("loyalty merge")
def _merge(space):
    assert "moved into the history" in space.run("loyalty", "merge")
    # Everything recent moved (on SQLite there never is anything to move).
    assert "0 rows of 0 members moved into the history" in space.run("loyalty", "merge")


@case("export-customer")
def _export_customer(space):
    target = space.root / "c1.json"
    assert "exported" in space.run("export-customer", "1", "-o", str(target))
    assert "Dupont" in target.read_text()


@case("erase-customer")
def _erase_customer(space):
    assert "erased" in space.run("erase-customer", "3", "--reason", "Art. 17 request")
    assert "not found" in space.run("erase-customer", "999", "--reason", "none", code=2)


@case("cases check-sla")
def _check_sla(space):
    assert "OK" in space.run("cases", "check-sla")


@case("cases sweep")
def _sweep(space):
    space.run("cases", "sweep")


@case("cases receive-email")
def _receive_email(space):
    message = space.file(
        "mail.eml",
        "From: Jean Dupont <jean@example.fr>\nTo: support@egards.example.com\n"
        f"Subject: Colis perdu\nMessage-ID: <cli-{space.kind}@example.fr>\n"
        "Date: Mon, 2 Jun 2025 10:00:00 +0200\n\nBonjour, mon colis est perdu.\n",
    )
    output = space.run("cases", "receive-email", message)
    assert "case=" in output and "failed" not in output


@case("cases recount")
def _recount(space):
    assert "awaiting an answer" in space.run("cases", "recount")


@case("portal sign-in-link")
def _portal_sign_in_link(space):
    output = space.run("portal", "sign-in-link", "zoe@example.fr")
    assert "/my/link/" in output
    refused = space.run("portal", "sign-in-link", "nobody@example.fr", code=1)
    assert "No link for nobody@example.fr" in refused


TRANSACTIONS = "customer_external_id,date,amount\n" + "".join(
    f"C{c},{(date.today() - timedelta(days=d)).isoformat()},{10 + d}.50\n"
    for c in (1, 2)
    for d in range(5, 400, 40)
)


@case("analytics import-transactions")
def _import_transactions(space):
    source = space.file("transactions.csv", TRANSACTIONS)
    output = space.run("analytics", "import-transactions", source)
    assert "20 imported" in output and "0 rejected" in output


@case("analytics score")
def _analytics_score(space):
    space.run("analytics", "import-transactions", space.file("t.csv", TRANSACTIONS))
    assert "Scoring run" in space.run("analytics", "score", "--source", "imported")


@case("score")
def _score(space):
    space.run("analytics", "import-transactions", space.file("t.csv", TRANSACTIONS))
    assert "Scoring run" in space.run("score", "--source", "imported")


@case("batch export")
def _batch_export(space):
    space.run("analytics", "import-transactions", space.file("t.csv", TRANSACTIONS))
    output = space.run("batch", "export", "--parquet", "export", "--source", "imported")
    assert "transactions up to" in output
    assert (space.root / "export" / "transactions" / "part-0.parquet").exists()


@case("export")
def _export(space):
    space.run("analytics", "import-transactions", space.file("t.csv", TRANSACTIONS))
    output = space.run("export", "--parquet", "export", "--source", "imported")
    assert "transactions up to" in output
    assert (space.root / "export" / "transactions" / "part-0.parquet").exists()


@case("batch run")
def _batch_run(space):
    space.run("analytics", "import-transactions", space.file("t.csv", TRANSACTIONS))
    assert "Batch run" in space.run("batch", "run", "score", "--source", "imported")
    assert "Batch run" in space.run("batch", "run", "requalify", "--as-of", "2026-01-01")
    assert "Batch run" in space.run("batch", "run", "link")
    refused = space.run("batch", "run", "score", "--engine", "spark", "--master", "x", code=2)
    assert "is not a Spark master" in refused


@case("analytics fit")
def _analytics_fit(space):
    from egards.analytics.datasets import load_cdnow_sample_transactions

    tx = load_cdnow_sample_transactions()
    first = tx.customer_id <= 500
    rows = "customer_id,date,amount\n" + "".join(
        f"{c},{d},{v}\n"
        for c, d, v in zip(
            tx.customer_id[first], tx.date[first], tx.monetary_value[first], strict=True
        )
    )
    source = space.file("purchases.csv", rows)
    model = str(space.root / "model.json")
    output = space.run("analytics", "fit", source, "--model", "pareto-nbd", "--save", model)
    assert "standard error" in output and "converged" in output
    assert "500 rows of scores written" in output
    again = space.run("analytics", "fit", source, "--model", "pareto-nbd", "--model-file", model)
    assert "loaded model" in again


@case("analytics runs")
def _runs(space):
    assert "status" in space.run("analytics", "runs")


@case("voice train")
def _voice_train(space):
    output = space.run("voice", "train")
    assert "trained on" in output and "0 corrections" in output
    assert (space.root / "data" / "voice" / "model.joblib").exists()


@case("voice analyse")
def _voice_analyse(space):
    output = space.run("voice", "analyse", "Je ne serai plus client chez vous, c'est fini.")
    assert '"churn_threat": true' in output and '"language": "fr"' in output


# After the cases, so that the parametrisation sees them all.
def test_every_command_has_a_case():
    assert sorted(COMMANDS) == sorted(CASES)
    assert set(CASES) >= ON_POSTGRESQL


# Every command on SQLite; on PostgreSQL the ones that write in bulk, score or serve.
ON_POSTGRESQL = {
    *("init", "serve", "worker", "demo", "import customers", "import activities"),
    *("analytics import-transactions", "analytics score", "score", "loyalty expire"),
    *("loyalty merge", "erase-customer"),
}


@pytest.mark.parametrize(
    ("kind", "path"),
    [("sqlite", path) for path in sorted(CASES)]
    + [
        pytest.param("postgresql", path, marks=pytest.mark.postgres)
        for path in sorted(ON_POSTGRESQL)
    ],
)
def test_command_runs_in_a_fresh_process(request, kind, path):
    CASES[path](request.getfixturevalue(f"{kind}_workspace"))
