import ast
from pathlib import Path

import egards.loyalty

PURE = ("domain", "ledger.py", "programme.py", "errors.py", "fast.py", "codec.py")
ALLOWED = {
    "__future__", "bisect", "calendar", "collections", "dataclasses", "datetime", "decimal", "enum",
    "functools", "pathlib", "typing", "yaml", "pydantic", "egards",
}  # fmt: skip


def test_the_loyalty_rules_import_no_database_web_or_network_library():
    folder = Path(egards.loyalty.__file__).parent
    files = [
        path
        for name in PURE
        for path in (
            sorted((folder / name).glob("*.py")) if (folder / name).is_dir() else [folder / name]
        )
    ]
    assert len(files) > len(PURE)  # the domain package's modules are all read
    for path in files:
        name = path.name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= ALLOWED, (name, roots - ALLOWED)
            if "egards" in roots and isinstance(node, ast.ImportFrom):
                pure_modules = {module.removesuffix(".py") for module in PURE}
                assert (
                    node.module in {"egards.errors", "egards.formats", "egards.messages"}
                    or node.module.startswith("egards.loyalty.")
                    or (
                        node.module == "egards.loyalty"
                        and {alias.name for alias in node.names} <= pure_modules
                    )
                ), (name, node.module)
