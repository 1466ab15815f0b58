"""Phone numbers to E.164 in about 2 µs instead of 25: the common shapes ("06 12 34 56 78",
"+33 6 12-34-56-78", "0612345678") are checked against the region's own patterns, compiled once
from `phonenumbers`' metadata; anything else (letters, brackets, extensions, an international
call prefix, a country code shared by several regions, a national prefix with a transform rule,
an invalid number) goes to `phonenumbers`, which stays the rule and writes the error messages.

The fast path follows the library's parse step by step (country code, national prefix and its
viability and length checks, then validity against the region's number types) and answers only
when the library would give the same number: `tests/unit/test_phones.py` checks it on random
inputs against `phonenumbers` itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

# A "+", then digits with at most one space, dot or hyphen between two of them.
_SHAPE = re.compile(r"\+?[0-9](?:[ .\-]?[0-9]){0,24}")
_SEPARATORS = str.maketrans("", "", " .-")


@dataclass(frozen=True, slots=True)
class _Desc:
    pattern: re.Pattern[str]
    lengths: frozenset[int]  # empty: the general description's lengths apply


@dataclass(frozen=True, slots=True)
class _Region:
    code: str
    country_code: str  # digits
    general: _Desc
    general_lengths: tuple[int, ...]  # sorted, as the metadata gives them
    local_only: frozenset[int]
    types: tuple[_Desc, ...]
    # By length: one pattern, the alternation of the general description's and the number
    # types' whose lengths allow it (one fullmatch instead of eleven).
    valid: dict[int, re.Pattern[str]]
    valid_types: dict[int, str]  # the number types' alternation of each length, alone
    national_prefix: re.Pattern[str] | None
    international_prefix: re.Pattern[str] | None


_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def _desc(found: object) -> _Desc | None:
    pattern = getattr(found, "national_number_pattern", None)
    if found is None or pattern is None:
        return None
    lengths = frozenset(getattr(found, "possible_length", ()) or ())
    return _Desc(re.compile(pattern), lengths)


@cache
def _region(code: str) -> _Region | None:
    """The region's patterns, compiled once; None when the fast path does not apply to it."""
    metadata = PhoneMetadata.metadata_for_region(code.upper(), None)
    if metadata is None or metadata.country_code is None:
        return None
    if len(COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ())) != 1:
        return None  # the region of a number would depend on its leading digits
    if metadata.national_prefix_transform_rule:
        return None
    general = _desc(metadata.general_desc)
    if general is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    national_prefix = re.compile(prefix) if prefix else None
    if national_prefix is not None and national_prefix.groups:
        return None  # carrier codes
    types = tuple(
        found for found in (_desc(getattr(metadata, name, None)) for name in _TYPES) if found
    )
    general_desc = metadata.general_desc
    valid = {}
    valid_types = {}
    for length in general.lengths:
        allowed = [d.pattern.pattern for d in types if length in (d.lengths or general.lengths)]
        if allowed:
            valid_types[length] = either = "|".join(f"(?:{p})" for p in allowed)
            valid[length] = re.compile(f"(?=(?:{general.pattern.pattern})$)(?:{either})")
    return _Region(
        code=code.upper(),
        country_code=str(metadata.country_code),
        general=general,
        general_lengths=tuple(getattr(general_desc, "possible_length", ()) or ()),
        local_only=frozenset(getattr(general_desc, "possible_length_local_only", ()) or ()),
        types=types,
        valid=valid,
        valid_types=valid_types,
        national_prefix=national_prefix,
        international_prefix=(
            re.compile(metadata.international_prefix) if metadata.international_prefix else None
        ),
    )


def _national_significant(region: _Region, number: str) -> str:
    """The number without its national prefix, when the library would strip it."""
    prefix = region.national_prefix
    if prefix is None:
        return number
    found = prefix.match(number)
    if found is None:
        return number
    stripped = number[found.end() :]
    viable = region.general.pattern.fullmatch(stripped) is not None
    if region.general.pattern.fullmatch(number) is not None and not viable:
        return number
    # The library keeps the stripped number unless its length is too short, local only or
    # impossible (a number too long is kept stripped, and then found invalid below).
    length = len(stripped)
    lengths = region.general_lengths
    if not lengths or lengths[0] == -1 or length in region.local_only:
        return number
    if length > lengths[-1] or length in lengths:
        return stripped
    return number


