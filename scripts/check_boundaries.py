"""Fail if a package imports across a boundary: bot ↛ Django/UI, UI ↛ bot, bot_api ↛ either."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "bot": {"django", "channels", "crypto_bot_ui"},
    "bot_api": {"django", "channels", "crypto_bot_ui", "bot"},
    "crypto_bot_ui": {"bot"},
}


def imported_roots(path: Path) -> set[str]:
    """Top-level package names a module imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def main() -> int:
    """Print every violation; exit 1 if there is any."""
    violations = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for root in imported_roots(path) & banned:
                violations.append(f"{path.relative_to(ROOT)} imports {root}")
    for line in violations:
        print(f"boundary violation: {line}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
