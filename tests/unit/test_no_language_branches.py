"""No sentence is written twice in code, once per language (#14): user-visible text is an English
msgid with its French in a catalogue. This walks the package's syntax trees for a choice made on
French (``x if fr else y``, ``... if lang == "fr" else ...``, ``if locale == "fr": ...``) whose
branches hold words, and fails on any not allowed below.

A choice between two fields of company data (``self.fr if lang == "fr" else self.en``: names a
programme or a survey gives in each language) holds no literal and is not reported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import egards

PACKAGE = Path(egards.__file__).parent
LANGUAGE_CODES = {"fr", "en"}

# Files whose French/English pairs another change is moving to the catalogues (#14); each line
# goes once its file is clean. The subscriptions helper's (acknowledgement, matching, outcomes,
# domain, voice's portal and surveys, cases' pages) are clean: none is left.
BEING_MOVED: set[str] = set()

# Choices judged legitimate, by file and function, with the reason.
ALLOWED = {
    # French writes the first of the month "1er"; Babel (CLDR) has no such day format.
    ("formats.py", "_first"),
    # Demo data: the story customer's case is written in the customer's own language, as a
    # customer would write it (stored text, not interface text).
    ("recovery/demo.py", "_rachels_customer"),
}


def _mentions_french(test: ast.expr) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Name) and node.id == "fr":
            return True
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and o.value == "fr" for o in operands):
                return True
    return False


def _wordy(text: str) -> bool:
    return any(c.isalpha() for c in text)


def _has_words(nodes: Iterable[ast.AST]) -> bool:
    """A string literal with letters in it, language codes aside (f-strings' parts too)."""
    for top in nodes:
        for node in ast.walk(top):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and text not in LANGUAGE_CODES and _wordy(text):
                return True
    return False


def language_branches(source: str) -> Iterator[tuple[str, int]]:
    """(enclosing function or class, line) of each choice on French whose branches hold words."""

    def visit(node: ast.AST, where: str) -> Iterator[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            name = where
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{where}.{child.name}" if where else child.name
            if isinstance(child, ast.IfExp | ast.If) and _mentions_french(child.test):
                branches = (
                    [child.body, child.orelse] if isinstance(child, ast.IfExp) else child.body
                )
                if _has_words(branches):
                    yield name or "<module>", child.lineno
            yield from visit(child, name)

    yield from visit(ast.parse(source), "")


def test_the_walk_finds_sentences_chosen_by_language_and_not_data_fields():
    assert [line for _, line in language_branches('x = "Bonjour" if fr else "Hello"')] == [1]
    assert list(language_branches('def f(lang):\n    if lang == "fr":\n        return "oui"\n'))
    assert not list(language_branches('name = self.fr if lang == "fr" else self.en'))
    assert not list(language_branches('locale = "fr" if wanted == "fr" else "en"'))


def test_no_sentence_is_written_once_per_language_in_code():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in BEING_MOVED:
            continue
        for where, line in language_branches(path.read_text(encoding="utf-8")):
            if (relative, where.split(".")[-1]) not in ALLOWED:
                found.append(f"{relative}:{line} ({where})")
    assert not found, (
        "French and English written side by side; use translate()/N_ and the feature's "
        "fr.po (docs/CONTRIBUTING.md, Translations): " + ", ".join(found)
    )
