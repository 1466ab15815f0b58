"""`egards portal ...`: a customer's sign-in link, for a demo or a test without a mail server."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="The customer portal (/my).", no_args_is_help=True)
console = Console()


@app.command("sign-in-link")
def sign_in_link(
    email: Annotated[str, typer.Argument(help="The customer's e-mail address.")],
) -> None:
    """Queue a sign-in link for the customer known by EMAIL, as the sign-in page does, and
    print it (for a demo or a test without a mail server; the link works once, briefly)."""
    from egards.cli_support import database
    from egards.config import get_settings
    from egards.db import utcnow
    from egards.portal import service
    from egards.portal.settings import get_portal_settings

    settings = get_settings()
    db = database(settings)
    with db.unit_of_work() as session:
        url = service.request_link(
            session,
            email=email,
            loyalty_number=None,
            key=settings.resolved_secret_key.encode(),
            settings=get_portal_settings(),
            mail_from=settings.mail_from,
            now=utcnow(),
        )
    if url is None:
        console.print(
            f"[red]No link for {email}[/]: no active customer has this address, or too many "
            "links were sent to it lately."
        )
        raise typer.Exit(1)
    console.print(url, soft_wrap=True)
