"""A label and its colon are one message: French puts a (no-break) space before the colon
("Référence : A-12"), English does not, so ``{{ _("Reference") }}:`` reads "Référence: A-12"
in French. Templates write ``{{ _("Reference:") }}`` and the catalogue says "Référence :"."""

import re
from pathlib import Path

import egards
from egards.i18n import translate

LABEL_THEN_COLON = re.compile(r"""_\(\s*["'][^"']*["']\s*\)\s*\}\}:""")


def test_no_template_puts_a_bare_colon_after_a_translated_label():
    root = Path(egards.__file__).parent
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.glob("**/templates/**/*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if LABEL_THEN_COLON.search(line)
    ]
    assert not found, found


def test_the_french_of_a_label_with_its_colon_has_the_space():
    assert translate("fr", "Reference:") == "Référence\u00a0:"
    assert translate("en", "Reference:") == "Reference:"
