"""The API's modules form layers: no import circle among them, not even one hidden in a
function body (DESIGN §2)."""

from __future__ import annotations

import ast
from pathlib import Path

import django_sms.api

PACKAGE = "django_sms.api"


def api_modules() -> dict[str, Path]:
    root = Path(django_sms.api.__file__).parent
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join((PACKAGE, *parts))
        modules[name.removesuffix(".__init__")] = path
    return modules


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The API modules ``path`` imports, anywhere in it (top level or inside a function)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # "from package import module" imports the module.
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in known and target != name}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for other in sorted(graph[node]):
            if state.get(other) == "open":
                return [*stack[stack.index(other) :], other]
            if other not in state and (cycle := visit(other)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_finder_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_the_api_modules():
    modules = api_modules()
    assert {"django_sms.api.views", "django_sms.api.schema", "django_sms.api.serializers"} <= set(
        modules
    )
    graph = {name: imported(name, path, set(modules)) for name, path in modules.items()}
    # The package's __init__ is imported by every submodule; it must import none of them.
    assert graph[PACKAGE] == set(), graph[PACKAGE]
    graph = {name: deps - {PACKAGE} for name, deps in graph.items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])
