"""The apps import one way: trials <- enrollment <- dosing <- followup (and config above them all).

Every import of every product module is read from its source, those inside functions included,
so that neither an upward edge nor a cycle between modules can hide from this test. Tests and
migrations are left out: tests may drive several apps, migrations are frozen history.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["trials", "enrollment", "dosing", "followup"]
RANK = {app: rank for rank, app in enumerate(LAYERS)}


def _modules() -> dict[str, Path]:
    found = {}
    for app in LAYERS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, resolved to the product modules it names."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import module` names a module; `from module import name` the module itself
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.append((node.lineno, target))
    return edges


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_the_graph_sees_every_app_and_the_imports_inside_functions():
    assert {name.split(".")[0] for name in MODULES} == set(LAYERS)
    assert ("trials.hooks" in {target for _line, target in GRAPH["enrollment.services"]})
    inside = _imports("followup.apps", ROOT / "followup" / "apps.py")  # imports only inside ready()
    assert any(target == "followup.services.infusions" for _line, target in inside)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_a_higher_app(name):
    upward = [f"{MODULES[name].relative_to(ROOT)}:{line} imports {target}" for line, target in GRAPH[name]
              if RANK[target.split(".")[0]] > RANK[name.split(".")[0]]]
    assert upward == []


def test_no_cycle_between_modules():
    """Depth-first search over the module graph; a back edge is a cycle."""
    state: dict[str, str] = {}
    cycles = []

    def visit(name, stack):
        state[name] = "open"
        for _line, target in GRAPH[name]:
            if state.get(target) == "open":
                cycles.append(" -> ".join([*stack[stack.index(target):], target]))
            elif target not in state:
                visit(target, [*stack, target])
        state[name] = "done"

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [name])
    assert cycles == []


MAX_LINES = 600


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_stays_small_enough_to_read(name):
    assert len(MODULES[name].read_text().splitlines()) <= MAX_LINES
