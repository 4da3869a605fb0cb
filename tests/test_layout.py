"""The code's shape, held to what docs/architecture.md says: no import cycle
in socialpub/ (module-level or inside functions, between modules or between
packages), Flask in the web process only, every status change in
socialpub/lifecycle/, every module named in the map, and the map's state
diagram equal to the transition table."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from socialpub import statuses

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "socialpub"
MAP = ROOT / "docs" / "architecture.md"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def every_import(path: Path):
    """Every import statement of a module, those inside functions too (a cycle
    hidden in a function is still a cycle of the design), but not those under
    ``if TYPE_CHECKING:``, which never run."""
    todo = list(ast.parse(path.read_text()).body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))


def imported_modules(name: str, path: Path, modules: dict) -> set:
    """The modules of ``modules`` that ``name`` imports:
    ``from P import x`` imports P.x where that is a module, else P itself."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in every_import(path):
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


def import_graph(root: Path) -> dict:
    modules = {module_name(p, root): p for p in (root / "socialpub").rglob("*.py")}
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def top_package(module: str) -> str:
    """``socialpub.web.api.posts`` → ``socialpub.web``; a top-level module is its own."""
    return ".".join(module.split(".")[:2])


def package_graph(graph: dict) -> dict:
    """The packages under socialpub/ (and its top-level modules), and which of them each imports."""
    packages = {}
    for name, targets in graph.items():
        packages.setdefault(top_package(name), set()).update(
            top_package(t) for t in targets if top_package(t) != top_package(name))
    return packages


def cycles_of(graph: dict) -> list:
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


def import_cycles(root: Path) -> list:
    """Every cycle of imports among the modules under root/socialpub."""
    return cycles_of(import_graph(root))


def test_no_import_cycle_between_modules():
    cycles = import_cycles(ROOT)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_import_cycle_between_packages():
    # A package (or a top-level module) may use those below it, never one that uses it back:
    # web/ and commands/ on top, worker/, then the domain, then the ground floor.
    cycles = cycles_of(package_graph(import_graph(ROOT)))
    assert cycles == [], "package cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle_through_a_package(tmp_path):
    # The check above must be able to fail: a blueprint package and its routes.
    (tmp_path / "socialpub" / "api").mkdir(parents=True)
    (tmp_path / "socialpub" / "__init__.py").write_text("")
    (tmp_path / "socialpub" / "api" / "__init__.py").write_text("bp = 1\nfrom . import routes\n")
    (tmp_path / "socialpub" / "api" / "routes.py").write_text("from . import bp\n")
    assert import_cycles(tmp_path) == [["socialpub.api", "socialpub.api.routes", "socialpub.api"]]


def test_the_cycle_finder_finds_an_import_hidden_in_a_function_and_a_package_cycle(tmp_path):
    (tmp_path / "socialpub" / "media").mkdir(parents=True)
    (tmp_path / "socialpub" / "models").mkdir()
    (tmp_path / "socialpub" / "__init__.py").write_text("")
    (tmp_path / "socialpub" / "media" / "__init__.py").write_text("")
    (tmp_path / "socialpub" / "models" / "__init__.py").write_text("")
    (tmp_path / "socialpub" / "media" / "library.py").write_text("from . import public\n")
    (tmp_path / "socialpub" / "media" / "public.py").write_text("def url():\n    from .library import store\n")
    (tmp_path / "socialpub" / "models" / "rows.py").write_text("from ..media import library\n")
    (tmp_path / "socialpub" / "media" / "store.py").write_text("def row():\n    from ..models import rows\n")
    graph = import_graph(tmp_path)
    assert cycles_of(graph) == [["socialpub.media.library", "socialpub.media.public", "socialpub.media.library"]]
    assert cycles_of(package_graph(graph)) == [["socialpub.media", "socialpub.models", "socialpub.media"]]


#: Flask (and Authlib's Flask client) in the web process only; sandbox/ is the
#: fake networks' own web app, a process of its own.
FLASK_ALLOWED = ("web", "sandbox")


def flask_imports(path: Path) -> list:
    found = []
    for node in every_import(path):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        if any(n == "flask" or n.startswith(("flask.", "flask_", "authlib.integrations.flask")) for n in names):
            found.append(node.lineno)
    return found


def test_flask_is_imported_in_the_web_process_only():
    outside = {str(p.relative_to(ROOT)): flask_imports(p) for p in PACKAGE.rglob("*.py")
               if p.relative_to(PACKAGE).parts[0] not in FLASK_ALLOWED}
    assert {path: lines for path, lines in outside.items() if lines} == {}
    assert flask_imports(PACKAGE / "web" / "app.py"), "the finder finds nothing: it is broken"


def test_the_workers_entry_point_loads_no_flask():
    # What `dramatiq socialpub.worker.boot` and `periodiq socialpub.worker.boot` import.
    done = subprocess.run([sys.executable, "-c", "import sys, socialpub.worker.boot; "
                                                 "print(sorted(m for m in sys.modules if m.split('.')[0] == 'flask'))"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_the_pages_never_import_the_api():
    # web/'s pages and the API are two faces of the same domain: what both need
    # (the JSON shapes, the error envelope, uploads) sits in web/ beside them.
    graph = import_graph(ROOT)
    pages = [m for m in graph if m.startswith("socialpub.web.") and m.count(".") == 2
             and MODULES[m].name != "__init__.py" and m != "socialpub.web.app"]
    assert len(pages) > 10, "the finder finds no pages: it is broken"
    assert {p: sorted(t for t in graph[p] if t.startswith("socialpub.web.api")) for p in pages
            if any(t.startswith("socialpub.web.api") for t in graph[p])} == {}


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
    assert statuses.diagram() in MAP.read_text(), ("docs/architecture.md's diagram differs from "
                                                "socialpub.statuses.diagram(); paste it in again")


@pytest.mark.parametrize("module", ["socialpub.worker.broker", "socialpub.lifecycle.publishing",
                                    "socialpub.webhooks.sending", "socialpub.mail.sending", "socialpub.web.auth"])
def test_each_entry_module_imports_first_in_a_fresh_interpreter(module):
    # The workers import the queue first, the web app the blueprints: a cycle
    # through a package's __init__ only shows in the order a process meets it.
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
