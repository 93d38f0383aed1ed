"""Fail on an import that breaks the architecture (read from the source, nothing is imported):

- a package importing across a boundary: bot ↛ Django/UI, UI ↛ bot, bot_api ↛ either;
- python-binance imported anywhere but the one module of the Binance package that wraps it;
- an import cycle inside bot, bot_api or crypto_bot_ui (imports run at load time; those under
  TYPE_CHECKING or inside functions do not count).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "bot": {"django", "channels", "crypto_bot_ui"},
    "bot_api": {"django", "channels", "crypto_bot_ui", "bot"},
    "crypto_bot_ui": {"bot"},
}
BINANCE_ADAPTER = Path("bot/exchange/binance/pybinance.py")
"""The only module that may import python-binance (`binance`): every use of its internals is there."""
CHECKED = ("bot", "bot_api", "crypto_bot_ui", "scripts")


def module_name(root: Path, path: Path) -> str:
    """The dotted name of the module at `path`."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def load_time_imports(root: Path, path: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, names) of each import run when the module loads: top level, not under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(root, path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            yield ".".join(p for p in (base, node.module or "") if p), [alias.name for alias in node.names]
        elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
            pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend(node.body + node.orelse + node.finalbody)


def boundary_violations(root: Path) -> list[str]:
    """Imports across a package boundary, and python-binance outside its adapter."""
    found = []
    for top in CHECKED:
        for path in sorted((root / top).rglob("*.py")):
            roots = {module.split(".")[0] for module, _ in load_time_imports(root, path)}
            for banned in sorted(roots & FORBIDDEN.get(top, set())):
                found.append(f"{path.relative_to(root)} imports {banned}")
            if "binance" in roots and path.relative_to(root) != BINANCE_ADAPTER:
                found.append(f"{path.relative_to(root)} imports python-binance (only {BINANCE_ADAPTER} may)")
    return found


def cycles(root: Path, package: str) -> list[list[str]]:
    """Every import cycle among the modules of `package`, each as the modules around it."""
    paths = {module_name(root, p): p for p in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        edges = graph.setdefault(name, set())
        for module, names in load_time_imports(root, path):
            edges.update(m for m in (module, *(f"{module}.{n}" for n in names)) if m in paths and m != name)
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            found.append([*trail[trail.index(node):], node])
            return
        if node in done:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, [*trail, node])
        done.add(node)

    for name in sorted(graph):
        visit(name, [])
    return found


def main(root: Path = ROOT) -> int:
    """Print every violation; exit 1 if there is any."""
    problems = boundary_violations(root)
    for package in FORBIDDEN:
        problems += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(root, package)]
    for line in problems:
        print(f"boundary violation: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
