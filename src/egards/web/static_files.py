"""The console's static files (stylesheet, vendored htmx and Chart.js), cacheable.

Templates link them through ``static_url`` ("/static/htmx.min.js?v=<content hash>"): a
versioned address never changes content, so browsers keep it for a year without asking
again; a new release changes the hash, hence the address. An address without the version
is kept an hour, then revalidated with its ETag. Compression is the app's GZip middleware.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files
from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles

FOLDER = files("egards.web") / "static"
VERSIONED = "public, max-age=31536000, immutable"
UNVERSIONED = "public, max-age=3600"


@cache
def static_url(name: str) -> str:
    digest = hashlib.sha256((FOLDER / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


class CachedStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["Cache-Control"] = VERSIONED if versioned else UNVERSIONED
        return response