def fast_e164(value: str, region: str) -> str | None:
    """The E.164 form of a valid number of a common shape, or None: ask `phonenumbers`."""
    if not _SHAPE.fullmatch(value):
        return None
    digits = value.translate(_SEPARATORS)
    if digits[0] == "+":
        digits = digits[1:]
        if digits[0] == "0":
            return None
        for size in (1, 2, 3):
            regions = COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
            if regions:
                break
        else:
            return None
        if len(regions) != 1:
            return None
        home = _region(regions[0])
        if home is None:
            return None
        national = digits[size:]
    else:
        home = _region(region)
        if home is None:
            return None
        if digits.startswith(home.country_code):
            return None  # the library may read it as the country code without its "+"
        if home.international_prefix is not None and home.international_prefix.match(digits):
            return None
        national = digits
    number = _national_significant(home, national)
    if not number or number[0] == "0":
        return None  # a leading zero kept in the number (Italy): the library's business
    valid = home.valid.get(len(number))
    if valid is None or valid.fullmatch(number) is None:
        return None
    return f"+{home.country_code}{number}"


def library_e164(value: str, region: str) -> str:
    """`phonenumbers`' answer: the E.164 form, or NumberParseException / ValueError."""
    number = phonenumbers.parse(value, region)
    if not phonenumbers.is_valid_number(number):
        raise ValueError(value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_NO_PLUS_SHAPE = r"^[0-9](?:[ .\-]?[0-9]){0,24}$"


def column_e164(values: Any, region: str) -> tuple[Any, Any]:
    """:func:`fast_e164` over an Arrow column of numbers written without "+" (the region's
    own numbers), with Arrow's kernels: where it decides (a boolean column), and the E.164
    form there (None elsewhere, as for any other shape: ask :func:`fast_e164`). Only for a
    region whose national prefix is plain digits; the same steps as :func:`fast_e164`, each
    over the whole column."""
    import pyarrow as pa

    pc: Any = import_module("pyarrow.compute")
    nothing = (pa.repeat(pa.scalar(False), len(values)), pa.nulls(len(values), pa.string()))
    home = _region(region)
    prefix = home.national_prefix.pattern if home and home.national_prefix else ""
    if home is None or not re.fullmatch("[0-9]*", prefix):
        return nothing

    def whole(texts: Any, pattern: str) -> Any:
        return pc.match_substring_regex(texts, f"^(?:{pattern})$")

    digits = pc.replace_substring_regex(values, r"[ .\-]", "")
    decided = pc.and_(
        pc.match_substring_regex(values, _NO_PLUS_SHAPE),
        pc.invert(pc.starts_with(digits, home.country_code)),
    )
    if home.international_prefix is not None:
        international = f"^(?:{home.international_prefix.pattern})"
        decided = pc.and_(decided, pc.invert(pc.match_substring_regex(digits, international)))
    number = digits
    lengths = home.general_lengths
    if prefix and lengths and lengths[0] != -1:  # else the number is kept as it is
        stripped = pc.utf8_slice_codeunits(digits, len(prefix))
        general = home.general.pattern.pattern
        size = pc.utf8_length(stripped)
        strip = pc.and_(
            pc.and_(
                pc.starts_with(digits, prefix),
                pc.invert(pc.and_(whole(digits, general), pc.invert(whole(stripped, general)))),
            ),
            pc.and_(
                pc.invert(pc.is_in(size, pa.array(sorted(home.local_only), pa.int32()))),
                pc.or_(
                    pc.greater(size, lengths[-1]), pc.is_in(size, pa.array(lengths, pa.int32()))
                ),
            ),
        )
        number = pc.if_else(strip, stripped, digits)
    decided = pc.and_(
        decided,
        pc.and_(pc.greater(pc.utf8_length(number), 0), pc.invert(pc.starts_with(number, "0"))),
    )
    size = pc.utf8_length(number)
    valid = pa.repeat(pa.scalar(False), len(values))
    general = home.general.pattern.pattern
    for length, either in home.valid_types.items():
        valid = pc.or_(
            valid,
            pc.and_(pc.equal(size, length), pc.and_(whole(number, general), whole(number, either))),
        )
    decided = pc.fill_null(pc.and_(decided, valid), False)
    e164 = pc.binary_join_element_wise(f"+{home.country_code}", number, "")
    return decided, pc.if_else(decided, e164, pa.scalar(None, pa.string()))
