"""The `egards` command: set-up, serving, demo, users, imports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from egards.cli_support import database, rejected, reporting
from egards.config import Settings, get_settings

if TYPE_CHECKING:
    from egards.db import Database

app = typer.Typer(
    help="Égards: loyalty programme and customer relationship in one system.", no_args_is_help=True
)
user_app = typer.Typer(help="Manage console and API users.", no_args_is_help=True)
import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")
console = Console()


def _add_feature_commands() -> None:
    from egards.features import modules

    for feature, module in modules("cli"):
        app.add_typer(module.app, name=feature)
        if feature == "analytics":  # the nightly job by hand, under its short name
            app.command("score")(module.score)
        if feature == "batch":  # `egards export --parquet DIR`, as issue 21 names it
            app.command("export")(module.export)


_add_feature_commands()


def _migrate(settings: Settings) -> Database:
    from egards.migrate import upgrade

    db = database(settings)
    upgrade(db.engine)
    return db


@app.command()
def init(
    admin_email: Annotated[
        str, typer.Option(help="E-mail of the first admin.")
    ] = "admin@egards.example.com",
) -> None:
    """Create or migrate the database, and create the first admin if there is none."""
    from egards.accounts import service as accounts
    from egards.accounts.domain import SYSTEM, Role
    from egards.accounts.schemas import UserCreate

    settings = get_settings()
    db = _migrate(settings)
    console.print(f"[green]Database ready[/] ({db.dialect}).")
    with db.unit_of_work() as session:
        if accounts.count_users(session):
            console.print("Users exist already; no admin created.")
            return
        password = accounts.generate_password()
        accounts.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email=admin_email,
                display_name="Administrator",
                role=Role.ADMIN,
                password=password,
                locale=settings.default_locale,
            ),
        )
    console.print(
        f"Admin [bold]{admin_email}[/] created. Password (shown once): [bold]{password}[/]"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes (PostgreSQL only), each with EGARDS_DB_POOL_SIZE connections.",
        ),
    ] = 1,
) -> None:
    """Run the web console and the API."""
    import uvicorn

    from egards.app import create_app

    settings = get_settings()
    if workers > 1 and settings.resolved_database_url.startswith("sqlite"):
        console.print(
            "[red]--workers needs PostgreSQL[/]: SQLite lets one process write at a time, so "
            "more processes would only queue on its lock. Set EGARDS_DATABASE_URL, or serve "
            "with one worker."
        )
        raise typer.Exit(2)
    console.print(f"Égards on [bold]http://{host}:{port}/[/] (API docs at /docs)")
    if workers > 1:  # each process builds its own app (and engine) from the environment
        uvicorn.run("egards.app:create_app", factory=True, workers=workers, host=host, port=port)
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def demo(
    customers: Annotated[
        int, typer.Option("--customers", min=10, help="How many customers.")
    ] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the data and stop.")] = False,
    smtp_port: Annotated[
        int, typer.Option(help="Inbound SMTP port of the demo's mail receiver (0: none).")
    ] = 2525,
) -> None:
    """A fresh demo database with realistic data and demo users, then serve it."""
    from egards.demo.generate import DEMO_PASSWORD, generate

    settings = get_settings()
    if settings.database_url is None:
        database_file = settings.data_dir / "egards.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database_file}{suffix}").unlink(missing_ok=True)
    db = _migrate(settings)
    summary = generate(db, customers=customers, seed=seed, console=console)
    table = Table(title="Demo users (password: " + DEMO_PASSWORD + ")")
    table.add_column("e-mail")
    table.add_column("role")
    for email, role in summary.users:
        table.add_row(email, role)
    console.print(table)
    console.print(f"{summary.customers} customers, {summary.timeline_events} timeline events.")
    for feature, text in summary.features.items():
        console.print(f"{feature}: {text}")
    if not no_serve:
        if settings.inbound_smtp_port is None and smtp_port:
            settings.inbound_smtp_port = smtp_port
        stop = _start_worker_thread(settings, db)
        try:
            serve(host=host, port=port)
        finally:
            stop()


def _start_worker_thread(settings: Settings, db: Database):
    """The demo's worker runs beside the server, in the same process."""
    import threading

    from egards.worker import run_forever

    stop = threading.Event()
    receiver = _start_smtp_receiver(settings, db)
    thread = threading.Thread(
        target=run_forever, args=(db, settings), kwargs={"stop": stop}, daemon=True
    )
    thread.start()
    console.print("Worker started (SLA sweeps, outbox, mail).")

    def halt() -> None:
        stop.set()
        if receiver is not None:
            receiver.stop()

    return halt


def _start_smtp_receiver(settings: Settings, db: Database):
    if not settings.inbound_smtp_port:
        return None
    from egards.cases.mail import start_smtp_receiver
    from egards.cases.service import config_from_settings

    try:
        receiver = start_smtp_receiver(
            db,
            config_from_settings(settings),
            host=settings.inbound_smtp_host,
            port=settings.inbound_smtp_port,
            max_bytes=settings.max_message_bytes,
        )
    except (OSError, RuntimeError) as exc:
        console.print(f"[yellow]No inbound SMTP on port {settings.inbound_smtp_port}:[/] {exc}")
        return None
    console.print(
        f"Inbound SMTP on [bold]{settings.inbound_smtp_host}:{settings.inbound_smtp_port}[/]"
    )
    return receiver


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="One pass of every job, then stop.")] = False,
) -> None:
    """Background jobs: SLA sweeps and escalations, outgoing mail, IMAP polling (and the
    inbound SMTP receiver when EGARDS_INBOUND_SMTP_PORT is set)."""
    import threading

    from egards.worker import failed, run_forever, run_once

    settings = get_settings()
    db = database(settings)
    if once:
        results = run_once(db, settings)
        for name, result in results.items():
            console.print(f"{name}: {result}")
        if failures := failed(results):
            # A non-zero status tells cron and systemd; stderr says which job.
            Console(stderr=True).print(f"[red]failed:[/] {', '.join(failures)}")
            raise typer.Exit(1)
        return
    receiver = _start_smtp_receiver(settings, db)
    stop = threading.Event()
    console.print("Worker running; Ctrl-C to stop.")
    try:
        run_forever(
            db, settings, stop=stop, report=lambda name, result: console.print(f"{name}: {result}")
        )
    except KeyboardInterrupt:
        stop.set()
    finally:
        if receiver is not None:
            receiver.stop()


