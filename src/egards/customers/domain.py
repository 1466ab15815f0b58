"""Rules of the customer file: how names, e-mails, phones and handles are normalised."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from egards.customers.phones import fast_e164
from egards.errors import InvalidInput, Word
from egards.i18n import C_, N_
from egards.privacy import ERASED as ERASED  # (the erasure lives in the core)
from egards.privacy import Erasure as Erasure


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    LOYALTY_NUMBER = "loyalty_number"
    SOCIAL = "social"
    SOURCE_ID = "source_id"


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    ERASED = "erased"


_CUSTOMER_STATUS_WORDS: dict[str, str] = {
    CustomerStatus.ACTIVE: C_("customer", "active"),
    CustomerStatus.MERGED: C_("customer", "merged"),
    CustomerStatus.ERASED: C_("customer", "erased"),
}


def customer_status(status: str) -> Word:
    """A customer's status as a refusal names it: "erased" / "effacé"."""
    return Word(status, _CUSTOMER_STATUS_WORDS.get(status, str(status)), "customer")


SILOS = ("support", "shop", "partner", "quality", "billing", "cancellation", "loyalty", "marketing")
CHANNELS = ("email", "phone", "web", "social", "shop", "letter", "partner", "api", "console")
CONSENT_PURPOSES = ("marketing", "profiling", "surveys", "partners")
CONSENT_CHANNELS = ("email", "sms", "phone", "post", "push", "any")
SOCIAL_NETWORKS = ("x", "linkedin", "facebook", "instagram", "tiktok", "youtube", "other")


_LETTERS = str.maketrans(
    {"æ": "ae", "œ": "oe", "ø": "o", "ı": "i", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}
)


@lru_cache(maxsize=1 << 16)  # an import meets the same first and last names again and again
def fold(text: str) -> str:
    """Accent- and case-insensitive form: "Hélène  Dupont-Léger" -> "helene dupont-leger"."""
    if text.isascii():  # NFKD, the combining marks and the letters above change nothing
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)
    return " ".join(unicodedata.normalize("NFKC", stripped).casefold().split())


def name_keys(first_name: str, last_name: str) -> tuple[str, str]:
    """Two sort keys so that a prefix finds a person by first or by last name."""
    first, last = fold(first_name), fold(last_name)
    return f"{last} {first}".strip(), f"{first} {last}".strip()


# The WHATWG definition browsers apply to <input type=email>; ASCII addresses only pass here,
# anything else (internationalised addresses) goes through the full RFC check.
# (Patterns written for RE2 too: the import applies them to whole columns with Arrow.)
ASCII_EMAIL = (
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$"
)
_EMAIL = re.compile(ASCII_EMAIL)


def normalise_email(value: str) -> str:
    value = value.strip()
    if _EMAIL.match(value) and ".." not in value and not value.startswith("."):
        return value.lower()
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(
            N_("not a valid e-mail address: {exc}"), exc=exc, field="email"
        ) from None
    return result.normalized.lower()


def normalise_phone(value: str, *, region: str = "FR") -> str:
    """E.164, whatever the spacing: "06 12 34 56 78", "+33 6 12-34-56-78" -> "+33612345678".

    The common shapes take the fast path (egards.customers.phones), the rest `phonenumbers`."""
    fast = fast_e164(value, region)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(N_("not a phone number: {exc}"), exc=exc, field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(N_("not a valid phone number: {value!r}"), value=value, field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_HANDLE = re.compile(r"^@?([A-Za-z0-9_.\-]{1,100})$")
LOYALTY_NUMBER = r"^[A-Za-z0-9\-]{4,40}$"
_LOYALTY = re.compile(LOYALTY_NUMBER)


def normalise_identity(kind: IdentityKind, value: str, *, region: str = "FR") -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(N_("must not be empty"), field="value")
    match kind:
        case IdentityKind.EMAIL:
            return normalise_email(value)
        case IdentityKind.PHONE:
            return normalise_phone(value, region=region)
        case IdentityKind.SOCIAL:
            found = _HANDLE.match(value)
            if not found:
                raise InvalidInput(N_("a handle is letters, digits, _ . or -"), field="value")
            return found.group(1).lower()
        case IdentityKind.LOYALTY_NUMBER:
            if not _LOYALTY.match(value):
                raise InvalidInput(N_("a loyalty number is 4-40 letters or digits"), field="value")
            return value.upper().replace("-", "")
        case IdentityKind.SOURCE_ID:
            if ":" not in value:
                raise InvalidInput(N_("a source id is written system:id"), field="value")
            return value


@dataclass(frozen=True)
class SearchQuery:
    """What a search box entry means: an identity looked up exactly, or a name prefix."""

    kind: IdentityKind | None
    value: str


_PHONE_CHARS = re.compile(r"^[+()\d\s.\-/]{6,}$")


def interpret_search(text: str, *, region: str = "FR") -> SearchQuery:
    text = text.strip()
    if not text:
        return SearchQuery(kind=None, value="")
    if "@" in text[1:]:
        try:
            return SearchQuery(kind=IdentityKind.EMAIL, value=normalise_email(text))
        except InvalidInput:
            return SearchQuery(kind=IdentityKind.EMAIL, value=text.lower())
    if text.startswith("@"):
        return SearchQuery(kind=IdentityKind.SOCIAL, value=text[1:].lower())
    if _PHONE_CHARS.match(text) and sum(c.isdigit() for c in text) >= 6:
        try:
            return SearchQuery(kind=IdentityKind.PHONE, value=normalise_phone(text, region=region))
        except InvalidInput:
            pass
    if any(c.isdigit() for c in text) and _LOYALTY.match(text):
        return SearchQuery(kind=IdentityKind.LOYALTY_NUMBER, value=text.upper().replace("-", ""))
    return SearchQuery(kind=None, value=fold(text))


VERIFIED_KINDS = ("email", "phone", "loyalty_number")


def verified_identity_conflict(
    first: Iterable[tuple[str, str]], second: Iterable[tuple[str, str]]
) -> str | None:
    """Why two files cannot be one person: for some kind, each holds verified identities
    and none in common (two different verified e-mail addresses, loyalty numbers or phones).
    ``None`` when nothing verified disagrees. Each argument is ``(kind, value)`` pairs."""
    mine: dict[str, set[str]] = {}
    theirs: dict[str, set[str]] = {}
    for target, pairs in ((mine, first), (theirs, second)):
        for kind, value in pairs:
            if kind in VERIFIED_KINDS:
                target.setdefault(kind, set()).add(value)
    for kind in VERIFIED_KINDS:
        if mine.get(kind) and theirs.get(kind) and not mine[kind] & theirs[kind]:
            return (
                f"the two files hold different verified {kind.replace('_', ' ')}s "
                f"({', '.join(sorted(mine[kind]))} / {', '.join(sorted(theirs[kind]))})"
            )
    return None
