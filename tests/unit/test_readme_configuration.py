"""The README's configuration table names every setting, the core's and each feature's: a
setting added without a line there fails here."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic_settings import BaseSettings

from egards.config import Settings
from egards.features import modules

README = Path(__file__).parents[2] / "README.md"


def _settings_classes() -> list[type[BaseSettings]]:
    found: list[type[BaseSettings]] = [Settings]
    for _, module in modules("settings"):
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value is not BaseSettings
            and value.__module__ == module.__name__
        ]
    return found


def test_every_setting_has_a_line_in_the_readme_configuration_table():
    text = README.read_text()
    table = text[text.index("## Configuration") :]
    table = table[: table.index("\n## ")]
    documented = set(re.findall(r"`(EGARDS_[A-Z0-9_]+)`", table))
    classes = _settings_classes()
    assert len(classes) >= 3  # the core, analytics and recovery
    expected = {
        f"{cls.model_config.get('env_prefix', '')}{name}".upper()
        for cls in classes
        for name in cls.model_fields
    }
    assert sorted(expected - documented) == []
    assert sorted(documented - expected) == []  # and nothing that no longer exists
