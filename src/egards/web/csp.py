"""The Content-Security-Policy of the console: nothing loads from elsewhere.

Pages, scripts, styles, fonts and fetches come from the console itself; images also from
``data:`` URLs (charts). A message's remote images load only when an agent asks for them, on
that one page (``REMOTE_IMAGES``). Scripts and styles may still be inline (the templates'
small scripts, htmx's ``hx-on``, Chart.js's styles); what the console shows from outside
(e-mail HTML) is sanitised so that it never holds any.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import MutableHeaders


def policy(*, img_src: str = "'self' data:") -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"img-src {img_src}",
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


DEFAULT = policy()
REMOTE_IMAGES = policy(img_src="'self' data: https: http:")
# FastAPI's API explorer loads Swagger UI from a CDN; it shows no customer data.
EXEMPT_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})


class DefaultPolicy:
    """Gives every response that sets no policy of its own the DEFAULT one. Plain ASGI, as the
    other middlewares on the request path: it only adds a header to the response's start."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            return await self.app(scope, receive, send)

        async def with_policy(message: dict) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("Content-Security-Policy", DEFAULT)
            await send(message)

        await self.app(scope, receive, with_policy)
