"""The gettext catalogues: extracted from the code and templates with Babel, complete in
French, and read the way the application reads them."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from egards.i18n import compile_catalogue, translate, translate_plural

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


catalogues = _script("catalogues")
json_to_po = _script("json_to_po")
FOLDERS = catalogues.catalogue_folders()


def test_every_folder_with_translations_has_a_catalogue_and_no_json_is_left():
    assert {"web", "cases", "loyalty", "analytics", "recovery"} <= set(FOLDERS)
    left = sorted(str(p) for p in catalogues.PACKAGE.glob("*/translations/*.json"))
    assert not left, f"convert with scripts/json_to_po.py: {left}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_message_of_the_code_and_templates_is_translated_into_french(folder):
    found = catalogues.problems(folder)
    assert not found, "\n".join(found) + "\n(python scripts/catalogues.py update, then translate)"


@pytest.mark.parametrize("folder", FOLDERS)
def test_french_keeps_the_placeholders_of_the_english(folder):
    for entry in catalogues.read(folder):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set(re.findall(r"\{(\w+)\}", ids[-1]))
        for text in strings:
            assert set(re.findall(r"\{(\w+)\}", text)) == wanted, (folder, entry.id, text)


def _catalog(entries, *, fuzzy=()):
    catalog = Catalog(locale="fr")
    for english, french in entries.items():
        catalog.add(english, french, flags=("fuzzy",) if english in fuzzy else ())
    return catalog


def test_the_check_fails_on_a_missing_a_fuzzy_and_an_unused_translation():
    template = Catalog()
    for text in ("Save", "Cancel", "Delete"):
        template.add(text, locations=[("x.html", 1)])
    catalog = _catalog(
        {"Save": "Enregistrer", "Cancel": "Annuler", "Gone": "Parti"}, fuzzy={"Cancel"}
    )
    found = catalogues.compare(template, catalog, label="t")
    assert any("missing fr for 'Delete'" in line for line in found)
    assert any("fuzzy fr for 'Cancel'" in line for line in found)
    assert any("'Gone' is used nowhere" in line for line in found)
    assert not any("'Save'" in line for line in found)


def test_extraction_finds_python_calls_template_calls_plurals_and_contexts():
    template = catalogues.extract("cases")
    ids = {(m.id, m.context) for m in template}
    # a Python marker, a template _(), a plural, a word in its context
    assert ("Escalation: {detail}", None) in ids
    assert ("Cases", None) in ids or any(i == "Cases" for i, _ in ids)
    assert (
        ("{state}: {count} supervisor notified", "{state}: {count} supervisors notified"),
        None,
    ) in ids
    assert ("waiting on customer", "case") in ids


def test_fuzzy_translations_are_not_used():
    catalog = _catalog({"Save": "Enregistrer", "Cancel": "Annuler"}, fuzzy={"Cancel"})
    out = io.BytesIO()
    from babel.messages.pofile import write_po

    write_po(out, catalog)
    compiled = compile_catalogue(out.getvalue().decode(), "fr")
    assert compiled.gettext("Save") == "Enregistrer"
    assert compiled.gettext("Cancel") == "Cancel"


def test_french_plural_forms_treat_zero_and_one_as_singular():
    one, many = "{count} month", "{count} months"
    assert translate_plural("fr", one, many, 0) == "0 mois"
    assert translate_plural("en", one, many, 1) == "1 month"
    assert translate_plural("en", one, many, 0) == "0 months"
    supervisors = ("{state}: {count} supervisor notified", "{state}: {count} supervisors notified")
    assert translate_plural("fr", *supervisors, 1, state="X") == "X : 1 superviseur prévenu"
    assert translate_plural("fr", *supervisors, 3, state="X") == "X : 3 superviseurs prévenus"
    assert (
        translate_plural("fr", *supervisors, 2000, state="X")
        == "X : 2\u202f000 superviseurs prévenus"
    )


def test_the_call_site_api_is_unchanged():
    assert translate("fr", "Customers") == "Clients"
    assert translate("en", "Customers") == "Customers"
    assert translate("fr", "never in any catalogue") == "never in any catalogue"
    assert translate("fr", "customer {id} not found", id="7") == "client 7 introuvable"


def test_the_converter_turns_a_feature_json_into_a_po_catalogue(tmp_path):
    folder = tmp_path / "voice" / "translations"
    folder.mkdir(parents=True)
    (folder / "fr.json").write_text(
        json.dumps({"Calls": "Appels", "{n} calls today": "{n} appels aujourd'hui"}),
        encoding="utf-8",
    )
    json_to_po.convert(tmp_path / "voice")
    assert not (folder / "fr.json").exists()
    text = (folder / "fr.po").read_text(encoding="utf-8")
    assert "Plural-Forms: nplurals=2; plural=(n > 1);" in text
    catalog = read_po(io.StringIO(text), locale="fr")
    assert catalog["Calls"].string == "Appels"
    compiled = compile_catalogue(text, "fr")
    assert compiled.gettext("{n} calls today").format(n=3) == "3 appels aujourd'hui"
    # a later JSON (after a merge) completes the catalogue and wins on a changed word
    (folder / "fr.json").write_text(
        json.dumps({"Calls": "Appels reçus", "Voicemail": "Messagerie"}), encoding="utf-8"
    )
    json_to_po.convert(tmp_path / "voice")
    compiled = compile_catalogue((folder / "fr.po").read_text(encoding="utf-8"), "fr")
    assert compiled.gettext("Calls") == "Appels reçus"
    assert compiled.gettext("Voicemail") == "Messagerie"
    assert compiled.gettext("{n} calls today") == "{n} appels aujourd'hui"
