"""Stored text is data (#14): every call that writes a timeline entry or an escalation gives
its ``summary`` as a message (``egards.i18n.message``), not an English sentence. The walk reads
the source of every feature and fails on a summary written as a string literal, an f-string or
a concatenation of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "egards"
WRITERS = {"record_event", "record_change", "_record", "_timeline"}
"""The calls whose ``summary`` is stored for readers."""


def _english(node: ast.expr) -> bool:
    """A summary that is plain text: a literal, an f-string, text joined to text, or a
    ``x or "text"`` default."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _english(node.left) or _english(node.right)
    if isinstance(node, ast.BoolOp):
        return any(_english(value) for value in node.values)
    return False


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def english_summaries(source: str) -> list[int]:
    """The lines of ``source`` where a timeline writer is given an English summary."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _name(node) in WRITERS:
            for keyword in node.keywords:
                if keyword.arg == "summary" and _english(keyword.value):
                    found.append(node.lineno)
    return found


def _producers() -> dict[str, list[int]]:
    return {
        path.relative_to(PACKAGE).as_posix(): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := english_summaries(path.read_text(encoding="utf-8")))
    }


def test_no_feature_stores_an_english_summary():
    assert _producers() == {}, "store a message (egards.i18n.message) instead of English text"


@pytest.mark.parametrize(
    "source",
    [
        'customers.record_event(s, summary="Satisfaction survey sent")',
        'customers.record_change(s, summary=f"Proposed an idea: {title}")',
        'record_event(s, summary="Analysis corrected: " + changes)',
        '_record(s, summary=summary or "Cancellation request")',
    ],
)
def test_the_walk_sees_english_in_every_shape(source):
    assert english_summaries(source) == [1]


def test_the_walk_lets_messages_and_stored_names_through():
    source = (
        'customers.record_event(s, summary=message(N_("Proposed an idea: {title}"), title=t))\n'
        "customers.record_change(s, summary=names(reason))\n"
        "customers.record_event(s, summary=summary)\n"
    )
    assert english_summaries(source) == []
