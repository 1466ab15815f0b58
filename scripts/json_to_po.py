"""Turn a feature's ``translations/fr.json`` (English → French) into its gettext catalogue
``translations/fr.po``, then remove the JSON.

    python scripts/json_to_po.py src/egards/<feature> [src/egards/<other> ...]

An existing ``fr.po`` is kept and completed: the JSON's entries are added, and replace the
translation of a msgid already there (the JSON is the newer word when both exist, as after a
merge). Then extract and update the catalogue (docs/CONTRIBUTING.md, "Translations") so that it
carries the source locations and any string the JSON missed, and run
``pytest tests/unit/test_translations.py``.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po


def convert(folder: Path) -> Path:
    source = folder / "translations" / "fr.json"
    target = folder / "translations" / "fr.po"
    entries: dict[str, str] = json.loads(source.read_text(encoding="utf-8"))
    if target.exists():
        catalog = read_po(io.StringIO(target.read_text(encoding="utf-8")), locale="fr")
    else:
        catalog = Catalog(locale="fr", domain="egards", project="Égards", fuzzy=False)
    for english, french in entries.items():
        if english in catalog:  # Catalog.add would keep the old translation
            catalog.delete(english)
        catalog.add(english, french)
    out = io.BytesIO()
    write_po(out, catalog, width=76, omit_header=False, include_previous=False)
    target.write_bytes(out.getvalue())
    source.unlink()
    return target


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for name in sys.argv[1:]:
        print(convert(Path(name)))
