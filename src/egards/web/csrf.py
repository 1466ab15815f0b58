"""CSRF tokens that never repeat on the wire.

The session keeps one secret; every page carries it masked with fresh random bytes
(``pad + (pad XOR secret)``), so two pages never show the same token. Compressed answers
(GZip) that hold both a token and text an attacker can inject would otherwise let the
token be guessed byte by byte from the compressed sizes (BREACH); a token that changes on
every answer gives that guessing nothing to converge on. A sent token is unmasked and
compared in constant time."""

from __future__ import annotations

import base64
import binascii
import secrets


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def mask(secret: str) -> str:
    """``secret`` as it goes into a page: different bytes every time, the same secret inside."""
    raw = secret.encode()
    pad = secrets.token_bytes(len(raw))
    masked = pad + bytes(p ^ r for p, r in zip(pad, raw, strict=True))
    return base64.urlsafe_b64encode(masked).decode().rstrip("=")


def unmask(sent: str) -> str | None:
    """The secret inside a masked token, or None when ``sent`` is not one."""
    try:
        masked = base64.urlsafe_b64decode(sent + "=" * (-len(sent) % 4))
    except (binascii.Error, ValueError):
        return None
    half, odd = divmod(len(masked), 2)
    if odd or not half:
        return None
    pad, body = masked[:half], masked[half:]
    return bytes(p ^ b for p, b in zip(pad, body, strict=True)).decode("latin-1")


def matches(secret: str | None, sent: object) -> bool:
    """Whether ``sent`` (a form field or header) is ``secret`` masked."""
    if not secret or not isinstance(sent, str):
        return False
    plain = unmask(sent)
    return plain is not None and secrets.compare_digest(secret.encode(), plain.encode("latin-1"))
