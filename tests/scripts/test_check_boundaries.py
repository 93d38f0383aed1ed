"""The architecture lint: it passes on the project and catches each kind of violation."""

from __future__ import annotations

from pathlib import Path

from scripts.check_boundaries import ROOT, boundary_violations, cycles, main


def test_the_project_keeps_its_boundaries_and_has_no_import_cycles() -> None:
    assert boundary_violations(ROOT) == []
    assert {package: cycles(ROOT, package) for package in ("bot", "bot_api", "crypto_bot_ui")} == {
        "bot": [], "bot_api": [], "crypto_bot_ui": []}


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_each_kind_of_violation_is_reported(tmp_path: Path) -> None:
    for package in ("bot", "bot_api", "crypto_bot_ui", "scripts"):
        write(tmp_path, f"{package}/__init__.py", "")
    write(tmp_path, "bot/a.py", "from bot.b import x\n")
    write(tmp_path, "bot/b.py", "from typing import TYPE_CHECKING\n"
                                "from bot import a\n"
                                "if TYPE_CHECKING:\n    import bot.c\n")
    write(tmp_path, "bot/c.py", "import bot.b\n")  # only back through TYPE_CHECKING: no cycle
    write(tmp_path, "bot/market.py", "from binance import AsyncClient\n")
    write(tmp_path, "bot_api/m.py", "def f():\n    import bot  # at call time: not a load-time import\n")
    write(tmp_path, "crypto_bot_ui/v.py", "import bot.engine\n")
    write(tmp_path, "bot/exchange/binance/pybinance.py", "import binance\n")  # the one allowed place
    assert boundary_violations(tmp_path) == [
        "bot/market.py imports python-binance (only bot/exchange/binance/pybinance.py may)",
        "crypto_bot_ui/v.py imports bot",
    ]
    assert cycles(tmp_path, "bot") == [["bot.a", "bot.b", "bot.a"]]
    assert main(tmp_path) == 1
