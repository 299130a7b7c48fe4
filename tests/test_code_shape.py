"""The shape of the code, checked rather than remembered.

- Modules stay small enough to read in one sitting (the complexity of each function is ruff's
  C901, configured in pyproject.toml).
- bot/'s packages form layers, and imports point down: the domain never imports Slack, HTTP or
  the composition root, and no two packages import each other, even through a third. The graph is
  read with ``ast`` from every ``import`` in bot/ — inside functions and under ``TYPE_CHECKING``
  too, so a cycle cannot be hidden by moving an import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
MAX_LINES = 400

# A package is the first name under bot/ (``bot/alerts/ingest.py`` is in ``alerts``, ``bot/db.py``
# in ``db``). A package may import from its own layer and the layers before it.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("base", frozenset({"clock", "durations", "severity", "config", "db", "outbox", "delivery", "heartbeat", "idempotency",
                        "inflight", "crashpoints", "metrics", "logs", "manifest"})),
    ("domain", frozenset({"alerts", "escalation", "oncall", "incidents", "reports", "retention", "monitors", "models",
                          "migrations"})),
    ("edges", frozenset({"services", "notify", "slack", "web", "sandbox", "importers"})),
    ("app", frozenset({"app", "demo", "__main__", "migrate_db"})),
)
LAYER_OF = {package: i for i, (_, packages) in enumerate(LAYERS) for package in packages}


def package_of(module: str) -> str:
    """``bot.alerts.ingest`` → ``alerts``; ``bot`` itself → ``bot``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "bot"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[str]:
    """Every bot module ``path`` imports, wherever the import statement is."""
    here = module_name(path).split(".")
    package_parts = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "bot")
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y
                base = package_parts[: len(package_parts) - node.level + 1]
                yield ".".join([*base, *([node.module] if node.module else [])])
            elif node.module == "bot":  # from bot import crashpoints: the module named
                yield from (f"bot.{a.name}" for a in node.names)
            elif node.module and node.module.split(".")[0] == "bot":
                yield node.module


def package_imports() -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) → the module-level edges behind it, for the message."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(BOT.rglob("*.py")):
        me = module_name(path)
        for target in imports_of(path):
            src, dst = package_of(me), package_of(target)
            if src != dst and dst != "bot":
                edges.setdefault((src, dst), []).append(f"{me} → {target}")
    return edges


def cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one package (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for src, dst in edges:
        graph.setdefault(src, set()).add(dst)
        graph.setdefault(dst, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_bot_is_over_400_lines() -> None:
    too_long = {str(path.relative_to(BOT.parent)): n for path in sorted(BOT.rglob("*.py"))
                if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert too_long == {}, f"split these modules (over {MAX_LINES} lines): {too_long}"


def test_every_package_of_bot_has_a_layer() -> None:
    packages = {package_of(module_name(p)) for p in BOT.rglob("*.py")} - {"bot"}
    assert sorted(packages - LAYER_OF.keys()) == [], "place each new package in LAYERS"
    assert sorted(LAYER_OF.keys() - packages) == [], "a package in LAYERS no longer exists"


def test_no_package_imports_from_a_layer_above_it() -> None:
    upward = {f"{LAYERS[LAYER_OF[src]][0]} {src} → {LAYERS[LAYER_OF[dst]][0]} {dst}": where
              for (src, dst), where in package_imports().items() if LAYER_OF[dst] > LAYER_OF[src]}
    assert upward == {}


def test_no_import_cycle_between_the_packages_of_bot() -> None:
    edges = package_imports()
    found = cycles(edges)
    detail = {" ⇄ ".join(group): {f"{a} → {b}": edges[(a, b)] for a in group for b in group if (a, b) in edges}
              for group in found}
    assert detail == {}


def test_the_cycle_check_finds_a_cycle_through_a_third_package() -> None:
    edges = {("a", "b"): ["bot.a.x → bot.b.y"], ("b", "c"): ["bot.b.y → bot.c.z"], ("c", "a"): ["bot.c.z → bot.a"],
             ("c", "d"): ["bot.c.z → bot.d"]}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({k: v for k, v in edges.items() if k != ("c", "a")}) == []


def test_slack_listeners_are_registered_in_one_place() -> None:
    """Only ``bot/slack/app.py`` calls Bolt's ``command``/``action``/``view``/``event``/``shortcut``, so
    "what answers this click?" has one answer; listener modules hold plain module-level functions."""
    registering = {"command", "action", "view", "event", "shortcut"}
    elsewhere = []
    for path in sorted((BOT / "slack").rglob("*.py")):
        if path == BOT / "slack" / "app.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in registering and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in {"app", "bolt", "listeners"}):
                elsewhere.append(f"{path.relative_to(BOT.parent)}:{node.lineno}")
    assert elsewhere == []
