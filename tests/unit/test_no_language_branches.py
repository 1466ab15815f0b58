"""No sentence is written twice in code, once per language (#14): user-visible text is an English
msgid with its French in a catalogue. This walks the package's syntax trees for a choice made on
the language (``x if fr else y``, ``... if lang == "en" else ...``, ``if locale == "fr": ...``,
``lang.startswith("fr")``, and a flag computed first: ``french = lang == "fr"`` then ``if
french``, or passed to a function of the module as an argument) whose branches hold words, and
fails on any not allowed below.

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
    # Demo data: an English customer's e-mail address is at example.com, a French one's at
    # example.fr (a domain, not a sentence).
    ("demo/generate.py", "_batch"),
    # An English reader gets pydantic's own English reason; the literal is the key "msg".
    ("web/problems.py", "validation_reason"),
}


def _is_code(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in LANGUAGE_CODES


def _asks_language(node: ast.AST, flags: set[str]) -> bool:
    """``node`` itself tests the language: ``lang == "fr"``, ``lang.startswith("fr")``, or a
    flag computed from such a test."""
    if isinstance(node, ast.Name):
        return node.id in flags
    if isinstance(node, ast.Compare):
        return any(_is_code(o) for o in [node.left, *node.comparators])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "startswith" and any(_is_code(a) for a in node.args)
    return False


def _mentions_language(test: ast.expr, flags: set[str]) -> bool:
    return any(_asks_language(node, flags) for node in ast.walk(test))


def _is_flag(value: ast.expr, flags: set[str]) -> bool:
    """A value that is a yes/no on the language (``lang == "fr"``, ``not french``, ``a and
    b``), not a value chosen by one (``"fr" if ... else "en"`` is a code, not a flag)."""
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
        return _is_flag(value.operand, flags)
    if isinstance(value, ast.BoolOp):
        return any(_is_flag(v, flags) for v in value.values)
    return _asks_language(value, flags)


def _bound(node: ast.AST, functions: dict[str, ast.arguments]) -> Iterator[tuple[str, ast.expr]]:
    """(name, value) of each binding ``node`` makes: an assignment to a name, or a call of a
    function of the same module binding its parameters to the arguments."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                yield target.id, node.value
    elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
        if isinstance(node.target, ast.Name):
            yield node.target.id, node.value
    elif isinstance(node, ast.Call):
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else None
        callee = node.func.id if isinstance(node.func, ast.Name) else callee
        arguments = functions.get(callee or "")
        if arguments is None:
            return
        params = [a.arg for a in [*arguments.posonlyargs, *arguments.args]]
        if params[:1] in (["self"], ["cls"]) and isinstance(node.func, ast.Attribute):
            params = params[1:]
        yield from zip(params, node.args, strict=False)
        for keyword in node.keywords:
            if keyword.arg:
                yield keyword.arg, keyword.value


def language_flags(tree: ast.AST) -> set[str]:
    """Names that hold a yes/no on the language somewhere in the module (``french = lang ==
    "fr"``; a parameter a flag is passed to), followed until no new one appears."""
    functions = {
        node.name: node.args
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    flags = {"fr"}
    while True:
        found = {
            name
            for node in ast.walk(tree)
            for name, value in _bound(node, functions)
            if name not in flags and _is_flag(value, flags)
        }
        if not found:
            return flags
        flags |= found


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
            if isinstance(child, ast.IfExp | ast.If) and _mentions_language(child.test, flags):
                branches = (
                    [child.body, child.orelse] if isinstance(child, ast.IfExp) else child.body
                )
                if _has_words(branches):
                    yield name or "<module>", child.lineno
            yield from visit(child, name)

    tree = ast.parse(source)
    flags = language_flags(tree)
    yield from visit(tree, "")


def test_the_walk_finds_sentences_chosen_by_language_and_not_data_fields():
    assert [line for _, line in language_branches('x = "Bonjour" if fr else "Hello"')] == [1]
    assert list(language_branches('def f(lang):\n    if lang == "fr":\n        return "oui"\n'))
    assert not list(language_branches('name = self.fr if lang == "fr" else self.en'))
    assert not list(language_branches('locale = "fr" if wanted == "fr" else "en"'))
    assert list(language_branches('x = "Hello" if lang == "en" else "Bonjour"'))


def test_the_walk_follows_a_flag_computed_first_and_passed_on():
    flag_then_if = 'french = lang == "fr"\nif french:\n    subject = "Votre lien"\n'
    assert [line for _, line in language_branches(flag_then_if)] == [2]
    expression = 'french = not locale.language.startswith("en")\nx = "Oui" if french else "Yes"'
    assert [line for _, line in language_branches(expression)] == [2]
    passed_on = (
        "def body(url, french):\n"
        '    return "Bonjour" if french else "Hello"\n'
        'def send(lang):\n    body("u", (lang or "fr") == "fr")\n'
    )
    assert [where for where, _ in language_branches(passed_on)] == ["body"]
    by_keyword = (
        'def body(*, fr_flag):\n    if fr_flag:\n        return "Bonjour"\nbody(fr_flag=french)\n'
    )
    assert not list(language_branches(by_keyword))  # ``french`` is no flag here
    assert list(language_branches("french = lang == 'fr'\n" + by_keyword))
    # A language code chosen by a test is a code, not a flag.
    assert not list(language_branches('code = "fr" if x == "fr" else "en"\nif code:\n    y = "z"'))


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
