"""The settings tables in README.md and docs/trading.md are exactly what the settings models say."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import BotSettings
from bot.strategy import registered
from bot_api.settings import EnvSettings
from crypto_bot_ui.env import AdminSettings, WebSettings
from scripts.settings_table import Table, main, stale, tables, write


def test_the_documented_tables_match_the_models() -> None:
    outdated = [f"{table.file.name}:{table.name}" for table in tables() if stale(table)]
    assert outdated == [], "run: python -m scripts.settings_table --write"
    assert main(["--check"]) == 0


def test_every_setting_has_a_row_and_a_description() -> None:
    documented = "\n".join(table.text for table in tables())
    models: list[type[EnvSettings]] = [WebSettings, AdminSettings, BotSettings,
                                       *(plugin.params for plugin in registered().values())]
    for model in models:
        for env, field in model.env_fields():
            assert f"| `{env}` |" in documented, env
            assert field.description and "\n" not in " ".join(field.description.split()), env


def test_each_strategy_lists_its_parameters() -> None:
    strategies = next(table for table in tables() if table.name == "strategies")
    assert [row.split("`")[1] for row in strategies.rows] == ["SMA_FAST", "SMA_SLOW", "MR_WINDOW", "MR_ENTRY_Z",
                                                              "MR_EXIT_Z"]
    assert "| `SMA_SLOW` | `4` | `sma_cross`: " in strategies.text


def test_write_replaces_only_the_marked_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("before\n<!-- BEGIN settings:x (generated) -->\n| old |\n<!-- END settings:x -->\nafter\n")
    table = Table(doc, "x", ["| `A` | `1` | a |"])
    assert stale(table)
    write(table)
    assert doc.read_text() == ("before\n<!-- BEGIN settings:x (generated) -->\n| variable | default | meaning |\n"
                               "|---|---|---|\n| `A` | `1` | a |\n<!-- END settings:x -->\nafter\n")
    assert not stale(table)
    assert main([]) == 0 and "| `SMA_FAST` | `2` |" in capsys.readouterr().out
