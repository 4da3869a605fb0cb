"""The code's shape, held to what docs/architecture.md says: no module-level
import cycle in socialpub/, every status change in socialpub/lifecycle/, every
module named in the map, and the map's state diagram equal to the transition
table."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from socialpub.lifecycle import table

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "socialpub"
MAP = ROOT / "docs" / "architecture.md"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def top_level_imports(path: Path):
    """The import statements a module runs when it is imported: at its top
    level (under if/try too), not in functions, not under TYPE_CHECKING."""
    todo = list(ast.parse(path.read_text()).body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                todo.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            todo.extend(node.body + node.orelse + node.finalbody + [h for x in node.handlers for h in x.body])


def imported_modules(name: str, path: Path, modules: dict) -> set:
    """The modules of ``modules`` that importing ``name`` imports directly:
    ``from P import x`` imports P.x where that is a module, else P itself."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in top_level_imports(path):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
            continue
        base = package.split(".")
        base = base[:len(base) - node.level + 1] if node.level else []
        source = ".".join(base + ([node.module] if node.module else []))
        for alias in node.names:
            target = f"{source}.{alias.name}"
            found.add(target if target in modules else source)
    return {m for m in found if m in modules and m != name}


def import_cycles(root: Path) -> list:
    """Every cycle of module-level imports among the modules under root/socialpub."""
    modules = {module_name(p, root): p for p in (root / "socialpub").rglob("*.py")}
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_no_module_level_import_cycle_in_the_package():
    cycles = import_cycles(ROOT)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle_through_a_package(tmp_path):
    # The check above must be able to fail: a blueprint package and its routes.
    (tmp_path / "socialpub" / "api").mkdir(parents=True)
    (tmp_path / "socialpub" / "__init__.py").write_text("")
    (tmp_path / "socialpub" / "api" / "__init__.py").write_text("bp = 1\nfrom . import routes\n")
    (tmp_path / "socialpub" / "api" / "routes.py").write_text("from . import bp\n")
    assert import_cycles(tmp_path) == [["socialpub.api", "socialpub.api.routes", "socialpub.api"]]


def status_writes(path: Path) -> list:
    """``Post.update(status=…)`` / ``Publication.update(status=…)`` calls, and
    inserts or creates that set a status, with their line numbers."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("update", "insert", "create", "insert_many")
                and isinstance(node.func.value, ast.Name) and node.func.value.id in ("Post", "Publication")
                and any(k.arg == "status" for k in node.keywords)):
            found.append(node.lineno)
    return found


def test_every_status_change_of_a_post_or_a_publication_is_in_the_lifecycle_package():
    outside = {str(p.relative_to(ROOT)): status_writes(p) for p in PACKAGE.rglob("*.py")
               if "lifecycle" not in p.parts and "sandbox" not in p.parts}
    assert {path: lines for path, lines in outside.items() if lines} == {}
    assert status_writes(PACKAGE / "lifecycle" / "delivery.py"), "the finder finds nothing: it is broken"


def test_the_map_names_every_module():
    text = MAP.read_text()
    unnamed = [name for name, path in MODULES.items()
               if path.name != "__init__.py" and f"{path.stem}.py" not in text]
    assert unnamed == [], f"docs/architecture.md does not name: {unnamed}"


def test_the_maps_state_diagram_is_the_transition_table():
    assert table.diagram() in MAP.read_text(), ("docs/architecture.md's diagram differs from "
                                                "socialpub.lifecycle.table.diagram(); paste it in again")


@pytest.mark.parametrize("module", ["socialpub.queue.broker", "socialpub.lifecycle.publishing",
                                    "socialpub.webhooks.sending", "socialpub.mail.sending", "socialpub.auth"])
def test_each_entry_module_imports_first_in_a_fresh_interpreter(module):
    # The workers import the queue first, the web app the blueprints: a cycle
    # through a package's __init__ only shows in the order a process meets it.
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
