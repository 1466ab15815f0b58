"""Extract, update and check the gettext catalogues (docs/CONTRIBUTING.md, "Translations").

    python scripts/catalogues.py update   # extract each catalogue's messages, merge into fr.po
                                          # (reusing another catalogue's French for the same
                                          # English), then translate what is still empty
    python scripts/catalogues.py check    # what is missing, fuzzy or stale (exit 1 if any)

The same as ``pybabel extract`` then ``pybabel update`` run for each catalogue with
``babel.cfg`` and the keywords below, written with Babel's API so that it runs the same in the
unit test (tests/unit/test_translations.py). One catalogue per folder that has a
``translations/fr.po``: a feature's covers its own folder; the web edge's covers the web edge
and the core (accounts, audit, customers, outbox, demo, the modules at the package's root).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "egards"
LOCALES = ("fr",)
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "translate": (2,),
    "translate_plural": (2, 3),
    "plural_message": (1, 2),
    "C_": ((1, "c"), 2),
}
METHODS = [
    ("**/templates/**.html", "jinja2"),
    ("**/templates/**.txt", "jinja2"),  # e-mail templates (cases/templates/ack.txt)
    ("**.py", "python"),
]
CORE = ("web", "accounts", "audit", "customers", "outbox", "demo", "migrations")


def catalogue_folders() -> list[str]:
    return sorted(p.parent.parent.name for p in PACKAGE.glob("*/translations/fr.po"))


def sources(folder: str) -> list[Path]:
    """The folders and files whose messages belong to ``folder``'s catalogue."""
    if folder != "web":
        return [PACKAGE / folder]
    owned = set(catalogue_folders())
    core = [PACKAGE / name for name in CORE if (PACKAGE / name).is_dir() and name not in owned]
    return [PACKAGE / "web", *core, *sorted(PACKAGE.glob("*.py"))]


def _messages(path: Path) -> Iterator[tuple[str, int, object, list[str], str | None]]:
    if path.is_dir():
        for filename, lineno, text, comments, context in extract_from_dir(
            path,
            METHODS,
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        ):
            yield str(path / filename), lineno, text, comments, context
    else:
        for lineno, text, comments, context in extract_from_file(
            "python",
            path,
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        ):
            yield str(path), lineno, text, comments, context


def extract(folder: str) -> Catalog:
    """The template (``.pot``) of ``folder``'s catalogue, from its sources."""
    template = Catalog(domain="egards", project="Égards", fuzzy=False)
    for path in sources(folder):
        for filename, lineno, text, comments, context in _messages(path):
            where = Path(filename).resolve().relative_to(PACKAGE.parent.parent)
            template.add(
                text, None, [(str(where), lineno)], auto_comments=comments, context=context
            )
    return template


def read(folder: str, locale: str = "fr") -> Catalog:
    path = PACKAGE / folder / "translations" / f"{locale}.po"
    return read_po(io.StringIO(path.read_text(encoding="utf-8")), locale=locale)


def update(folder: str, locale: str = "fr") -> Path:
    catalog, template = read(folder, locale), extract(folder)
    template.creation_date = catalog.creation_date  # no header churn when nothing changed
    catalog.update(template, no_fuzzy_matching=True)
    known = _translated_elsewhere(folder, locale)
    for entry in catalog:
        if entry.id and not entry.string and (entry.id, entry.context) in known:
            entry.string = known[(entry.id, entry.context)]  # the same words as elsewhere
    path = PACKAGE / folder / "translations" / f"{locale}.po"
    out = io.BytesIO()
    write_po(out, catalog, width=76, ignore_obsolete=True, include_previous=False)
    path.write_bytes(out.getvalue())
    return path


def _translated_elsewhere(folder: str, locale: str) -> dict[tuple[object, str | None], object]:
    """Finished translations of the other catalogues, to reuse for the same English."""
    known: dict[tuple[object, str | None], object] = {}
    for other in catalogue_folders():
        if other == folder:
            continue
        for entry in read(other, locale):
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if entry.id and all(strings) and not entry.fuzzy:
                known.setdefault((entry.id, entry.context), entry.string)
    return known


def problems(folder: str, locale: str = "fr") -> list[str]:
    """Each message of ``folder``'s sources without a finished translation, and each
    translation no source uses any more (``pybabel update`` would make it obsolete)."""
    return compare(extract(folder), read(folder, locale), label=folder)


def compare(template: Catalog, catalog: Catalog, *, label: str = "") -> list[str]:
    locale = str(catalog.locale or "")
    found: list[str] = []
    for wanted in template:
        if not wanted.id:
            continue
        have = catalog.get(wanted.id, context=wanted.context)
        where = f"{wanted.locations[0][0]}:{wanted.locations[0][1]}" if wanted.locations else ""
        name = repr(wanted.id) + (f" (context {wanted.context})" if wanted.context else "")
        strings = have.string if have else None
        texts = strings if isinstance(strings, tuple) else (strings,)
        if have is None or not all(texts):
            found.append(f"{label}: missing {locale} for {name} ({where})")
        elif have.fuzzy:
            found.append(f"{label}: fuzzy {locale} for {name} ({where})")
    used = {(_key(m.id), m.context) for m in template if m.id}
    for entry in catalog:
        if entry.id and (_key(entry.id), entry.context) not in used:
            found.append(f"{label}: {locale} translation of {_key(entry.id)!r} is used nowhere")
    return found


def _key(msgid: str | tuple[str, ...]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "update":
        for folder in catalogue_folders():
            print(update(folder))
        return 0
    if command == "check":
        found = [p for folder in catalogue_folders() for p in problems(folder)]
        print("\n".join(found) or "every catalogue is complete")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
