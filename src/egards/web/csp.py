"""The Content-Security-Policy of the console: nothing loads from elsewhere.

Pages, scripts, styles, fonts and fetches come from the console itself; images also from
``data:`` URLs (charts). A message's remote images load only when an agent asks for them, on
that one page (``REMOTE_IMAGES``). Scripts and styles may still be inline (the templates'
small scripts, htmx's ``hx-on``, Chart.js's styles); what the console shows from outside
(e-mail HTML) is sanitised so that it never holds any.
"""

from __future__ import annotations


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
