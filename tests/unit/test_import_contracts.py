"""The dependency rules of docs/ARCHITECTURE.md hold: import-linter checks the contracts written
in pyproject.toml against every import in src/egards, those inside functions included."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from egards.features import FEATURES

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]


def test_every_import_keeps_the_contracts():
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run(
        [str(lint), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in run.stdout


def test_the_layers_list_every_feature_in_dependency_order():
    (layers,) = (c["layers"] for c in CONTRACTS if c["id"] == "layers")
    named = [
        module.strip().removeprefix("egards.")
        for layer in reversed(layers)
        for module in layer.replace(":", "|").split("|")
    ]
    assert [name for name in named if name in FEATURES] == list(FEATURES)
