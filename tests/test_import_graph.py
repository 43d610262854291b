"""No import circles among django_sms's modules (DESIGN §2).

Every ``import`` statement is counted — at module level and inside functions — except those
under ``if TYPE_CHECKING:`` (never executed). A function-level import that closes a circle
is still a circle: it only moves the failure from import time to call time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import django_sms

PACKAGE = Path(django_sms.__file__).parent

#: Parts of the package whose imports this test does not follow: the test helpers.
EXCLUDED = ("django_sms.testing",)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The django_sms modules ``path`` imports, anywhere but under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(), str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            for alias in node.names:
                found.add(f"{base}.{alias.name}")  # "from django_sms import wallets"
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    result = set()
    for target in found:
        # "django_sms.models.messages.Message" -> the longest module prefix that exists.
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name and target != "django_sms":
            result.add(target)
    return result


def import_graph() -> dict[str, set[str]]:
    paths = {
        module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if not module_name(p).startswith(EXCLUDED) and "migrations" not in p.parts
    }
    modules = set(paths)
    return {name: imported_modules(path, modules) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_function_level_imports(tmp_path):
    source = tmp_path / "django_sms" / "a.py"
    source.parent.mkdir()
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from django_sms import c\n"
        "def f():\n    from django_sms.b import g\n"
    )
    global PACKAGE
    saved, PACKAGE = PACKAGE, source.parent
    try:
        imports = imported_modules(source, {"django_sms.a", "django_sms.b", "django_sms.c"})
    finally:
        PACKAGE = saved
    assert imports == {"django_sms.b"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circle_in_django_sms():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])
