"""`python -m scripts.settings_table [--write | --check]`: the settings tables, generated from the models.

README.md's configuration table (the web's and every process's settings) and docs/trading.md's
(the bot's, then each registered strategy's parameters) sit between BEGIN/END markers. Their rows
come from the settings models' fields: env name, default, and the field's docstring. Without an
option the tables are printed; `--write` puts them into the files; `--check` exits 1 if a file's
table differs from its models (tests/scripts/test_settings_table.py runs it).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.config import BotSettings
from bot.strategy import registered
from bot_api.settings import CommonSettings, EnvSettings, shown_default
from crypto_bot_ui.env import AdminSettings, NotifySettings, RecorderSettings, ServeSettings, WebSettings

ROOT = Path(__file__).resolve().parent.parent
HEADER = "| variable | default | meaning |\n|---|---|---|"


@dataclass(frozen=True)
class Table:
    """One generated table: where it goes, and its rows."""

    file: Path
    name: str
    rows: list[str]

    @property
    def text(self) -> str:
        """The table with its header."""
        return "\n".join([HEADER, *self.rows])

    @property
    def pattern(self) -> re.Pattern[str]:
        """The table between its markers in `file` (the markers kept as groups 1 and 3)."""
        return re.compile(rf"(<!-- BEGIN settings:{self.name} [^>]*-->\n)(.*?)(<!-- END settings:{self.name} -->)",
                          re.DOTALL)


def rows(model: type[EnvSettings], *, skip: type[EnvSettings] | None = None) -> list[str]:
    """A markdown row per setting of `model` (without those `skip` declares), in declaration order."""
    skipped = {env for env, _ in skip.env_fields()} if skip is not None else set()
    return [f"| `{env}` | {shown_default(field)} | {' '.join((field.description or '').split())} |"
            for env, field in model.env_fields() if env not in skipped]


def tables() -> list[Table]:
    """Every generated table."""
    strategies = [row for plugin in registered().values() for row in rows(plugin.params)]
    return [
        Table(ROOT / "README.md", "web",
              [*rows(WebSettings), *rows(ServeSettings), *rows(AdminSettings), *rows(RecorderSettings)]),
        Table(ROOT / "docs" / "trading.md", "bot", rows(BotSettings, skip=CommonSettings)),
        Table(ROOT / "docs" / "trading.md", "strategies", strategies),
        Table(ROOT / "docs" / "notifications.md", "notify", rows(NotifySettings)),
    ]


def stale(table: Table) -> bool:
    """Whether `table.file` lacks the markers or holds other rows than the models say."""
    found = table.pattern.search(table.file.read_text())
    return found is None or found.group(2) != table.text + "\n"


def write(table: Table) -> None:
    """Replace the table between its markers in its file."""
    text = table.file.read_text()
    if table.pattern.search(text) is None:
        raise SystemExit(f"{table.file.relative_to(ROOT)}: no markers for the {table.name} table")
    table.file.write_text(table.pattern.sub(lambda m: f"{m.group(1)}{table.text}\n{m.group(3)}", text))


def main(argv: list[str] | None = None) -> int:
    """Print, write or check the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the tables in README.md and docs/trading.md")
    action.add_argument("--check", action="store_true", help="exit 1 if a table differs from the models")
    args = parser.parse_args(argv)
    outdated = []
    for table in tables():
        if args.write:
            write(table)
        elif args.check:
            if stale(table):
                outdated.append(f"{table.file.relative_to(ROOT)} ({table.name})")
        else:
            print(f"<!-- {table.file.relative_to(ROOT)}: {table.name} -->\n{table.text}\n")
    if outdated:
        print(f"settings tables out of date: {', '.join(outdated)}; run python -m scripts.settings_table --write",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