@user_app.command("create")
def user_create(
    email: str,
    role: Annotated[str, typer.Option(help="admin, supervisor, agent, analyst or partner")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    organisation_id: Annotated[int | None, typer.Option(help="For partner users.")] = None,
    locale: Annotated[str, typer.Option()] = "fr",
) -> None:
    """Create a user; the generated password is printed once."""
    from egards.accounts import service as accounts
    from egards.accounts.domain import SYSTEM, Role
    from egards.accounts.schemas import UserCreate

    password = accounts.generate_password()
    db = database(get_settings())
    with reporting(), db.unit_of_work() as session:
        user = accounts.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email=email,
                display_name=name or email.split("@")[0],
                role=Role(role),
                password=password,
                locale=locale,
                organisation_id=organisation_id,
            ),
        )
        console.print(
            f"User {user.email} ({user.role}) created. Password (shown once): [bold]{password}[/]"
        )


@user_app.command("list")
def user_list() -> None:
    """List users."""
    from egards.accounts import service as accounts
    from egards.accounts.domain import SYSTEM

    db = database(get_settings())
    table = Table("id", "e-mail", "name", "role", "organisation", "active", "last login")
    with db.unit_of_work() as session:
        for user in accounts.list_users(session, actor=SYSTEM):
            table.add_row(
                str(user.id),
                user.email,
                user.display_name,
                user.role,
                str(user.organisation_id or ""),
                "yes" if user.is_active else "no",
                str(user.last_login_at or ""),
            )
    console.print(table)


@user_app.command("disable")
def user_disable(email: str) -> None:
    """Disable a user: they can no longer sign in, and their tokens stop working."""
    from egards.accounts import service as accounts
    from egards.accounts.domain import SYSTEM

    db = database(get_settings())
    with reporting(), db.unit_of_work() as session:
        user = accounts.find_user(session, email=email)
        accounts.set_active(session, actor=SYSTEM, user_id=user.id, active=False)
    console.print(f"User {email} disabled.")


@import_app.command("customers")
def import_customers(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON Lines.")],
    rejects: Annotated[Path | None, typer.Option(help="Where to write rejected rows.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000)] = 5000,
) -> None:
    """Upsert customers by external id; rejected rows go to a report with line, field, reason."""
    from egards.customers.imports import import_customers as run_import

    db = database(get_settings())
    rejects = rejects or file.with_name(file.name + ".rejects.csv")
    with reporting():
        result = run_import(db, file, rejects_path=rejects, batch_size=batch_size, console=console)
    console.print(
        f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
        + rejected(result.rejected, rejects, removed=result.removed_rejects)
    )
    if result.rejected:
        raise typer.Exit(code=1)


@import_app.command("activities")
def import_activities(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV, JSONL or Parquet.")
    ],
    programme: Annotated[str, typer.Option(help="Programme code, e.g. flying_blue.")],
    rejects: Annotated[Path | None, typer.Option(help="Where to write rejected rows.")] = None,
) -> None:
    """Count loyalty activities from a file (same as `egards loyalty import-activities`)."""
    from egards.loyalty.cli import import_activities as run

    run(file=file, programme=programme, rejects=rejects)


@import_app.command("subscriptions")
def import_subscriptions(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON Lines.")],
    rejects: Annotated[Path | None, typer.Option(help="Where to write rejected rows.")] = None,
) -> None:
    """Contracts, all or nothing: any refused line (see the report) and nothing is written."""
    from egards.subscriptions.imports import import_subscriptions as run_import

    db = database(get_settings())
    rejects = rejects or file.with_name(file.name + ".rejects.csv")
    with reporting():
        result = run_import(db, file, rejects_path=rejects)
    console.print(
        f"{result.created} created, "
        + rejected(len(result.rejects), rejects, removed=result.removed_rejects)
    )
    if result.rejects:
        raise typer.Exit(code=1)


@app.command("export-customer")
def export_customer(customer_id: int, output: Annotated[Path, typer.Option("-o")]) -> None:
    """Write everything about one customer to a JSON file (GDPR access)."""
    import json

    from egards.accounts.domain import SYSTEM
    from egards.customers import service

    db = database(get_settings())
    with reporting(), db.unit_of_work() as session:
        bundle = service.export_customer(session, actor=SYSTEM, customer_id=customer_id)
    output.write_text(json.dumps(bundle, ensure_ascii=False, indent=2, default=str))
    console.print(f"Customer {customer_id} exported to {output}.")


@app.command("erase-customer")
def erase_customer(
    customer_id: int, reason: Annotated[str, typer.Option(help="Why (kept).")]
) -> None:
    """Erase a customer's personal data for good (GDPR art. 17)."""
    from egards.accounts.domain import SYSTEM
    from egards.customers import service

    db = database(get_settings())
    with reporting(), db.unit_of_work() as session:
        service.erase_customer(session, actor=SYSTEM, customer_id=customer_id, reason=reason)
    console.print(f"Customer {customer_id} erased.")
