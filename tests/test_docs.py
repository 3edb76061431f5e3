"""The docs that are generated from code stay in sync with it."""

from __future__ import annotations

from pathlib import Path

from ragaas.settings import settings_reference

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_reference_is_current() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text()
    assert documented == settings_reference(), (
        "run: python -m ragaas.settings > docs/configuration.md"
    )
